"""Benchmark behind the LanceDB sink's ANN_INDEX_MIN_ROWS: exhaustive search against the
IVF-HNSW-SQ index, at several table sizes.

For each size it fills a LanceDB table the way the sink does (LanceDBSink.upsert of export-shaped
rows with unit-length 384-dimension vectors) and prints the upsert rate, first and for the same
rows again; then the median query time of
  * the exhaustive (exact) scan, the baseline, and
  * the same queries through the ANN index the sink builds,
their ratio, the index build time, and the index's recall@10 against the exact scan.
Vectors are synthetic but clustered like a corpus's embeddings (400 topics, each chunk its
topic's centre plus noise; queries drawn the same way): search time depends on the count and
dimension, recall on that structure (uniformly random vectors, which have none, are the worst case).

    .venv/bin/python bench/lancedb_index.py [--sizes 10000 50000] [--queries 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpusforge.connectors.sinks.lancedb_sink import LanceDBSink  # noqa: E402

DIM = 384
BATCH = 5_000


def export_rows(start: int, vectors: np.ndarray) -> pa.Table:
    n = len(vectors)
    ids = [f"{i:032x}" for i in range(start, start + n)]
    return pa.table(
        {
            "chunk_id": ids,
            "doc_id": [f"doc{i // 4}" for i in range(start, start + n)],
            "url": [f"http://example.test/{i // 4}" for i in range(start, start + n)],
            "title": ["a page"] * n,
            "heading_path": ["Section"] * n,
            "position": pa.array([i % 4 for i in range(n)], pa.int32()),
            "text": [f"chunk number {i}" for i in range(start, start + n)],
            "text_hash": ids,
            "fetched_at": pa.array([datetime(2024, 1, 1, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), DIM),
            "model_id": ["bench"] * n,
        }
    )


TOPICS = 400


def unit_vectors(rng: np.random.Generator, n: int, centres: np.ndarray, noise: float = 0.9) -> np.ndarray:
    v = centres[rng.integers(0, len(centres), n)] + noise * rng.normal(size=(n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def timed_queries(sink: LanceDBSink, queries: np.ndarray, k: int) -> tuple[float, list[list[str]]]:
    times, hits = [], []
    for q in queries:
        t0 = time.perf_counter()
        result = sink.search(q, k)
        times.append(time.perf_counter() - t0)
        hits.append(result.column("chunk_id").to_pylist())
    return statistics.median(times), hits


def bench_size(n: int, queries: int, k: int, folder: Path) -> None:
    rng = np.random.default_rng(n)
    sink = LanceDBSink(folder / f"db{n}", "bench", ann_index_min_rows=n)
    centres = rng.normal(size=(TOPICS, DIM))
    parts = [export_rows(start, unit_vectors(rng, min(BATCH, n - start), centres)) for start in range(0, n, BATCH)]
    t0 = time.perf_counter()
    for part in parts:
        sink.upsert(part)
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for part in parts:  # the same rows again: matched on chunk_id, nothing rewritten
        sink.upsert(part)
    resync_s = time.perf_counter() - t0
    probe = unit_vectors(rng, queries, centres)
    flat_s, exact = timed_queries(sink, probe, k)
    t0 = time.perf_counter()
    sink.ensure_indexes()
    build_s = time.perf_counter() - t0
    ann_s, approx = timed_queries(sink, probe, k)
    recall = statistics.mean(len(set(a) & set(e)) / k for a, e in zip(approx, exact, strict=True))
    print(f"{n:>8,} rows | upsert {n / insert_s:,.0f} rows/s | unchanged re-upsert {n / resync_s:,.0f} rows/s")
    print(
        f"{n:>8,} rows | exact scan {flat_s * 1e3:7.1f} ms | ANN {ann_s * 1e3:6.1f} ms | "
        f"exact/ANN {flat_s / ann_s:5.1f}x | index build {build_s:6.1f} s | recall@{k} {recall:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-lancedb-") as tmp:
        for n in args.sizes:
            bench_size(n, args.queries, args.k, Path(tmp))


if __name__ == "__main__":
    main()
