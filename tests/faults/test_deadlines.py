"""Issue 15.1: a server that drips its body cannot hold a request, a crawl or the page writer."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from corpusforge.connectors.fetcher import Fetcher, FetchPolicy
from corpusforge.warehouse import Warehouse
from tests.faults.conftest import start_crawl, wait_until, write_config


def test_a_dripping_body_ends_as_a_timeout_within_the_deadline(drip_site):
    async def fetch():
        async with Fetcher(FetchPolicy("t", timeout=1.5, retries=0, allow_private_network=True)) as f:
            return await f.fetch(drip_site.url + "/drip.html")

    started = time.monotonic()
    resp = asyncio.run(fetch())
    took = time.monotonic() - started
    # each read gets a byte every 0.5 s, so only a deadline on the whole request can end it
    assert resp.status is None and resp.error.startswith("timeout: no complete response within 1.5s")
    assert 1.4 < took < 4


def test_a_crawl_of_a_dripping_site_ends_with_a_timeout_row(drip_site, tmp_path):
    from corpusforge.schemas.config import load_settings
    from tests.faults.crawl_driver import crawl_all

    settings = load_settings(write_config(tmp_path, drip_site.url, timeout=3))
    started = time.monotonic()
    (result,) = crawl_all(settings)
    assert time.monotonic() - started < 20
    rows = {r["url"].rsplit("/", 1)[1]: r for r in Warehouse(settings.warehouse).read("pages").to_pylist()}
    assert rows["drip.html"]["fetch_status"] == "failed"
    assert rows["drip.html"]["error"] == "timeout: no complete response within 3s"
    assert {rows[f"ok-{n}.html"]["fetch_status"] for n in range(3)} == {"fetched"}
    assert result["counts"]["failed"] == 1


def test_pages_fetched_before_a_stall_are_durable_while_it_stalls(drip_site, tmp_path):
    """Every fetch is stalled (so no add() comes): the writer's timer still flushes within
    flush_seconds, and a kill -9 then loses nothing that was fetched."""
    config = write_config(tmp_path, drip_site.url, timeout=60, flush_seconds=1, flush_rows=1000,
                          concurrency_per_host=1)  # fmt: skip
    proc = start_crawl(config, tmp_path / "crawl.log")
    wh = Warehouse(str(tmp_path / "data"))

    def ok_rows() -> int:
        if not (tmp_path / "data" / "pages").exists():
            return 0
        return sum(1 for r in wh.read("pages", columns=["url"]).to_pylist() if "/ok-" in r["url"])

    try:
        wait_until(lambda: "/drip.html" in drip_site.requests, 30, "the crawl reaches the dripping page")
        wait_until(lambda: ok_rows() == 3, 5, "the pages fetched before the stall are written")
        assert proc.poll() is None  # still stalled on the drip: the rows came from the timer
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert ok_rows() == 3


def test_a_dripping_robots_txt_is_bounded_and_counts_as_unreachable(tmp_path):
    from corpusforge.schemas.config import load_settings
    from tests.faults.crawl_driver import crawl_all
    from tests.faults.servers import DripSite

    with DripSite(drip_robots=True) as site:
        settings = load_settings(write_config(tmp_path, site.url, timeout=2))
        started = time.monotonic()
        crawl_all(settings)
        assert time.monotonic() - started < 15
    (row,) = Warehouse(settings.warehouse).read("pages").to_pylist()
    # RFC 9309: a robots.txt that cannot be read means nothing of the host is crawled
    assert row["fetch_status"] == "skipped" and row["error"].startswith("robots_disallowed: ")
    assert site.requests == ["/robots.txt"]


def test_a_source_deadline_ends_its_crawl_with_source_timeout_rows(drip_site, tmp_path):
    import yaml

    from corpusforge.schemas.config import load_settings
    from tests.faults.crawl_driver import crawl_all

    config = write_config(tmp_path, drip_site.url, timeout=600, concurrency_per_host=1)
    raw = yaml.safe_load(config.read_text())
    raw["sources"][0]["deadline"] = 3
    config.write_text(yaml.safe_dump(raw))
    started = time.monotonic()
    (result,) = crawl_all(load_settings(config))
    assert time.monotonic() - started < 10
    rows = {r["url"].rsplit("/", 1)[1]: r for r in Warehouse(str(tmp_path / "data")).read("pages").to_pylist()}
    assert rows["drip.html"]["error"] == "source_timeout: source 'drip' reached its deadline of 3s"
    assert {rows[f"ok-{n}.html"]["fetch_status"] for n in range(3)} == {"fetched"}
    assert len(rows) == 5  # every URL the crawl met has its row, the stalled one included
