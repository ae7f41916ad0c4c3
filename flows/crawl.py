"""The crawl stage: sources in corpusforge.yaml -> rows of the pages table.

`crawl` is a Prefect flow with one task per source (sources run in parallel, a task is retried
only for I/O trouble, and a retried or re-run source resumes its interrupted run). Each task crawls
in a worker process of its own that imports no Prefect (flows/crawl_worker.py). On the Dask task
runner the sources crawl on the workers instead, one task per host at a time (flows/dask_crawl.py).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from corpusforge.connectors.crawler import CrawlStopped, StopSignal
from corpusforge.connectors.warc import WarcOut
from corpusforge.flows.configs import fetch_policy
from corpusforge.flows.crawl_worker import crawl_in_worker, is_io_failure
from corpusforge.flows.stage import Progress, StageSummary, error_line, on_dask_task_runner, run_name
from corpusforge.schemas.config import Settings, SourceConfig
from corpusforge.warehouse import Warehouse, new_run_id
from corpusforge.warehouse.crawl_state import crawl_locks
from corpusforge.warehouse.shutdown import RunGuard


def crawl_source(
    wh: Warehouse,
    settings: Settings,
    source: SourceConfig,
    warc: WarcOut | None = None,
    progress: Progress | None = None,
    stop: StopSignal | None = None,
) -> dict:
    """Crawl one source into the warehouse (the caller holds the crawl locks); returns its counts.

    The crawl runs in a worker process that imports no Prefect (flows/crawl_worker.py): progress
    and a stop request pass through, its error is raised here. A run of this source that started
    and never completed is resumed under its own run id: the URLs it already wrote are not fetched
    again, only their stored links are followed.
    """
    return crawl_in_worker(wh, settings, source, fetch_policy(settings.crawl, source), warc, progress, stop)


@contextlib.contextmanager
def _warc_out(path: str | None):
    if path is None:
        yield None
        return
    with WarcOut(path) as warc:
        yield warc


def io_failure(task, task_run, state) -> bool:
    """Retry only I/O trouble (network, disk); a bug would fail the same way again."""
    return is_io_failure(state.result(raise_on_failure=False))


# A retried source resumes its run: the pages it already wrote are not fetched again.
@task(name="crawl-source", retries=2, retry_delay_seconds=5, retry_condition_fn=io_failure, cache_policy=NO_CACHE)
def crawl_source_task(
    wh: Warehouse,
    settings: Settings,
    source: SourceConfig,
    warc: WarcOut | None,
    progress: Progress | None,
    guard: RunGuard,
) -> dict:
    with guard.working():  # a stop signal waits for this source to stop (its locks stay held till then)
        result = crawl_source(wh, settings, source, warc, progress, guard.stop)
    counts = result["counts"]
    get_run_logger().info(
        "%s: fetched=%d not-modified=%d unchanged=%d failed=%d gone=%d skipped-by-robots=%d resumed=%d",
        source.name,
        counts.get("fetched", 0),
        counts.get("not_modified", 0),
        counts.get("unchanged", 0),
        counts.get("failed", 0),
        counts.get("gone", 0),
        result["skipped_by_robots"],
        counts.get("resumed", 0),
    )
    return result


def summarize(
    results: list[dict], warc_out: str | None, warehouse: str, failures: dict[str, str] | None = None
) -> StageSummary:
    """Totals over the sources crawled; `failures` (source -> error line) are named in the notes
    and make the summary failed, the other sources' counts stand."""
    summary = StageSummary("crawl", details=results)
    totals: Counter = Counter()
    for r in results:
        totals.update(r["counts"])
        summary.drops.update(r["reasons"])
        if r["resumed"]:
            summary.notes.append(f"{r['source']}: resumed interrupted run {r['run_id']}")
    order = ("fetched", "not_modified", "unchanged", "gone", "failed", "skipped", "resumed")
    summary.counts = {"sources": len(results), **{k: int(totals.get(k, 0)) for k in order}}
    summary.outputs.append(f"{warehouse}/pages")
    if warc_out:
        summary.outputs.append(warc_out)
    if failures:
        summary.counts["sources failed"] = len(failures)
        summary.notes += [f"{name}: failed: {error}" for name, error in failures.items()]
        names = ", ".join(failures)
        summary.error = f"{len(failures)} of {len(failures) + len(results)} sources failed ({names})"
    return summary


def source_results(sources: list[SourceConfig], futures: list) -> tuple[list[dict], dict[str, str]]:
    """Each source's result, and the error line of each source whose task failed: one crashing
    source does not sink the others. A stop request is no failure: it is raised."""
    results, failures = [], {}
    for source, future in zip(sources, futures, strict=True):
        try:
            results.append(future.result())
        except CrawlStopped:
            raise
        except Exception as exc:
            failures[source.name] = error_line(exc)
    return results, failures


@flow(name="crawl", flow_run_name=run_name("crawl"))
def crawl(settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Fetch every configured source into the pages table, politely and incrementally.

    `summary.details` holds one record per source: its run id, counts, drop reasons, whether it
    resumed an interrupted run and how many URLs robots.txt kept out."""
    start = time.perf_counter()
    wh = Warehouse(settings.warehouse)
    wh.init()
    if not settings.sources:
        raise ValueError("no sources configured: add some under 'sources:' in corpusforge.yaml")
    warc_out = settings.crawl.warc_out
    # SIGTERM / SIGINT set guard.stop: every source stops, keeps what it wrote, and resumes next run.
    run_id = new_run_id("crawl")
    with crawl_locks(wh, run_id, settings.crawl.lock_wait) as guard, _warc_out(warc_out) as warc:
        if on_dask_task_runner():  # by host, on the workers (flows/dask_crawl.py)
            from corpusforge.flows.dask_crawl import crawl_on_dask

            results, failures = crawl_on_dask(wh, settings, warc, progress, guard, run_id)
        else:
            futures = [crawl_source_task.submit(wh, settings, s, warc, progress, guard) for s in settings.sources]
            results, failures = source_results(settings.sources, futures)
    summary = summarize(results, warc_out, settings.warehouse, failures)
    summary.seconds = time.perf_counter() - start
    return summary
