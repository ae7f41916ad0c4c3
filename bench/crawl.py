"""Crawl benchmark: corpusforge's crawler against a minimal Scrapy CrawlSpider.

    .venv/bin/python bench/crawl.py [--pages 5000] [--concurrency 16] [--skip-scrapy] [--skip-docs]

1. Generates the 5,000-page sample site (cached under bench/out/) and serves it with SampleServer in
   a separate process, so the server does not share the crawler's interpreter.
2. Crawls it whole with politeness off (no delay, 16 requests in flight, robots.txt still read), writing
   the pages table to a temporary warehouse; prints pages/s and peak memory (max RSS of the process).
3. Crawls it with Scrapy (CrawlSpider, one Rule following every link of the host, same concurrency,
   no delay, robots.txt obeyed, no pipelines) and prints the ratio. Scrapy lives in its own virtual
   environment, created on first use:  python3 -m venv bench/.venv-scrapy && bench/.venv-scrapy/bin/pip install scrapy
4. Crawls Python's HTML documentation (/usr/share/doc/python3.11/html, Debian package python3.11-doc)
   served the same way, with both crawlers.

Every crawl runs as a child process; its peak memory is that child's max RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
SCRAPY_VENV = REPO / "bench" / ".venv-scrapy"
PY_DOCS = Path("/usr/share/doc/python3.11/html")

SCRAPY_SPIDER = r'''
import json, sys, time
from urllib.parse import urlsplit
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule

start, concurrency, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
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
t0 = time.perf_counter()
process.crawl(BenchSpider)
process.start()
seconds = time.perf_counter() - t0
json.dump({"pages": count["pages"], "seconds": seconds}, open(out, "w"))
'''

OURS = r'''
import json, sys, time
from corpusforge.flows.crawl import crawl
from corpusforge.schemas.config import Settings

start, concurrency, warehouse, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
settings = Settings.model_validate({
    "warehouse": warehouse,
    "crawl": {"delay": 0, "concurrency": concurrency, "concurrency_per_host": concurrency, "retries": 1},
    "sources": [{"name": "bench", "kind": "site", "url": start, "allow_private_network": True,
                 "max_pages": 100000, "max_depth": 100}],
})
t0 = time.perf_counter()
(result,) = crawl(settings).details  # the stage as users run it: a Prefect flow
seconds = time.perf_counter() - t0
json.dump({"pages": result["counts"].get("fetched", 0), "seconds": seconds, "counts": result["counts"]},
          open(out, "w"))
'''


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


def run_child(argv: list[str]) -> tuple[dict, float]:
    """Run a crawl in a child process; (its JSON result, its peak RSS in MB)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    # wait4 gives this child's own max RSS (RUSAGE_CHILDREN is a max over all children so far).
    proc = subprocess.Popen([*argv, out], cwd=REPO, env={**os.environ, "PREFECT_LOGGING_LEVEL": "WARNING"})
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[0]} {argv[1][:20]}... exited with {os.waitstatus_to_exitcode(status)}")
    result = json.loads(Path(out).read_text())
    os.unlink(out)
    return result, usage.ru_maxrss / 1024


def crawl_ours(url: str, concurrency: int) -> tuple[dict, float]:
    warehouse = tempfile.mkdtemp(prefix="bench-crawl-")
    try:
        return run_child([sys.executable, "-c", OURS, url + "/", str(concurrency), warehouse + "/data"])
    finally:
        shutil.rmtree(warehouse, ignore_errors=True)


def crawl_scrapy(url: str, concurrency: int) -> tuple[dict, float]:
    python = SCRAPY_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {SCRAPY_VENV} with scrapy ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(SCRAPY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "scrapy"], check=True)
    return run_child([str(python), "-c", SCRAPY_SPIDER, url + "/", str(concurrency)])


def report(label: str, result: dict, peak_mb: float) -> float:
    rate = result["pages"] / result["seconds"]
    print(f"  {label:<12} {result['pages']:>6} pages in {result['seconds']:7.1f} s = {rate:7.1f} pages/s, "
          f"peak memory {peak_mb:6.0f} MB", flush=True)  # fmt: skip
    return rate


def bench_site(title: str, root: Path, concurrency: int, scrapy: bool) -> None:
    proc, url = serve(root)
    try:
        print(f"{title} ({url}, concurrency {concurrency}, no delay)", flush=True)
        ours, ours_mb = crawl_ours(url, concurrency)
        ours_rate = report("corpusforge", ours, ours_mb)
        print(f"  corpusforge rows by status: {ours['counts']}")
        if scrapy:
            theirs, theirs_mb = crawl_scrapy(url, concurrency)
            theirs_rate = report("scrapy", theirs, theirs_mb)
            print(f"  ratio corpusforge/scrapy: {ours_rate / theirs_rate:.2f}x pages/s", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-scrapy", action="store_true")
    parser.add_argument("--skip-docs", action="store_true")
    args = parser.parse_args()

    site = OUT / f"site-{args.pages}"
    if not (site / "_manifest.json").exists():
        shutil.rmtree(site, ignore_errors=True)
        print(f"generating the {args.pages}-page sample site into {site} ...", flush=True)
        t0 = time.perf_counter()
        sys.path.insert(0, str(REPO))
        from corpusforge.connectors.sample_site import generate_site

        generate_site(site, pages=args.pages, seed=0)
        print(f"  generated in {time.perf_counter() - t0:.0f} s", flush=True)
    bench_site(f"sample site, {args.pages} pages", site, args.concurrency, not args.skip_scrapy)
    if not args.skip_docs:
        if PY_DOCS.is_dir():
            bench_site(f"Python docs {PY_DOCS}", PY_DOCS, args.concurrency, not args.skip_scrapy)
        else:
            print(f"skipping the Python docs: {PY_DOCS} is missing (apt-get install python3.11-doc)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
