"""The crawl on Dask workers, by host.

Every URL source (site, sitemap, feed, a WARC by URL) crawls one host: its URL's (scheme, host,
port), the unit the fetcher's delay and concurrency apply to, since a crawl never leaves its
source's host (links and redirects elsewhere become `out_of_scope` rows). The flow groups the
sources by that host and keeps one task per host running at a time: a host's sources are
crawled one after the other, each as a task on some worker, so one host's politeness lives in one
fetcher and two workers never crawl a host at once. Different hosts crawl in parallel.

A task is handed references only (the warehouse's URL, the settings, the source): the worker
reads the crawl state, writes its own pages files and, when the crawl writes a WARC, a WARC part
into the warehouse, which the flow appends to its WARC file. What comes back is counts.

Sources read from a local path (files, a WARC file) stay on the flow's machine, where the path
is (a worker on another machine could not read it): they crawl as on the default runner.

A kill is resumed as on the default runner (the source's interrupted run, from the pages it
wrote). What keeps a killed flow's tasks from crawling on beside the run that resumes them:
a task stops once its Dask task is released (the flow's client is gone, so the scheduler
cancels what it asked for), and it crawls only while it holds its host's lease in the warehouse
(warehouse.crawl_state.host_lease), which the resuming run's task waits for. A stop request to
the flow (SIGTERM / SIGINT) reaches the tasks through a Dask event. The task's own code is in
flows/dask_crawl_worker.py.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from corpusforge.connectors.crawler import CrawlStopped
from corpusforge.connectors.warc import WarcOut
from corpusforge.flows.crawl import crawl_source
from corpusforge.flows.crawl_worker import warc_part_path
from corpusforge.flows.dask_crawl_worker import WATCH_SECONDS, crawl_on_worker
from corpusforge.flows.runtime import submit_to_dask
from corpusforge.flows.stage import Progress, error_line
from corpusforge.processing.urls import host_of, normalize_url
from corpusforge.schemas.config import Settings, SourceConfig
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.crawl_state import take_warc_part
from corpusforge.warehouse.shutdown import RunGuard


def crawl_host(source: SourceConfig) -> str | None:
    """The host a source crawls (scheme://host[:port]), or None for a source read from a local path."""
    if source.path is not None or source.url is None:
        return None
    return host_of(normalize_url(source.url) or source.url)


def sources_by_host(sources: list[SourceConfig]) -> tuple[dict[str, list[SourceConfig]], list[SourceConfig]]:
    """({host: its sources, in config order}, the sources read from a local path)."""
    by_host: dict[str, list[SourceConfig]] = {}
    local = []
    for source in sources:
        host = crawl_host(source)
        if host is None:
            local.append(source)
        else:
            by_host.setdefault(host, []).append(source)
    return by_host, local


# -- on the flow's machine ---------------------------------------------------------------------------
class _HostQueues:
    """The sources still to crawl, per host, and the one task per host that runs now."""

    def __init__(self, by_host: dict[str, list[SourceConfig]], submit) -> None:
        self.waiting = {host: deque(sources) for host, sources in by_host.items()}
        self.submit, self.running = submit, {}  # host -> (source, Dask future)

    def start_next(self, host: str) -> None:
        if self.waiting[host]:
            source = self.waiting[host].popleft()
            self.running[host] = (source, self.submit(source, host))

    def finished(self) -> list[tuple[SourceConfig, object]]:
        """The tasks that ended since the last call; the next source of each such host starts."""
        ended = [(host, *entry) for host, entry in self.running.items() if entry[1].done()]
        for host, _, _ in ended:
            del self.running[host]
        return [(source, future) for _, source, future in ended]


def _append_warc_part(wh: Warehouse, warc: WarcOut | None, source: SourceConfig, result: dict) -> None:
    part = result.pop("warc_part", None)
    if part is not None and warc is not None:
        local = warc_part_path(warc, source)
        take_warc_part(wh, part[0], local)
        warc.append_part(local, part[1])


def _finished_source(wh, warc, progress, source, future, results, failures) -> CrawlStopped | None:
    try:
        result = future.result()
    except CrawlStopped as exc:
        return exc
    except Exception as exc:  # one failing source does not sink the others
        failures[source.name] = error_line(exc)
        return None
    _append_warc_part(wh, warc, source, result)
    results.append(result)
    if progress is not None:
        done = sum(result["counts"].values())
        progress.update(f"crawl {source.name}", completed=done, total=done, status="done")
    return None


def crawl_on_dask(
    wh: Warehouse, settings: Settings, warc: WarcOut | None, progress: Progress | None, guard: RunGuard, run_id: str
) -> tuple[list[dict], dict[str, str]]:
    """Every source crawled, URL sources as tasks on the Dask workers (one task per host at a
    time), local-path sources here; (results, {source: error line}) as the default runner's
    source_results gives them. A stop request is raised as CrawlStopped once every task stopped."""
    from distributed import Event
    from prefect.context import FlowRunContext

    by_host, local = sources_by_host(settings.sources)
    stop_event = f"corpusforge-crawl-stop-{run_id}"
    event = Event(stop_event, client=FlowRunContext.get().task_runner.client)  # the flow's Dask client
    suffix = Path(warc.path).suffix if warc is not None else None

    def submit(source: SourceConfig, host: str):
        if progress is not None:  # a worker's crawl reports when it ends, not page by page
            progress.update(f"crawl {source.name}", status="on a Dask worker")
        return submit_to_dask("crawl-host", crawl_on_worker, wh.root_url, settings, source, host, stop_event, suffix)

    results, failures, stopped = [], {}, None
    with guard.working(), ThreadPoolExecutor(max(1, len(local))) as pool:  # the locks wait for the tasks
        here: dict[str, Future] = {s.name: pool.submit(crawl_source, wh, settings, s, warc, progress, guard.stop)
                                   for s in local}  # fmt: skip
        queues = _HostQueues(by_host, submit)
        for host in by_host:
            queues.start_next(host)
        while queues.running:
            if guard.stop.is_set() and not event.is_set():
                event.set()
            for source, future in queues.finished():
                stopped = _finished_source(wh, warc, progress, source, future, results, failures) or stopped
                if stopped is None and not guard.stop.is_set():
                    queues.start_next(crawl_host(source))
            time.sleep(WATCH_SECONDS)
        if stopped is None and guard.stop.is_set() and any(queues.waiting.values()):
            stopped = CrawlStopped(f"crawl stopped by {guard.stop.reason or 'a stop request'} before every source "
                                   "started; fetched pages are kept, the next run crawls the rest")  # fmt: skip
        sources = {s.name: s for s in local}
        for name, future in here.items():
            stopped = _finished_source(wh, warc, progress, sources[name], future, results, failures) or stopped
    if event.is_set():
        event.clear()  # every task has ended: the scheduler forgets the event
    if stopped is not None:
        raise stopped
    order = [s.name for s in settings.sources]
    return sorted(results, key=lambda r: order.index(r["source"])), failures
