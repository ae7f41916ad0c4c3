"""The crawl stage: sources in corpusforge.yaml -> rows of the pages table.

`crawl` is a Prefect flow with one task per source (sources run in parallel, a task is retried
only for I/O trouble, and a retried or re-run source resumes its interrupted run).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import httpx
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from corpusforge.connectors.crawler import (
    RECORD_KINDS,
    CrawlJob,
    CrawlStopped,
    StopSignal,
    crawl_urls,
    ingest_records,
    open_warc,
    record_source_records,
)
from corpusforge.connectors.warc import WarcOut
from corpusforge.flows.configs import fetch_policy
from corpusforge.flows.stage import Progress, StageSummary, error_line, run_name
from corpusforge.schemas.config import Settings, SourceConfig
from corpusforge.warehouse import Warehouse, new_run_id
from corpusforge.warehouse.crawl_state import (
    PageBatchWriter,
    crawl_locks,
    interrupted_run,
    load_crawl_state,
    load_links,
    mark_run,
    urls_done_in_run,
)
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

    A run of this source that started and never completed is resumed under its own run id: the
    URLs it already wrote are not fetched again, only their stored links are followed.
    """
    resumed_run = interrupted_run(wh, source.name)
    run_id = resumed_run or new_run_id("crawl")
    if resumed_run is None:
        mark_run(wh, run_id, source.name, "started")
    job = CrawlJob(
        source=source,
        run_id=run_id,
        state=load_crawl_state(wh, source.name),
        known_links=load_links(wh, source.name) if source.kind == "site" else {},
        done=urls_done_in_run(wh, source.name, resumed_run) if resumed_run else {},
    )
    policy = fetch_policy(settings.crawl, source)

    def report(done: int, discovered: int) -> None:
        if progress is not None:
            progress.update(f"crawl {source.name}", completed=done, total=discovered)

    crawl = settings.crawl
    with PageBatchWriter(wh, run_id, crawl.flush_rows, crawl.flush_seconds) as sink:

        def emit(outcome) -> None:
            sink.add(outcome.page, outcome.links, outcome.tombstone)

        if source.kind in RECORD_KINDS:
            with open_warc(source, policy) if source.kind == "warc" else contextlib.nullcontext() as stream:
                report = ingest_records(job, record_source_records(source, stream), emit, warc, report, stop=stop)
        else:
            report = asyncio.run(crawl_urls(job, policy, emit, report, warc, stop=stop))
    counts = {k: int(v) for k, v in report.counts.items()}
    mark_run(wh, run_id, source.name, "completed", counts)
    return {
        "source": source.name,
        "run_id": run_id,
        "resumed": resumed_run is not None,
        "counts": counts,
        "reasons": dict(report.reasons),
        "skipped_by_robots": report.skipped_by_robots,
    }


@contextlib.contextmanager
def _warc_out(path: str | None):
    if path is None:
        yield None
        return
    with WarcOut(path) as warc:
        yield warc


def _io_failure(task, task_run, state) -> bool:
    """Retry only I/O trouble (network, disk); a bug would fail the same way again."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, OSError | httpx.TransportError)


# A retried source resumes its run: the pages it already wrote are not fetched again.
@task(name="crawl-source", retries=2, retry_delay_seconds=5, retry_condition_fn=_io_failure, cache_policy=NO_CACHE)
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
    with crawl_locks(wh, new_run_id("crawl"), settings.crawl.lock_wait) as guard, _warc_out(warc_out) as warc:
        futures = [crawl_source_task.submit(wh, settings, s, warc, progress, guard) for s in settings.sources]
        results, failures = source_results(settings.sources, futures)
    summary = summarize(results, warc_out, settings.warehouse, failures)
    summary.seconds = time.perf_counter() - start
    return summary
