"""The crawl stage: sources in corpusforge.yaml -> rows of the pages table.

`crawl` is a Prefect flow with one task per source (sources run in parallel, a task is retried
only for I/O trouble, and a retried or re-run source resumes its interrupted run).
`corpusforge crawl [--source NAME] [--warc-out FILE]` runs it with a progress bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx
import typer
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from corpusforge.connectors.crawler import (
    RECORD_KINDS,
    CrawlJob,
    crawl_urls,
    ingest_records,
    open_warc,
    record_source_records,
)
from corpusforge.connectors.fetcher import FetchPolicy
from corpusforge.connectors.warc import WarcOut
from corpusforge.flows.common import StageSummary, progress_bar, timed
from corpusforge.schemas.config import CrawlSettings, Settings, SourceConfig
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

# (source name, done, discovered): set by the CLI to drive its progress bar (flow parameters must
# be serialisable, so the callback cannot be one).
ProgressHook = Callable[[str, int, int], None]
PROGRESS_HOOK: ProgressHook | None = None


def fetch_policy(crawl: CrawlSettings, source: SourceConfig) -> FetchPolicy:
    return FetchPolicy(
        user_agent=crawl.user_agent,
        delay=source.delay if source.delay is not None else crawl.delay,
        concurrency_per_host=source.concurrency or crawl.concurrency_per_host,
        concurrency=crawl.concurrency,
        timeout=crawl.timeout,
        retries=crawl.retries,
        backoff=crawl.backoff,
        max_redirects=crawl.max_redirects,
        max_body_bytes=crawl.max_body_bytes,
        obey_robots=crawl.obey_robots,
        allow_private_network=source.allow_private_network,
    )


def crawl_source(wh: Warehouse, settings: Settings, source: SourceConfig, warc: WarcOut | None = None) -> dict:
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
    hook = PROGRESS_HOOK

    def progress(done: int, discovered: int) -> None:
        if hook is not None:
            hook(source.name, done, discovered)

    crawl = settings.crawl
    with PageBatchWriter(wh, run_id, crawl.flush_rows, crawl.flush_seconds) as sink:

        def emit(outcome) -> None:
            sink.add(outcome.page, outcome.links, outcome.tombstone)

        if source.kind in RECORD_KINDS:
            with open_warc(source, policy) if source.kind == "warc" else contextlib.nullcontext() as stream:
                report = ingest_records(job, record_source_records(source, stream), emit, warc, progress)
        else:
            report = asyncio.run(crawl_urls(job, policy, emit, progress, warc))
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


def select_sources(settings: Settings, source: str | None) -> list[SourceConfig]:
    if source is not None:
        return [settings.source(source)]
    if not settings.sources:
        raise ValueError("no sources configured: add some under 'sources:' in corpusforge.yaml")
    return list(settings.sources)


def run_crawl(settings: Settings, source: str | None = None, warc_out: str | None = None) -> list[dict]:
    """The crawl without Prefect (sources one after another): for scripts and tests."""
    wh = Warehouse(settings.warehouse)
    wh.init()
    with crawl_locks(wh, new_run_id("crawl"), settings.crawl.lock_wait), _warc_out(warc_out) as warc:
        return [crawl_source(wh, settings, s, warc) for s in select_sources(settings, source)]


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
def crawl_source_task(wh: Warehouse, settings: Settings, source: SourceConfig, warc: WarcOut | None) -> dict:
    result = crawl_source(wh, settings, source, warc)
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


def summarize(results: list[dict], seconds: float, warc_out: str | None, warehouse: str) -> StageSummary:
    summary = StageSummary("crawl", seconds=seconds)
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
    return summary


@flow(name="crawl")
def crawl_flow(settings: Settings, source: str | None = None, warc_out: str | None = None) -> dict:
    """Fetch every configured source (or one) into the pages table, politely and incrementally."""
    summary = StageSummary("crawl")
    with timed(summary):
        wh = Warehouse(settings.warehouse)
        wh.init()
        sources = select_sources(settings, source)
        with crawl_locks(wh, new_run_id("crawl"), settings.crawl.lock_wait), _warc_out(warc_out) as warc:
            futures = [crawl_source_task.submit(wh, settings, s, warc) for s in sources]
            results = [f.result() for f in futures]
    final = summarize(results, summary.seconds, warc_out, settings.warehouse)
    return final.to_dict()


def register(app: typer.Typer) -> None:
    @app.command("crawl")
    def crawl_command(
        source: Annotated[str | None, typer.Option("--source", "-s", help="Crawl only this source.")] = None,
        warc_out: Annotated[
            Path | None, typer.Option("--warc-out", help="Also write every fetched page to this WARC file (.gz ok).")
        ] = None,
    ) -> None:
        """Fetch the configured sources into the pages table: robots.txt obeyed, per-host delay,
        conditional re-crawl (ETag / Last-Modified), resumable after a kill."""
        global PROGRESS_HOOK
        from corpusforge.flows.cli import State, console

        settings = State.settings()
        select_sources(settings, source)  # a wrong --source fails before anything starts
        per_source: dict[str, tuple[int, int]] = {}
        lock = threading.Lock()
        with progress_bar() as bar:
            bar_task = bar.add_task("crawl", total=None)

            def hook(name: str, done: int, discovered: int) -> None:
                with lock:
                    per_source[name] = (done, discovered)
                    total_done = sum(d for d, _ in per_source.values())
                    total = sum(t for _, t in per_source.values())
                bar.update(bar_task, completed=total_done, total=total)

            PROGRESS_HOOK = hook
            try:
                result = crawl_flow(settings, source, str(warc_out) if warc_out else None)
            finally:
                PROGRESS_HOOK = None
        summary = StageSummary(
            result["stage"], result["counts"], Counter(result["drops"]), result["seconds"],
            result["outputs"], result["notes"],
        )  # fmt: skip
        summary.print(console)
