"""The crawl's task on a Dask worker (flows/dask_crawl.py hands them out, one host at a time): one
source crawled under its host's lease, stopped by the flow's stop event or by the flow's death.
A module of its own, without Prefect, so that a worker imports only what crawling needs."""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import uuid
from pathlib import Path

from corpusforge.connectors.crawler import CrawlStopped
from corpusforge.connectors.warc import WarcOut
from corpusforge.flows.configs import fetch_policy
from corpusforge.flows.crawl_worker import crawl_source_here, is_io_failure
from corpusforge.flows.runtime import dask_worker_address
from corpusforge.schemas.config import Settings, SourceConfig
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.crawl_state import host_lease, publish_warc_part
from corpusforge.warehouse.shutdown import StopToken

WATCH_SECONDS = 0.2  # how often a task looks for a stop request or a gone flow
IO_RETRIES = 2  # a source whose crawl failed on I/O (network, disk) is tried again, resuming its run...
IO_RETRY_DELAY = 5.0  # ...after this many seconds


@contextlib.contextmanager
def _stop_watch(stop_event: str):
    """A StopToken set when the flow asks to stop (the Dask event `stop_event`) or its process is
    gone (this task's Dask key is no longer executing: the scheduler released it)."""
    from distributed import Event, get_client, get_worker

    worker, stop, done = get_worker(), StopToken(), threading.Event()
    key = worker.get_current_task()  # the task's own thread knows its key
    event = Event(stop_event, client=get_client())

    def check() -> None:
        state = worker.state.tasks.get(key)
        if state is None or state.state != "executing":
            stop.request("the crawl flow's process is gone")
        elif event.is_set():
            stop.request("a stop request to the crawl flow")

    def watch() -> None:
        while not done.wait(WATCH_SECONDS):
            check()

    check()  # a task started after the request stops at once
    watcher = threading.Thread(target=watch, name="crawl-stop-watch", daemon=True)
    watcher.start()
    try:
        yield stop
    finally:
        done.set()
        watcher.join()


def crawl_on_worker(
    warehouse: str, settings: Settings, source: SourceConfig, host: str, stop_event: str, warc_suffix: str | None
) -> dict:
    """Crawl one source on this worker, holding its host's lease; its result, with the worker's
    address and the WARC part it left in the warehouse. A crawl that failed on I/O is tried again
    (IO_RETRIES times): it resumes its run, so the pages it already wrote are not fetched again."""
    attempt = 0
    while True:
        try:
            return _crawl_once(warehouse, settings, source, host, stop_event, warc_suffix)
        except Exception as exc:
            if attempt == IO_RETRIES or not is_io_failure(exc):
                raise
        attempt += 1
        time.sleep(IO_RETRY_DELAY)


def _crawl_once(
    warehouse: str, settings: Settings, source: SourceConfig, host: str, stop_event: str, warc_suffix: str | None
) -> dict:
    wh = Warehouse(warehouse)
    with _stop_watch(stop_event) as stop, tempfile.TemporaryDirectory(prefix="corpusforge-warc-") as tmp:
        with host_lease(wh, host, f"{source.name}@{dask_worker_address()}", wait=settings.crawl.lock_wait):
            if stop.is_set():  # asked to stop, or left behind by a killed flow, while waiting for the host
                raise CrawlStopped(f"source '{source.name}' not crawled: {stop.reason}")
            local_part = Path(tmp) / f"part{warc_suffix}" if warc_suffix else None
            warc = WarcOut(local_part) if local_part else None
            policy = fetch_policy(settings.crawl, source)
            try:
                result = crawl_source_here(wh, settings, source, policy, warc, None, stop)
            finally:
                if warc is not None:
                    warc.close()
            # The host stays ours for its delay: the next source's first request there waits it too.
            stop.wait(policy.delay)
        result["crawled_on"] = dask_worker_address()
        if warc is not None and warc.records:
            name = f"{result['run_id']}-{source.name}-{uuid.uuid4().hex[:8]}{warc_suffix}"
            result["warc_part"] = (publish_warc_part(wh, local_part, name), warc.records)
    return result
