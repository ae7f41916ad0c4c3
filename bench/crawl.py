"""Crawl benchmark: the `corpusforge crawl` command, end to end, against a minimal Scrapy CrawlSpider.

    .venv/bin/python bench/crawl.py [--pages 5000] [--concurrency 16] [--skip-scrapy] [--skip-docs] [--skip-site]

1. Generates the 5,000-page sample site (cached under bench/out/) and serves it with SampleServer in
   a separate process, so the server does not share the crawler's interpreter.
2. Runs `.venv/bin/corpusforge -c <config> crawl` the way a user does, with politeness off (no delay,
   16 requests in flight, robots.txt still read) into a temporary warehouse, and times the whole
   process (start to exit: imports, the Prefect flow run, the crawl, the Parquet writes). Without
   PREFECT_API_URL the command uses the shared local Prefect server (flows/prefect_server.py); the
   bench starts it before timing if none runs, as a user's first command would once.
3. Runs Scrapy the same way (a whole process: CrawlSpider, one Rule following every link of the host,
   same concurrency, no delay, robots.txt obeyed, no pipelines) and prints the ratio of pages/s over
   the whole process. Scrapy lives in its own virtual environment, created on first use
   (bench/.venv-scrapy, `pip install scrapy`).
4. Does the same on Python's HTML documentation (/usr/share/doc/python3.11/html, Debian package
   python3.11-doc) served the same way.

Peak memory: `tree` is the max RSS of the command's process and all its children (wait4's rusage,
exact); a sampler (psutil, every 20 ms) also records the peak of each process of the tree, so the
process that crawls is reported on its own (`crawler`) beside the one that runs the Prefect flow.
Targets (issue 14): command >= 1.5x Scrapy's whole process, crawling process <= 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
SCRAPY_VENV = REPO / "bench" / ".venv-scrapy"
PY_DOCS = Path("/usr/share/doc/python3.11/html")
CORPUSFORGE = Path(sys.executable).parent / "corpusforge"
TARGET_RATIO, TARGET_MB = 1.5, 200

SCRAPY_SPIDER = r"""
import sys
from urllib.parse import urlsplit
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule

start, concurrency = sys.argv[1], int(sys.argv[2])
count = {"pages": 0}

class BenchSpider(CrawlSpider):
    name = "bench"
    start_urls = [start]
    allowed_domains = [urlsplit(start).hostname]
    rules = (Rule(LinkExtractor(), callback="parse_item", follow=True),)

    def parse_start_url(self, response):
        return self.parse_item(response)

    def parse_item(self, response):
        count["pages"] += 1
        return None

process = CrawlerProcess(settings={
    "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency, "DOWNLOAD_DELAY": 0,
    "ROBOTSTXT_OBEY": True, "LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False, "COOKIES_ENABLED": False,
    "DEPTH_LIMIT": 0, "USER_AGENT": "scrapy-bench", "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
})
process.crawl(BenchSpider)
process.start()
print(f"pages={count['pages']}")
"""


def serve(root: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "corpusforge.connectors.sample_site.serve", str(root)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError(f"sample server did not start for {root}")
    return proc, url


class PeakSampler:
    """Peak RSS of every process in a tree, sampled; keyed by pid, with each one's command line."""

    def __init__(self, pid: int, every: float = 0.02):
        self.root, self.every = psutil.Process(pid), every
        self.peaks: dict[int, tuple[float, str]] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.every):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                continue
            for proc in procs:
                try:
                    rss = proc.memory_info().rss / 2**20
                    if rss > self.peaks.get(proc.pid, (0.0, ""))[0]:
                        cmd = self.peaks.get(proc.pid, (0.0, ""))[1] or " ".join(proc.cmdline()).split("\n")[0][:100]
                        self.peaks[proc.pid] = (rss, cmd)
                except psutil.Error:
                    pass


def run_process(argv: list[str], env: dict[str, str]) -> dict:
    """Run a whole process: wall seconds from start to exit, its stdout, the max RSS of the tree."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        with PeakSampler(proc.pid) as sampler:
            # wait4's rusage: max RSS over the child and every descendant it waited for.
            _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if code != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited with {code}:\n{text[-2000:]}")
    return {"seconds": seconds, "output": text, "tree_mb": usage.ru_maxrss / 1024, "peaks": sampler.peaks}


def bench_env() -> dict[str, str]:
    """The user's environment without PREFECT_API_URL: the command finds the shared local server."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "CORPUSFORGE_CONFIG")}
    return env | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "COLUMNS": "120"}


def crawl_ours(url: str, concurrency: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    try:
        config = folder / "corpusforge.yaml"
        config.write_text(
            json.dumps(
                {
                    "warehouse": str(folder / "data"),
                    "crawl": {
                        "delay": 0,
                        "concurrency": concurrency,
                        "concurrency_per_host": concurrency,
                        "retries": 1,
                    },
                    "sources": [
                        {
                            "name": "bench",
                            "kind": "site",
                            "url": url + "/",
                            "allow_private_network": True,
                            "max_pages": 100000,
                            "max_depth": 100,
                        }
                    ],
                }
            )
        )  # fmt: skip  (JSON is YAML)
        result = run_process([str(CORPUSFORGE), "-c", str(config), "crawl"], bench_env())
        result["counts"] = pages_by_status(folder / "data")
        result["pages"] = result["counts"].get("fetched", 0)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def pages_by_status(warehouse: Path) -> dict[str, int]:
    import duckdb

    files = str(warehouse / "pages" / "**" / "*.parquet")
    rows = duckdb.sql(f"select fetch_status, count(*) from read_parquet('{files}') group by 1").fetchall()
    return dict(rows)


def crawl_scrapy(url: str, concurrency: int) -> dict:
    python = SCRAPY_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {SCRAPY_VENV} with scrapy ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(SCRAPY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "scrapy"], check=True)
    result = run_process([str(python), "-c", SCRAPY_SPIDER, url + "/", str(concurrency)], bench_env())
    result["pages"] = int(result["output"].rsplit("pages=", 1)[1].split()[0])
    return result


def report(label: str, result: dict) -> float:
    rate = result["pages"] / result["seconds"]
    print(f"  {label:<12} {result['pages']:>6} pages, whole process {result['seconds']:6.1f} s = {rate:7.1f} pages/s, "
          f"peak memory (tree) {result['tree_mb']:5.0f} MB", flush=True)  # fmt: skip
    for pid, (mb, cmd) in sorted(result["peaks"].items()):
        print(f"      pid {pid:>7} peak {mb:5.0f} MB (sampled)  {cmd}")
    return rate


def crawler_peak(result: dict) -> tuple[float, str]:
    """The peak of the process that crawls: the crawl worker when the command runs one, else the command."""
    peaks = result["peaks"]
    workers = [mb for mb, cmd in peaks.values() if "crawl_worker" in cmd]
    if workers:
        return max(workers), "crawl worker process (sampled)"
    return result["tree_mb"], "the command's process (wait4)"


def bench_site(title: str, root: Path, concurrency: int, scrapy: bool) -> None:
    proc, url = serve(root)
    try:
        print(f"{title} ({url}, concurrency {concurrency}, no delay)", flush=True)
        ours = crawl_ours(url, concurrency)
        ours_rate = report("corpusforge", ours)
        print(f"  corpusforge rows by status: {ours['counts']}")
        mb, which = crawler_peak(ours)
        verdict = "ok" if mb <= TARGET_MB else "MISSED"
        print(f"  crawling process peak: {mb:.0f} MB, {which} (target <= {TARGET_MB} MB: {verdict})")
        if scrapy:
            theirs = crawl_scrapy(url, concurrency)
            theirs_rate = report("scrapy", theirs)
            ratio = ours_rate / theirs_rate
            verdict = "ok" if ratio >= TARGET_RATIO else "MISSED"
            print(f"  ratio corpusforge/scrapy, whole process pages/s: {ratio:.2f}x (target >= {TARGET_RATIO}x: "
                  f"{verdict})", flush=True)  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-scrapy", action="store_true")
    parser.add_argument("--skip-docs", action="store_true")
    parser.add_argument("--skip-site", action="store_true", help="only the Python docs")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    site = OUT / f"site-{args.pages}"
    if not (site / "_manifest.json").exists():
        shutil.rmtree(site, ignore_errors=True)
        print(f"generating the {args.pages}-page sample site into {site} ...", flush=True)
        t0 = time.perf_counter()
        from corpusforge.connectors.sample_site import generate_site

        generate_site(site, pages=args.pages, seed=0)
        print(f"  generated in {time.perf_counter() - t0:.0f} s", flush=True)
    from corpusforge.flows.prefect_server import shared_server_url

    if not os.environ.get("PREFECT_API_URL"):
        started = time.perf_counter()
        print(f"shared Prefect server {shared_server_url()} (ready after {time.perf_counter() - started:.1f}s)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    if not args.skip_site:
        bench_site(f"sample site, {args.pages} pages", site, args.concurrency, not args.skip_scrapy)
    if not args.skip_docs:
        if PY_DOCS.is_dir():
            bench_site(f"Python docs {PY_DOCS}", PY_DOCS, args.concurrency, not args.skip_scrapy)
        else:
            print(f"skipping the Python docs: {PY_DOCS} is missing (apt-get install python3.11-doc)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
