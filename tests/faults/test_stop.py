"""Issue 15.2: SIGTERM on a crawl stuck on a dripping server stops it within 10 s, keeps what it
fetched, releases the locks only after the work stopped, and the next run resumes to the same
tables as an uninterrupted crawl."""

from __future__ import annotations

import signal
import time

from corpusforge.schemas.config import load_settings
from corpusforge.warehouse import Warehouse
from tests.faults.conftest import start_crawl, wait_until, write_config
from tests.faults.crawl_driver import crawl_all
from tests.faults.servers import DripSite

CRAWL_TABLES = ("pages", "crawl_links", "tombstones", "crawl_runs")


def page_view(wh: Warehouse) -> set[tuple]:
    """The pages table without what differs between runs (ids, times)."""
    return {(r["url"].rsplit("/", 1)[1], r["fetch_status"], r["body_sha256"]) for r in wh.read("pages").to_pylist()
            if r["fetch_status"] != "unchanged"}  # fmt: skip


def test_sigterm_stops_a_stalled_crawl_and_the_next_run_resumes(drip_site, tmp_path):
    config = write_config(tmp_path, drip_site.url, timeout=600, concurrency_per_host=1)
    proc = start_crawl(config, tmp_path / "crawl.log")
    data = tmp_path / "data"
    wait_until(lambda: "/drip.html" in drip_site.requests, 30, "the crawl reaches the dripping page")
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)
    took = time.monotonic() - sent
    log = (tmp_path / "crawl.log").read_text()
    assert took < 10, log
    assert proc.returncode == 143 and "stopped by SIGTERM" in log, log
    assert not [t for t in CRAWL_TABLES if (data / t / "_lock").exists()]
    wh = Warehouse(str(data))
    before = page_view(wh)
    assert {u for u, *_ in before} == {"", "ok-0.html", "ok-1.html", "ok-2.html"}  # the drip has no row yet

    # The server recovers; the next run resumes the interrupted run and fetches only the rest.
    drip_site.drip = False
    drip_site.requests.clear()
    (result,) = crawl_all(load_settings(config))
    assert [p for p in drip_site.requests if p != "/robots.txt"] == ["/drip.html"]
    assert result["counts"]["resumed"] == 4
    runs = wh.read("crawl_runs").to_pylist()
    assert len({r["crawl_run_id"] for r in runs}) == 1  # one run, started then completed

    with DripSite(drip=False) as fresh:  # an uninterrupted crawl of the same site
        clean = tmp_path / "clean"
        clean.mkdir()
        settings = load_settings(write_config(clean, fresh.url))
        crawl_all(settings)
        assert page_view(wh) == page_view(Warehouse(settings.warehouse))


def test_locks_are_released_only_after_the_work_has_stopped(tmp_path):
    """The block is left by an exception (as on Prefect's termination) while a worker thread is
    still writing: the locks wait for it; a worker that ignores the stop keeps them held."""
    import threading

    import pytest

    from corpusforge.warehouse.shutdown import guarded_locks

    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    lock_file = tmp_path / "data" / "pages" / "_lock"
    seen_while_stopping = []

    def worker(guard, linger: float) -> None:
        with guard.working():
            guard.stop.wait()
            time.sleep(linger)  # flushing what it fetched
            seen_while_stopping.append(lock_file.exists())

    with pytest.raises(KeyboardInterrupt):
        with guarded_locks(wh, ["pages"], "run-1", grace=5) as guard:
            threading.Thread(target=worker, args=(guard, 1.0)).start()
            time.sleep(0.2)
            raise KeyboardInterrupt
    assert seen_while_stopping == [True] and not lock_file.exists()

    with pytest.raises(KeyboardInterrupt):
        with guarded_locks(wh, ["pages"], "run-2", grace=0.5) as guard:
            threading.Thread(target=worker, args=(guard, 2.0)).start()
            time.sleep(0.2)
            raise KeyboardInterrupt
    assert lock_file.exists()  # kept: the work did not stop within the grace period
    time.sleep(2.5)
    assert "run-2" in lock_file.read_text()


def test_one_unreadable_source_does_not_sink_the_others(drip_site, tmp_path):
    import yaml

    config = write_config(tmp_path, drip_site.url)
    raw = yaml.safe_load(config.read_text())
    drip_site.drip = False
    raw["sources"].insert(0, {"name": "archive", "kind": "warc", "path": "missing.warc.gz"})
    config.write_text(yaml.safe_dump(raw))
    results = crawl_all(load_settings(config))
    assert [r["source"] for r in results] == ["archive", "drip"]
    rows = Warehouse(str(tmp_path / "data")).read("pages").to_pylist()
    (failed,) = [r for r in rows if r["source"] == "archive"]
    assert failed["error"].startswith("source_unreadable: warc source 'archive': No such file or directory")
    assert len([r for r in rows if r["source"] == "drip" and r["fetch_status"] == "fetched"]) == 5
