"""The rows the dedup stage writes to its index: `dedup_signatures` (signature, shingle set and band
hashes per document, or a removal) and `dedup_bands` (one row per document and band), as Arrow
tables built from a signed batch's arrays, without a Python dict per shingle or band."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpusforge.processing.dedup import SignedBatch, signature_to_bytes


def signature_table(batch: SignedBatch, ranking: dict, params: str, run_id: str, now) -> pa.Table:
    """`dedup_signatures` rows of a signed batch; `ranking[doc_id]` is (content_hash, quality_score, fetched_at)."""
    n = len(batch.doc_ids)
    content, quality, fetched = zip(*(ranking[d] for d in batch.doc_ids), strict=True) if n else ((), (), ())
    lengths = np.fromiter((len(s) for s in batch.shingles), dtype=np.int32, count=n)
    offsets = np.concatenate(([0], np.cumsum(lengths, dtype=np.int32)))
    values = np.concatenate(batch.shingles) if n else np.empty(0, np.uint32)
    return pa.table(
        {
            "doc_id": pa.array(batch.doc_ids, pa.string()),
            "content_hash": pa.array(content, pa.string()),
            "exact_hash": pa.array(batch.exact, pa.string()),
            "quality_score": pa.array(quality, pa.float64()),
            "fetched_at": pa.array(fetched, pa.timestamp("us", tz="UTC")),
            "params": pa.array([params] * n, pa.string()),
            "signature": pa.array([signature_to_bytes(m) for m in batch.matrix], pa.binary()),
            "shingles": pa.ListArray.from_arrays(pa.array(offsets), pa.array(values.astype(np.uint32))),
            "bands": pa.array(list(batch.bands), pa.list_(pa.int64())),
            "removed": pa.array([False] * n, pa.bool_()),
            "run_id": pa.array([run_id] * n, pa.string()),
            "created_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        }
    )


def band_rows(doc_ids, exact, hashes, run_id: str) -> pa.Table:
    """`dedup_bands` rows: one per document and band, from the (documents, bands) hash matrix."""
    n_docs, n_bands = hashes.shape
    return pa.table(
        {
            "doc_id": pa.array([d for d in doc_ids for _ in range(n_bands)], pa.string()),
            "exact_hash": pa.array([e for e in exact for _ in range(n_bands)], pa.string()),
            "band": pa.array(list(range(n_bands)) * n_docs, pa.int16()),
            "band_hash": pa.array(hashes.reshape(-1), pa.int64()),
            "run_id": pa.array([run_id] * (n_docs * n_bands), pa.string()),
        }
    )


def unindex_rows(rows: list[dict], params: str, run_id: str, now) -> list[dict]:
    """`dedup_signatures` rows that take documents out of the index."""
    return [
        {
            "doc_id": r["doc_id"],
            "content_hash": r.get("content_hash"),
            "exact_hash": r["exact_hash"],
            "params": params,
            "removed": True,
            "run_id": run_id,
            "created_at": now,
        }
        for r in rows
    ]
