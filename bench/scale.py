"""Scale benchmark: what each stage costs per 1,000 pages on this machine, measured, and what
that projects to for 10 million pages on N workers, derived. docs/scaling.md is written from
its output.

    .venv/bin/python bench/scale.py [--pages 1000] [--workers 1 8 32 128] [--target 10000000]
    .venv/bin/python bench/scale.py --compare [--sizes 5000 20000] [--stages crawl clean dedup export_training]

With --compare it runs the default runner against a Dask cluster of separate processes instead
(bench/scale_compare.py says what it measures).

1. Generates a sample site of --pages documentation pages and articles and serves it locally.
2. Runs each stage as its own Prefect flow (crawl, clean, dedup, export_training, export_rag;
   annotate is left out: it sends a fixed-size sample, not a per-page cost), sampling the RSS
   of this process and its children every 100 ms.
3. Prints, per stage, MEASURED: wall seconds, seconds per 1,000 pages, the peak RSS of all
   processes together and of the largest single process (what one worker needs); and the
   warehouse's bytes per page and files per 1,000 pages per table.
4. Prints, DERIVED from those measurements: each stage's wall time for --target pages on N
   workers (each worker a machine like this one), the storage, the size of the dedup band index,
   and the crawl's floor from per-host politeness. Every derived figure assumes the measured
   per-page cost stays flat as the corpus grows; where that does not hold is said beside it.

Runs against the local Prefect server corpusforge starts (or PREFECT_API_URL when set).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipeline import PeakMemory  # noqa: E402  (bench/pipeline.py's sampler: this process and its children)

STAGES = ("crawl", "clean", "dedup", "export_training", "export_rag")
MIB = 2**20


def measure_stage(stage: str, config: Path) -> dict:
    """Run one stage's flow; its wall time, summary counts and peak memory."""
    import corpusforge

    with PeakMemory() as mem:
        start = time.perf_counter()
        summary = corpusforge.run_stage(stage, str(config))
        wall = time.perf_counter() - start
    if summary.failed:
        raise SystemExit(f"{stage} failed: {summary.error}")
    return {"stage": stage, "wall": wall, "counts": summary.counts, "peak": mem.peak, "peak_one": mem.peak_one}


def folder_bytes(path: Path) -> tuple[int, int]:
    """Total size and number of files under a folder."""
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def storage(workdir: Path) -> dict[str, tuple[int, int]]:
    """Bytes and files per warehouse table folder, and per export."""
    out = {}
    data = workdir / "data"
    for table in sorted(p for p in data.iterdir() if p.is_dir()):
        out[table.name] = folder_bytes(table)
    out["corpus.duckdb (catalog)"] = ((data / "corpus.duckdb").stat().st_size, 1)
    exports = workdir / "exports"
    if exports.exists():
        for kind in sorted(p for p in exports.iterdir() if p.is_dir()):
            out[f"exports/{kind.name}"] = folder_bytes(kind)
    return out


def band_index_rows(workdir: Path) -> tuple[int, int]:
    """Rows in the dedup band index and documents signed: the index grows by bands per document."""
    import duckdb

    con = duckdb.connect(str(workdir / "data" / "corpus.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        bands = con.execute("select count(*) from dedup_bands").fetchone()[0] if "dedup_bands" in tables else 0
        docs = con.execute("select count(*) from documents").fetchone()[0]
    finally:
        con.close()
    return bands, docs


def human_seconds(s: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s:.0f} s"


def human_bytes(b: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= size:
            return f"{b / size:.1f} {unit}"
    return f"{b:.0f} B"


def per_page(r: dict) -> float:
    """A stage's marginal seconds per page: the first run's wall time less the idle re-run's.
    The crawl's re-run is not idle (it revalidates every page), so its whole time counts."""
    fixed = 0.0 if r["stage"] == "crawl" else r["idle"]
    return max(r["wall"] - fixed, 0.0) / r["pages"]


def print_measured(results: list[dict], pages: int) -> None:
    print(f"\nMEASURED on this machine ({os.cpu_count()} cores), {pages} pages fetched")
    print(
        "| stage | wall s | idle re-run s (fixed cost) | s per 1,000 pages, fixed cost taken off "
        "| peak RSS, all processes | peak RSS, largest process | counts |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        counts = {k: v for k, v in r["counts"].items() if isinstance(v, int) and v}
        shown = ", ".join(f"{k} {v}" for k, v in list(counts.items())[:4])
        print(
            f"| {r['stage']} | {r['wall']:.1f} | {r['idle']:.1f} | {per_page(r) * 1000:.1f} "
            f"| {r['peak'] / MIB:.0f} MiB "
            f"| {r['peak_one'] / MIB:.0f} MiB | {shown} |"
        )


def print_storage(sizes: dict[str, tuple[int, int]], pages: int) -> None:
    print("\nMEASURED storage")
    print("| table / export | bytes | per page | files | files per 1,000 pages |")
    print("|---|---|---|---|---|")
    for name, (size, files) in sizes.items():
        print(f"| {name} | {human_bytes(size)} | {human_bytes(size / pages)} | {files} | {files * 1000 / pages:.1f} |")


def print_projection(results: list[dict], sizes: dict, pages: int, target: int, workers: list[int], bands) -> None:
    print(f"\nDERIVED: {target:,} pages (marginal per-page cost as measured, spread evenly over N workers)")
    print("| stage | " + " | ".join(f"{n} worker{'s' * (n > 1)}" for n in workers) + " |")
    print("|---|" + "---|" * len(workers))
    total = [0.0] * len(workers)
    for r in results:
        seconds = per_page(r) * target
        cells = []
        for i, n in enumerate(workers):
            total[i] += seconds / n
            cells.append(human_seconds(seconds / n))
        print(f"| {r['stage']} | " + " | ".join(cells) + " |")
    print("| **all** | " + " | ".join(human_seconds(t) for t in total) + " |")
    stored = sum(size for size, _ in sizes.values())
    files = sum(n for _, n in sizes.values())
    print(
        f"\nDERIVED storage at {target:,} pages: {human_bytes(stored * target / pages)} in "
        f"{files * target / pages:,.0f} files (today's layout: files grow with runs, not only pages)"
    )
    band_rows, docs = bands
    if docs:
        print(
            f"DERIVED dedup band index: {band_rows / docs:.1f} rows per document -> "
            f"{band_rows / docs * target:,.0f} rows at {target:,} documents"
        )
    crawl = next(r for r in results if r["stage"] == "crawl")
    print(
        f"DERIVED crawl floor from politeness (1 request in flight per host, delay 1 s): "
        f"{human_seconds(target / 1)} for one host, {human_seconds(target / 100)} over 100 hosts, "
        f"{human_seconds(target / 10_000)} over 10,000 hosts; measured unthrottled here: "
        f"{1 / per_page(crawl):.0f} pages/s per machine"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000, help="pages in the generated site (default 1000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 32, 128], help="worker counts to project")
    parser.add_argument("--target", type=int, default=10_000_000, help="pages to project to (default 10 million)")
    parser.add_argument("--workdir", type=Path, default=REPO / "bench" / "out" / "scale")
    parser.add_argument(
        "--compare", action="store_true", help="default runner vs a 2-worker Dask cluster (bench/scale_compare.py)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000], help="--compare: pages per run")
    parser.add_argument(
        "--stages", nargs="+", default=list(STAGES[:4]), choices=STAGES, help="--compare: stages, in order"
    )
    args = parser.parse_args()
    if args.compare:
        from scale_compare import compare

        compare(args.sizes, args.stages, args.workdir)
        return

    from corpusforge.connectors.sample_site import SampleServer, generate_site
    from corpusforge.flows.demo import demo_config

    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    site = args.workdir / "site"
    generate_site(site, pages=args.pages, seed=1)
    with SampleServer(site) as server:
        cfg = demo_config(server.url, args.pages)
        cfg.pop("annotate", None)
        cfg["warehouse"] = str(args.workdir / "data")
        config = args.workdir / "corpusforge.yaml"
        config.write_text(yaml.safe_dump(cfg, sort_keys=False))
        os.chdir(args.workdir)
        results = []
        for stage in STAGES:
            print(f"running {stage} ...", flush=True)
            results.append(measure_stage(stage, config))
        # The same stages again with nothing to do: the fixed cost of a run, which is not per page.
        for r in results:
            r["idle"] = measure_stage(r["stage"], config)["wall"]
    fetched = results[0]["counts"].get("fetched") or args.pages
    for r in results:
        r["pages"] = fetched
    sizes = storage(args.workdir)
    print_measured(results, fetched)
    print_storage(sizes, fetched)
    print_projection(results, sizes, fetched, args.target, args.workers, band_index_rows(args.workdir))


if __name__ == "__main__":
    main()
