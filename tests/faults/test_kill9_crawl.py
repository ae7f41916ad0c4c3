"""Issue 15.7: a crawl killed with SIGKILL at seeded random moments, then run again, ends with the
same tables as a crawl that was never interrupted (nothing lost, nothing doubled)."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from corpusforge.schemas.config import load_settings
from corpusforge.warehouse import Warehouse
from tests.faults.conftest import start_crawl, write_config
from tests.faults.crawl_driver import crawl_all

MOMENTS = 5
SEED = 15


def tables_view(wh: Warehouse) -> dict:
    """Every crawl table, without what differs from run to run (ids, times)."""
    pages = [(r["url"], r["fetch_status"], r["status"], r["body_sha256"], (r["error"] or "").split(":")[0])
             for r in wh.read("pages").to_pylist()]  # fmt: skip
    return {
        "pages": sorted(pages),  # a list: a row written twice would show
        "crawl_links": {(r["url"], tuple(r["links"])) for r in wh.read("crawl_links").to_pylist()},
        "tombstones": {r["url"] for r in wh.read("tombstones").to_pylist()},
        "completed_sources": {r["source"] for r in wh.read("crawl_runs").to_pylist() if r["event"] == "completed"},
    }


@pytest.fixture()
def sample_server(sample_site_dir):
    from corpusforge.connectors.sample_site import SampleServer

    with SampleServer(sample_site_dir) as srv:
        yield srv


def first_pages_file(folder) -> bool:
    pages = folder / "data" / "pages"
    return pages.exists() and any(p.name != "00000000-schema.parquet" for p in pages.glob("*.parquet"))


def run_subprocess_crawl(folder, url, kill_after: float | None) -> tuple[float, float | None, bool]:
    """(seconds it ran, seconds until its first pages file, whether it was killed)."""
    config = write_config(folder, url, timeout=10, retries=1, flush_rows=5, flush_seconds=0.5, delay=0.05)
    started = time.monotonic()
    proc = start_crawl(config, folder / "crawl.log")
    first_file = None
    limit = kill_after if kill_after is not None else 120
    while proc.poll() is None and time.monotonic() - started < limit:
        if first_file is None and first_pages_file(folder):
            first_file = time.monotonic() - started
        time.sleep(0.02)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if not killed:
        assert proc.returncode == 0, (folder / "crawl.log").read_text()
    return time.monotonic() - started, first_file, killed


def test_sigkill_at_random_moments_then_rerun_equals_an_uninterrupted_crawl(sample_server, tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    duration, first_file, _ = run_subprocess_crawl(reference, sample_server.url, None)
    expected = tables_view(Warehouse(str(reference / "data")))
    assert len(expected["pages"]) > 40

    rng = random.Random(SEED)
    killed_mid_crawl = 0
    for n in range(MOMENTS):
        folder = tmp_path / f"kill-{n}"
        folder.mkdir()
        moment = rng.uniform(first_file * 0.8, duration)  # from the imports' end to the crawl's end
        _, _, killed = run_subprocess_crawl(folder, sample_server.url, moment)
        wh = Warehouse(str(folder / "data"))
        if killed and first_pages_file(folder) and not tables_view(wh)["completed_sources"]:
            killed_mid_crawl += 1
        if killed and not tables_view(wh)["completed_sources"]:  # killed after completing: nothing to finish
            crawl_all(load_settings(folder / "corpusforge.yaml"))  # the next run finishes the job
        got = tables_view(wh)
        assert got == expected, f"kill at {moment:.2f}s (seed {SEED}, moment {n}):\n{_diff(got, expected)}"
    assert killed_mid_crawl >= 2  # the moments did land inside crawls that had written pages


def _diff(a: dict, b: dict) -> str:
    from collections import Counter

    out = []
    for key in a:
        if a[key] != b[key]:
            ca, cb = Counter(a[key]), Counter(b[key])
            out.append(f"{key}: only after the kill {sorted((ca - cb).elements())[:5]}; "
                       f"only uninterrupted {sorted((cb - ca).elements())[:5]}")  # fmt: skip
    return "\n".join(out)


def test_a_resumed_redirect_row_still_leads_to_its_target(sample_server, sample_manifest):
    """What the kill -9 test found: a run killed after writing a redirect's row, before its target's,
    must still crawl the target when it resumes."""
    import asyncio

    from corpusforge.connectors.crawler import CrawlJob, crawl_urls
    from corpusforge.connectors.fetcher import FetchPolicy
    from corpusforge.schemas.config import SourceConfig

    old = sorted(p for p in sample_manifest["redirects"] if p.startswith("/old/"))[0]
    start, target = sample_server.url + old, sample_server.url + sample_manifest["redirects"][old]
    root = sample_server.url + "/"
    source = SourceConfig(name="s", kind="site", url=root, max_depth=1, allow_private_network=True)
    done = {root: {"fetch_status": "fetched", "final_url": root, "depth": 0},
            start: {"fetch_status": "skipped", "final_url": target, "depth": 1}}  # fmt: skip
    job = CrawlJob(source, "r1", done=done, known_links={root: [start]})
    rows = []
    asyncio.run(
        crawl_urls(job, FetchPolicy("t", delay=0, retries=0, allow_private_network=True), lambda o: rows.append(o.page))
    )
    assert [(r["url"], r["fetch_status"]) for r in rows] == [(target, "fetched")], [r["error"] for r in rows]
