"""The crawler: drives a source's generator, fetches politely, and turns every attempt into a
pages row (an `Outcome`), handed to `emit` as soon as it exists.

It holds no storage: the caller passes in what the warehouse knows (crawl state, links of known
pages, URLs an interrupted run already did) and writes what comes out. Every URL the crawl meets
ends as exactly one row: fetched, not_modified, unchanged, failed, skipped or gone, with a
stable reason code in `error` (`robots_disallowed: ...`, `private_address: ...`, `http_500: ...`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from corpusforge.connectors.crawl_model import (  # noqa: F401 - re-exported: the crawl's public names
    GOOD_STATUSES,
    RECORD_KINDS,
    STOP_POLL_SECONDS,
    URL_KINDS,
    CrawlJob,
    CrawlReport,
    CrawlStopped,
    Emit,
    Outcome,
    Progress,
    StopSignal,
    _judge_body,
    _page_row,
    _prior_body,
    _stop_message,
    reason_code,
)
from corpusforge.connectors.fetcher import AddressRefused, Fetcher, FetchPolicy, PrivateAddressError, Response
from corpusforge.connectors.records import (  # noqa: F401 - re-exported for the crawl flow
    UnreadableSource,
    ingest_records,
    open_warc,
    record_source_records,
    source_records,
    warc_records,
)
from corpusforge.connectors.robots import RobotsCache
from corpusforge.connectors.sources import Failure, Seed, feed_seeds, site_seeds, sitemap_seeds
from corpusforge.connectors.warc import WarcOut
from corpusforge.processing.ids import doc_id_for
from corpusforge.processing.urls import Scope, extract_links, normalize_url


@dataclass(frozen=True)
class _Item:
    url: str
    depth: int
    chain: tuple[str, ...] = ()  # URLs that redirected here, in order


class _UrlCrawl:
    def __init__(self, job: CrawlJob, policy: FetchPolicy, emit: Emit, progress: Progress | None,
                 warc: WarcOut | None, transport: httpx.AsyncBaseTransport | None, stop: StopSignal | None = None,
                 resolver=None):  # fmt: skip
        self.job, self.policy, self._emit, self.progress, self.warc = job, policy, emit, progress, warc
        self.transport, self.stop, self.resolver = transport, stop, resolver
        self.in_flight: dict[str, _Item] = {}
        self.ended_by: str | None = None  # "stop" or "deadline" when the crawl did not run to its end
        src = job.source
        self.scope = Scope.for_start(normalize_url(src.url) or src.url, src.include, src.exclude)
        self.follow = follows_links(src)
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.seen: set[str] = set()
        self.report = CrawlReport()
        self.done_count = 0
        self.robots: RobotsCache | None = None
        self.fetcher: Fetcher | None = None
        self._delay_applied: set[str] = set()

    # -- frontier ---------------------------------------------------------------------------------
    def emit(self, outcome: Outcome) -> None:
        self.report.record(outcome.page)
        self._emit(outcome)

    def _skip(self, url: str, depth: int, error: str) -> None:
        self.emit(Outcome(_page_row(self.job, url, datetime.now(UTC), "skipped", error=error, depth=depth)))

    def enqueue(self, raw_url: str, depth: int, chain: tuple[str, ...] = (), record_refusal: bool = False,
                normalized: bool = False) -> None:  # fmt: skip
        if raw_url in self.seen:  # most links of a page were met before: no normalising again
            return
        url = raw_url if normalized else normalize_url(raw_url)
        if url is None:
            if record_refusal:
                self._skip(raw_url, depth, "invalid_url: not an http(s) URL")
            return
        if url in self.seen:
            return
        out_of_scope = self.scope.reason_out_of_scope(url)
        if out_of_scope:
            if record_refusal:
                self.seen.add(url)
                self._skip(url, depth, f"{out_of_scope}: not in the source's scope")
            return
        if len(self.seen) >= self.job.source.max_pages:
            return
        self.seen.add(url)
        self.queue.put_nowait(_Item(url, depth, chain))
        self._tick()

    def _tick(self) -> None:
        if self.progress:
            self.progress(self.done_count, len(self.seen))

    def follow_links(self, item: _Item, links: Iterable[str] | None) -> None:
        if self.follow and links and item.depth < self.job.source.max_depth:
            for link in links:  # normalised by extract_links (now or when the links were stored)
                self.enqueue(link, item.depth + 1, normalized=True)

    # -- run --------------------------------------------------------------------------------------
    async def run(self) -> CrawlReport:
        async with Fetcher(self.policy, self.transport, self.resolver) as fetcher:
            self.fetcher = fetcher
            self.robots = RobotsCache(fetcher.fetch_text, self.policy.user_agent)
            workers = [asyncio.create_task(self._worker()) for _ in range(self.policy.concurrency)]
            feeding = asyncio.create_task(self._feed())
            try:
                await self._until_done_or_stopped(feeding)
            finally:
                for t in (feeding, *workers):
                    t.cancel()
                await asyncio.gather(feeding, *workers, return_exceptions=True)
        if self.ended_by == "deadline":
            self._record_deadline()
        elif self.ended_by == "stop":
            raise CrawlStopped(_stop_message(self.job, self.stop))
        return self.report

    async def _feed(self) -> None:
        async for seed in self._seeds():
            if isinstance(seed, Failure):
                self._record_failure(seed)
            else:
                self.enqueue(seed.url, seed.depth, record_refusal=True)
        await self.queue.join()

    async def _until_done_or_stopped(self, feeding: asyncio.Task) -> None:
        """Wait for the crawl to finish, a stop request, or the source's deadline (whichever first);
        a stalled fetch cannot delay either, since the in-flight tasks are cancelled after this."""
        deadline = self.job.source.deadline
        ends_at = time.monotonic() + deadline if deadline else None
        while True:
            done, _ = await asyncio.wait({feeding}, timeout=STOP_POLL_SECONDS)
            if done:
                feeding.result()  # a bug in the feeding raises here, as it did before
                return
            if self.stop is not None and self.stop.is_set():
                self.ended_by = "stop"
                return
            if ends_at is not None and time.monotonic() >= ends_at:
                self.ended_by = "deadline"
                return

    def _record_deadline(self) -> None:
        """Every URL that was fetching or waiting when the source ran out of time gets its row."""
        error = f"source_timeout: source '{self.job.source.name}' reached its deadline of {self.job.source.deadline:g}s"
        pending = list(self.in_flight.values())
        while not self.queue.empty():
            pending.append(self.queue.get_nowait())
        for item in pending:
            self.emit(Outcome(_page_row(self.job, item.url, datetime.now(UTC), "failed", depth=item.depth,
                                        error=error)))  # fmt: skip

    def _seeds(self) -> AsyncIterator[Seed | Failure]:
        kind = self.job.source.kind
        if kind == "site":
            return site_seeds(self.job.source, self.fetcher)
        if kind == "feed":
            return feed_seeds(self.job.source, self.fetcher)
        return self._sitemap_seeds()

    async def _sitemap_seeds(self) -> AsyncIterator[Seed | Failure]:
        named = await self.robots.sitemaps(self.job.source.url)
        async for seed in sitemap_seeds(self.job.source, self.fetcher, named):
            yield seed

    def _record_failure(self, failure: Failure) -> None:
        resp = failure.response
        self.emit(Outcome(_page_row(self.job, failure.url, datetime.now(UTC), "failed", status=resp.status,
                                    content_type=resp.content_type, error=failure.reason)))  # fmt: skip

    async def _worker(self) -> None:
        while True:
            item = await self.queue.get()
            self.in_flight[item.url] = item
            try:
                await self._process(item)
            except Exception as exc:  # a bug or an odd page must cost one row, not the crawl
                self.emit(Outcome(_page_row(self.job, item.url, datetime.now(UTC), "failed", depth=item.depth,
                                            error=f"crawler_error: {type(exc).__name__}: {exc}")))  # fmt: skip
            finally:  # a cancelled item (CancelledError) stays in in_flight: it has no row yet
                if not asyncio.current_task().cancelling():
                    self.in_flight.pop(item.url, None)
                self.done_count += 1
                self._tick()
                self.queue.task_done()

    # -- one URL ----------------------------------------------------------------------------------
    async def _robots_allow(self, url: str) -> bool:
        if not self.policy.obey_robots:
            return True
        host_rules = await self.robots.for_url(url)
        host = url.split("/", 3)[2]
        if host not in self._delay_applied:
            self._delay_applied.add(host)
            delay = host_rules.rules.crawl_delay(self.policy.user_agent)
            if delay is not None:
                self.fetcher.set_host_delay(url, float(delay))
        return host_rules.rules.can_fetch(url, self.policy.user_agent)

    async def _process(self, item: _Item) -> None:
        url = item.url
        if url in self.job.done:  # the interrupted run has its row; only its links are needed
            self.report.counts["resumed"] += 1
            self._resume(item, self.job.done[url])
            return
        try:  # before robots.txt: a refused host gets no request at all
            await self.fetcher.check_address(url)
        except AddressRefused as exc:
            if isinstance(exc, PrivateAddressError):
                self._skip(url, item.depth, f"{exc.code}: {exc}")
            else:
                self.emit(Outcome(_page_row(self.job, url, datetime.now(UTC), "failed", depth=item.depth,
                                            error=f"{exc.code}: {exc}")))  # fmt: skip
            return
        if not await self._robots_allow(url):
            self._skip(url, item.depth, f"robots_disallowed: robots.txt forbids {self.policy.user_agent}")
            return
        prior = _prior_body(self.job.state.get(url))
        headers = {}
        if prior and prior.get("etag"):
            headers["If-None-Match"] = prior["etag"]
        if prior and prior.get("last_modified"):
            headers["If-Modified-Since"] = prior["last_modified"]
        resp = await self.fetcher.fetch(url, headers)
        self._judge_response(item, resp, prior)

    def _resume(self, item: _Item, done: dict) -> None:
        """Go on from a row the interrupted run wrote: follow its links, or its redirect (a target
        reached only through the redirect would otherwise never be crawled: found by kill -9 tests)."""
        target = done.get("final_url")
        if done.get("fetch_status") == "skipped" and target and target != item.url:
            self.enqueue(target, item.depth, (*item.chain, item.url), record_refusal=True)
        else:
            self.follow_links(item, self.job.known_links.get(item.url))

    def _row(self, item: _Item, resp: Response, fetch_status: str, **values: Any) -> dict:
        base = {
            "final_url": item.url,
            "status": resp.status,
            "content_type": resp.content_type,
            "etag": resp.headers.get("etag"),
            "last_modified": resp.headers.get("last-modified"),
            "depth": item.depth,
            "redirects": list(item.chain) or None,
            "elapsed_ms": resp.elapsed_ms,
        }
        base.update(values)
        return _page_row(self.job, item.url, datetime.now(UTC), fetch_status, **base)

    def _judge_response(self, item: _Item, resp: Response, prior: dict | None) -> None:
        status = resp.status
        if resp.error:
            kind = "skipped" if resp.error.startswith("private_address") else "failed"
            self.emit(Outcome(self._row(item, resp, kind, error=resp.error)))
        elif status in (301, 302, 303, 307, 308) and resp.location:
            self._redirect(item, resp)
        elif status == 304 and prior:
            row = self._row(item, resp, "not_modified", body_sha256=prior["body_sha256"],
                            etag=resp.headers.get("etag") or prior.get("etag"),
                            last_modified=resp.headers.get("last-modified") or prior.get("last_modified"))  # fmt: skip
            self.emit(Outcome(row))
            self.follow_links(item, self.job.known_links.get(item.url))
        elif status == 200 and resp.body is None:
            self.emit(Outcome(self._row(item, resp, "skipped", error=f"content_type: {resp.content_type} is not HTML")))
        elif status == 200:
            self._body(item, resp)
        elif status in (404, 410) and self.job.state.get(item.url, {}).get("body_sha256"):
            self._gone(item, resp)
        else:
            error = f"http_{status}: after {resp.attempts} attempt(s)"
            self.emit(Outcome(self._row(item, resp, "failed", error=error)))

    def _body(self, item: _Item, resp: Response) -> None:
        fetch_status, sha = _judge_body(self.job, item.url, resp.body)
        links = extract_links(resp.body, item.url) if self.follow else None
        values = {"body_sha256": sha, "content_length": len(resp.body), "truncated": resp.truncated}
        if fetch_status == "fetched":
            values["body"] = resp.body
            if self.warc is not None:
                self.warc.write_response(item.url, resp.status, resp.headers, resp.body, datetime.now(UTC),
                                         resp.truncated)  # fmt: skip
        # Unchanged bodies keep their stored links unless none were stored yet.
        store_links = links if fetch_status == "fetched" or item.url not in self.job.known_links else None
        self.emit(Outcome(self._row(item, resp, fetch_status, **values), links=store_links))
        self.follow_links(item, links)

    def _gone(self, item: _Item, resp: Response) -> None:
        already_gone = self.job.state[item.url].get("fetch_status") == "gone"
        row = self._row(item, resp, "gone", error=f"http_{resp.status}: the page was removed at the source")
        tombstone = None
        if not already_gone:
            tombstone = {"doc_id": doc_id_for(item.url), "url": item.url, "source": self.job.source.name,
                         "reason": f"http_{resp.status}", "status": resp.status, "created_at": row["fetched_at"],
                         "run_id": self.job.run_id}  # fmt: skip
        self.emit(Outcome(row, tombstone=tombstone))

    def _redirect(self, item: _Item, resp: Response) -> None:
        """A redirect is a row of its own; the target is crawled as a URL of its own (robots, scope,
        address checks), carrying the chain so that loops and overlong chains are caught."""
        target = normalize_url(resp.location, item.url)
        chain = (*item.chain, item.url)
        if target is None:
            error = f"bad_redirect: Location {resp.location!r} is not an http(s) URL"
            self.emit(Outcome(self._row(item, resp, "failed", error=error)))
        elif target in chain:
            error = f"redirect_loop: {' -> '.join((*chain, target))}"
            self.emit(Outcome(self._row(item, resp, "failed", final_url=target, error=error)))
        elif len(chain) > self.policy.max_redirects:
            error = f"too_many_redirects: more than {self.policy.max_redirects}"
            self.emit(Outcome(self._row(item, resp, "failed", final_url=target, error=error)))
        else:
            row = self._row(item, resp, "skipped", final_url=target, error=f"redirect: {resp.status} to {target}")
            self.emit(Outcome(row))
            self.enqueue(target, item.depth, chain, record_refusal=True)


async def crawl_urls(job: CrawlJob, policy: FetchPolicy, emit: Emit, progress: Progress | None = None,
                     warc: WarcOut | None = None, transport: httpx.AsyncBaseTransport | None = None,
                     stop: StopSignal | None = None, resolver=None) -> CrawlReport:  # fmt: skip
    """Crawl a site, sitemap or feed source; every outcome goes to `emit` as soon as it exists.

    When `stop` is set, fetches in flight are cancelled (they get no row, so a resumed run fetches
    them) and CrawlStopped is raised within about STOP_POLL_SECONDS."""
    if job.source.kind not in URL_KINDS:
        raise ValueError(f"crawl_urls handles {', '.join(URL_KINDS)} sources, not {job.source.kind!r}")
    return await _UrlCrawl(job, policy, emit, progress, warc, transport, stop, resolver).run()


def read_source(job: CrawlJob, policy: FetchPolicy, emit: Emit, progress: Progress | None = None,
                warc: WarcOut | None = None, stop: StopSignal | None = None) -> CrawlReport:  # fmt: skip
    """Read one source, whatever its kind: a site, sitemap or feed fetched politely over HTTP, or
    the records of a WARC file or a local folder. The crawl stage's one entry into connectors:
    it never picks a reader by `source.kind` itself."""
    source = job.source
    if source.kind in RECORD_KINDS:
        with open_warc(source, policy) if source.kind == "warc" else contextlib.nullcontext() as stream:
            return ingest_records(job, record_source_records(source, stream), emit, warc, progress, stop=stop)
    return asyncio.run(crawl_urls(job, policy, emit, progress, warc, stop=stop))


def follows_links(source) -> bool:
    """Whether a source's crawl follows the links it finds (a site), so it needs the links the
    last crawl stored."""
    return source.kind == "site"
