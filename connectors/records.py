"""Record sources (WARC files, local folders) into pages rows: responses that already exist.

Whatever cannot be read (a missing folder or WARC, a refused download, a corrupt record) becomes
a row named by the source, never an exception that would sink the other sources of the crawl.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import httpx

from corpusforge.connectors.crawl_model import (
    CrawlJob,
    CrawlReport,
    CrawlStopped,
    Emit,
    Outcome,
    Progress,
    StopSignal,
    _judge_body,
    _page_row,
    _stop_message,
)
from corpusforge.connectors.fetcher import AddressRefused, Fetcher, FetchPolicy
from corpusforge.connectors.sources import Record, RecordFailure, file_records
from corpusforge.connectors.warc import WarcOut, iter_warc_responses
from corpusforge.processing.urls import normalize_url
from corpusforge.schemas.config import SourceConfig


def ingest_records(job: CrawlJob, records: Iterable[Record | RecordFailure], emit: Emit, warc: WarcOut | None = None,
                   progress: Progress | None = None, stop: StopSignal | None = None) -> CrawlReport:  # fmt: skip
    """Turn existing responses (WARC records, local files) into pages rows, unchanged ones without
    body; a RecordFailure becomes a row with its reason. Raises CrawlStopped when `stop` is set."""
    report = CrawlReport()
    for n, rec in enumerate(records, start=1):
        if stop is not None and stop.is_set():
            raise CrawlStopped(_stop_message(job, stop))
        row = _failure_row(job, rec) if isinstance(rec, RecordFailure) else _record_row(job, rec, report, warc)
        if row is None:
            continue
        report.record(row)
        emit(Outcome(row))
        if progress:
            progress(n, n)
    return report


def _failure_row(job: CrawlJob, failure: RecordFailure) -> dict:
    return _page_row(job, failure.url, datetime.now(UTC), failure.fetch_status, error=failure.error, depth=0)


def _record_row(job: CrawlJob, rec: Record, report: CrawlReport, warc: WarcOut | None) -> dict | None:
    url = normalize_url(rec.url) or rec.url  # file:// URIs stay as they are
    if url in job.done:
        report.counts["resumed"] += 1
        return None
    fetch_status, sha = _judge_body(job, url, rec.body)
    row = _page_row(job, url, rec.fetched_at, fetch_status, final_url=rec.final_url or url, status=rec.status,
                    content_type=rec.headers.get("content-type"), etag=rec.headers.get("etag"),
                    last_modified=rec.headers.get("last-modified"), content_length=len(rec.body),
                    body=rec.body if fetch_status == "fetched" else None, body_sha256=sha, truncated=False,
                    depth=0)  # fmt: skip
    if fetch_status == "fetched" and warc is not None:
        warc.write_response(url, rec.status, rec.headers, rec.body, rec.fetched_at, False)
    return row


def warc_records(stream: BinaryIO, where: str = "WARC") -> Iterator[Record | RecordFailure]:
    """HTML 200 responses of a WARC; a record that cannot be read ends the file with a row naming it
    (the records before it are kept)."""
    n = 0
    try:
        for n, r in enumerate(iter_warc_responses(stream), start=1):  # noqa: B007 - n is read after the loop
            if r["status"] == 200 and r["url"]:
                yield Record(url=r["url"], body=r["body"], fetched_at=r["fetched_at"], status=200,
                             headers=r["headers"])  # fmt: skip
    except Exception as exc:  # warcio raises many kinds (ArchiveLoadFailed, ValueError, zlib.error, ...)
        yield RecordFailure(where, f"warc_unreadable: {where}: after {n} response(s): {type(exc).__name__}: {exc}")


class UnreadableSource:
    """Stands in for a source's stream that could not be opened, so that record_source_records
    turns it into a failure row named by the source instead of an exception."""

    def __init__(self, where: str, error: str):
        self.where, self.error = where, error


def _source_where(source: SourceConfig) -> str:
    return str(source.path or source.url)


@contextlib.contextmanager
def open_warc(source: SourceConfig, policy: FetchPolicy) -> Iterator[BinaryIO | UnreadableSource]:
    """The source's WARC as a binary stream: its local path, or its URL downloaded to a temp file
    (through the same address checks as any fetch). A WARC that cannot be opened or downloaded
    yields an UnreadableSource, never raises: one bad source must not sink the others."""
    where = _source_where(source)
    if source.path:
        try:
            fh = open(source.path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            yield UnreadableSource(where, f"source_unreadable: warc source '{source.name}': {exc.strerror}: {where}")
            return
        with fh:
            yield fh
        return
    with tempfile.TemporaryFile() as tmp:
        try:
            asyncio.run(_download(source.url, policy, tmp, source.deadline))
        except TimeoutError:
            error = f"source_timeout: warc source '{source.name}': download not done within {source.deadline:g}s"
            yield UnreadableSource(where, error)
            return
        except (OSError, httpx.HTTPError, AddressRefused) as exc:
            yield UnreadableSource(where, f"source_unreadable: warc source '{source.name}': {exc}")
            return
        tmp.seek(0)
        yield tmp


async def _download(url: str, policy: FetchPolicy, out: BinaryIO, deadline: float | None = None) -> None:
    """Stream the WARC to `out`; the source's deadline, when set, bounds the whole download (a
    WARC can be far larger than a page, so the per-request timeout does not apply)."""
    async with asyncio.timeout(deadline), Fetcher(policy) as fetcher:
        await fetcher.check_address(url)
        async with fetcher.client.stream("GET", url) as r:
            if r.status_code != 200:
                raise OSError(f"WARC download {url} answered HTTP {r.status_code}")
            async for chunk in r.aiter_raw():
                out.write(chunk)


def record_source_records(source: SourceConfig, stream: BinaryIO | UnreadableSource | None = None):
    """The records of a files or WARC source (`stream` from open_warc for WARC)."""
    if source.kind == "files":
        return file_records(source.path)
    if isinstance(stream, UnreadableSource):
        return iter([RecordFailure(stream.where, stream.error)])
    return warc_records(stream, _source_where(source))


def source_records(source: SourceConfig, policy: FetchPolicy) -> Iterator[Record | RecordFailure]:
    """The records of a files or WARC source, opening (and closing) the WARC itself."""
    if source.kind == "files":
        yield from file_records(source.path)
        return
    with open_warc(source, policy) as stream:
        yield from record_source_records(source, stream)
