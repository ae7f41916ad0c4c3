"""Benchmark: the whole pipeline on a generated sample site, then again with no changes, then
after changing N pages. Prints wall time per stage and in total, peak memory (RSS of this
process and its children, sampled), and the ratios the issue asks for.

    .venv/bin/python bench/pipeline.py --pages 2000 --changed 20

Runs against a temporary Prefect server unless PREFECT_API_URL is set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class PeakMemory:
    """Samples the RSS of this process plus all its children every 100 ms."""

    def __init__(self):
        self.peak = 0
        self.peak_one = 0  # the largest single process (what one worker needs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.peak_one = max(self.peak_one, rss)
            self.peak = max(self.peak, total)
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_once(label: str, config: Path) -> tuple[float, dict, int]:
    from corpusforge.flows.pipeline import pipeline

    with PeakMemory() as mem:
        start = time.perf_counter()
        results = pipeline(config=str(config))
        wall = time.perf_counter() - start
    by_stage = {r["stage"]: r for r in results}
    print(f"\n{label}: {wall:.1f} s total, peak memory {mem.peak / 2**20:.0f} MiB")
    for stage in ("crawl", "clean", "dedup", "annotate", "export_training", "export_rag"):
        r = by_stage.get(stage, {})
        counts = r.get("counts", {})
        headline = {
            k: counts[k]
            for k in (
                "fetched",
                "not_modified",
                "pages to clean",
                "kept",
                "signed (new or changed)",
                "examples",
                "chunks embedded",
            )
            if k in counts
        }
        print(f"  {stage:16s} {r.get('seconds', 0):7.1f} s  {headline}")
    return wall, by_stage, mem.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--changed", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=REPO / "bench" / "out" / "pipeline")
    args = parser.parse_args()

    from corpusforge.connectors.sample_site import SampleServer, edit_page, generate_site, load_manifest
    from corpusforge.flows.demo import demo_config

    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    site = args.workdir / "site"
    t = time.perf_counter()
    generate_site(site, pages=args.pages, seed=1)
    print(f"generated a {args.pages}-page sample site in {time.perf_counter() - t:.1f} s")
    with SampleServer(site) as server:
        config = args.workdir / "corpusforge.yaml"
        config.write_text(yaml.safe_dump(demo_config(server.url, args.pages), sort_keys=False))
        first, _, _ = run_once("first run", config)
        second, by_stage, _ = run_once("second run, nothing changed", config)
        articles = [a for a in load_manifest(site)["articles"] if a["kind"] == "article"][: args.changed]
        for a in articles:
            edit_page(site, a["url_path"], f"This paragraph was added by the benchmark to page {a['url_path']}.")
        third, by_stage, _ = run_once(f"third run, {len(articles)} pages changed", config)
    print()
    print(f"second run / first run: {second / first:.1%} (target < 10%)")
    crawl = by_stage["crawl"]["counts"]
    print(
        f"third run: crawl fetched {crawl.get('fetched')} bodies (changed pages: {len(articles)}), "
        f"clean cleaned {by_stage['clean']['counts'].get('pages to clean')}, "
        f"dedup signed {by_stage['dedup']['counts'].get('signed (new or changed)')}, "
        f"RAG embedded {by_stage['export_rag']['counts'].get('chunks embedded')} chunks; "
        f"third run / first run: {third / first:.1%}"
    )


if __name__ == "__main__":
    main()
