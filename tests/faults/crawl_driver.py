"""The crawl of every configured source through the connectors and warehouse API, with the
graceful-stop wiring (`crawl_locks` -> guard, `guard.working()`, `stop=guard.stop`): the shape
flows/crawl.py's crawl_source takes once wired. The fault tests run it in a subprocess (to send it
SIGTERM or SIGKILL): `python -m tests.faults.crawl_driver corpusforge.yaml`."""

from __future__ import annotations

import asyncio
import sys

from corpusforge.connectors.crawler import RECORD_KINDS, CrawlJob, CrawlStopped, crawl_urls, ingest_records
from corpusforge.connectors.fetcher import FetchPolicy
from corpusforge.connectors.records import source_records
from corpusforge.schemas.config import Settings, SourceConfig, load_settings
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


def policy_of(settings: Settings, source: SourceConfig) -> FetchPolicy:
    c = settings.crawl
    return FetchPolicy(user_agent=c.user_agent, delay=c.delay if source.delay is None else source.delay,
                       concurrency_per_host=source.concurrency or c.concurrency_per_host, concurrency=c.concurrency,
                       timeout=c.timeout, retries=c.retries, backoff=c.backoff, max_redirects=c.max_redirects,
                       max_body_bytes=c.max_body_bytes, obey_robots=c.obey_robots,
                       allow_private_network=source.allow_private_network)  # fmt: skip


def crawl_one(wh: Warehouse, settings: Settings, source: SourceConfig, stop) -> dict:
    resumed = interrupted_run(wh, source.name)
    run_id = resumed or new_run_id("crawl")
    if resumed is None:
        mark_run(wh, run_id, source.name, "started")
    job = CrawlJob(source, run_id, load_crawl_state(wh, source.name),
                   load_links(wh, source.name) if source.kind == "site" else {},
                   urls_done_in_run(wh, source.name, resumed) if resumed else {})  # fmt: skip
    policy = policy_of(settings, source)
    with PageBatchWriter(wh, run_id, settings.crawl.flush_rows, settings.crawl.flush_seconds) as sink:

        def emit(outcome) -> None:
            sink.add(outcome.page, outcome.links, outcome.tombstone)

        if source.kind in RECORD_KINDS:
            report = ingest_records(job, source_records(source, policy), emit, stop=stop)
        else:
            report = asyncio.run(crawl_urls(job, policy, emit, stop=stop))
    mark_run(wh, run_id, source.name, "completed", dict(report.counts))
    return {"source": source.name, "run_id": run_id, "counts": dict(report.counts)}


def crawl_all(settings: Settings) -> list[dict]:
    wh = Warehouse(settings.warehouse)
    wh.init()
    results = []
    with crawl_locks(wh, new_run_id("crawl"), settings.crawl.lock_wait) as guard:
        for source in settings.sources:
            with guard.working():
                results.append(crawl_one(wh, settings, source, guard.stop))
    return results


def main(argv: list[str]) -> int:
    try:
        for result in crawl_all(load_settings(argv[0])):
            print(result, flush=True)
    except CrawlStopped as exc:
        print(f"stopped: {exc}", file=sys.stderr, flush=True)
        return 143
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
