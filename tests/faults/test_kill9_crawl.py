"""Issue 15.7: a crawl killed with SIGKILL at 10 seeded moments in a row (each run resuming what the
last one left, and killed soon after it wrote its first pages), then run to the end, ends with the
same tables as a crawl that was never interrupted (nothing lost, nothing doubled)."""

from __future__ import annotations

import pytest

from corpusforge.warehouse import Warehouse
from tests.faults import kill9
from tests.faults.conftest import write_config

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


def crawl(folder, url, moment: kill9.Moment | None) -> kill9.Run:
    config = write_config(folder, url, timeout=10, retries=1, flush_rows=3, flush_seconds=0.5, delay=0.05)
    return kill9.run(["crawl", str(config)], folder, moment, lambda: kill9.output_files(folder / "data" / "pages"))


@pytest.mark.slow
def test_sigkill_at_ten_moments_then_rerun_equals_an_uninterrupted_crawl(site_server, tmp_path):
    reference, folder = tmp_path / "reference", tmp_path / "killed"
    reference.mkdir(), folder.mkdir()
    done = crawl(reference, site_server.url, None)
    expected = tables_view(Warehouse(str(reference / "data")))
    assert len(expected["pages"]) > 40

    # Each run is killed within a tenth of the reference's crawling time after its first new
    # pages file: the ten kills walk through the whole crawl.
    moments = kill9.seeded_moments(SEED, 0.0, done.active / kill9.MOMENTS, after_progress=True)
    wh = Warehouse(str(folder / "data"))

    def finished() -> bool:  # a completed crawl is not run again (a new run would recrawl)
        return (folder / "data" / "crawl_runs").exists() and bool(tables_view(wh)["completed_sources"])

    runs = kill9.kill_chain(lambda m: crawl(folder, site_server.url, m), moments, finished)
    got = tables_view(wh)
    assert got == expected, kill9.diff(got, expected)
    assert sum(r.killed for r in runs) >= kill9.MOMENTS - 2, runs  # the moments did land inside crawls


def test_a_resumed_redirect_row_still_leads_to_its_target(site_server, sample_manifest):
    """What the kill -9 test found: a run killed after writing a redirect's row, before its target's,
    must still crawl the target when it resumes."""
    import asyncio

    from corpusforge.connectors.crawler import CrawlJob, crawl_urls
    from corpusforge.connectors.fetcher import FetchPolicy
    from corpusforge.schemas.config import SourceConfig

    old = sorted(p for p in sample_manifest["redirects"] if p.startswith("/old/"))[0]
    start, target = site_server.url + old, site_server.url + sample_manifest["redirects"][old]
    root = site_server.url + "/"
    source = SourceConfig(name="s", kind="site", url=root, max_depth=1, allow_private_network=True)
    done = {root: {"fetch_status": "fetched", "final_url": root, "depth": 0},
            start: {"fetch_status": "skipped", "final_url": target, "depth": 1}}  # fmt: skip
    job = CrawlJob(source, "r1", done=done, known_links={root: [start]})
    rows = []
    asyncio.run(
        crawl_urls(job, FetchPolicy("t", delay=0, retries=0, allow_private_network=True), lambda o: rows.append(o.page))
    )
    assert [(r["url"], r["fetch_status"]) for r in rows] == [(target, "fetched")], [r["error"] for r in rows]
