"""WARC in and out (warcio): the format web archives and Common Crawl use.

Reading keeps only HTML responses; writing stores each fetched body as a `response` record with
its HTTP status line and headers, so another crawler or a replay tool can read our crawl.
"""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from corpusforge.processing.urls import is_html_content_type

# The body we hold is already decoded, so headers describing the wire encoding would lie.
_WIRE_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection", "keep-alive"}


def _warc_date(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def iter_warc_responses(stream: BinaryIO) -> Iterator[dict]:
    """HTML `response` records of a WARC stream (gzipped or not), with the payload decoded.

    Yields {url, status, headers, body, fetched_at}. Other record types, non-HTML responses and
    records without HTTP headers are passed over.
    """
    for record in ArchiveIterator(stream):
        if record.rec_type != "response" or record.http_headers is None:
            continue
        headers = {k.lower(): v for k, v in record.http_headers.headers}
        if not is_html_content_type(headers.get("content-type")):
            continue
        yield {
            "url": record.rec_headers.get_header("WARC-Target-URI"),
            "status": int(record.http_headers.get_statuscode() or 0) or None,
            "headers": headers,
            "body": record.content_stream().read(),
            "fetched_at": _warc_date(record.rec_headers.get_header("WARC-Date")),
        }


class WarcOut:
    """A WARC file being written; thread-safe, so sources crawled in parallel can share it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._writer = WARCWriter(self._fh, gzip=self.path.suffix == ".gz")
        self._lock = threading.Lock()
        self.records = 0

    def write_response(
        self, url: str, status: int, headers: dict[str, str], body: bytes, fetched_at: datetime, truncated: bool
    ) -> None:
        kept = [(k, v) for k, v in headers.items() if k.lower() not in _WIRE_HEADERS]
        kept.append(("Content-Length", str(len(body))))
        http_headers = StatusAndHeaders(f"{status} {_reason(status)}", kept, protocol="HTTP/1.1")
        warc_headers = {"WARC-Date": fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if truncated:
            warc_headers["WARC-Truncated"] = "length"
        record = self._writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=http_headers, warc_headers_dict=warc_headers
        )
        with self._lock:
            self._writer.write_record(record)
            self.records += 1

    def append_part(self, part: Path, records: int) -> None:
        """Move the records of a WARC written elsewhere (a crawl worker process) into this one, and
        remove it: WARC records concatenate, gzipped one by one or not."""
        with self._lock, open(part, "rb") as fh:
            shutil.copyfileobj(fh, self._fh)
            self.records += records
        part.unlink()

    def close(self) -> None:
        with self._lock:
            self._fh.close()

    def __enter__(self) -> WarcOut:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
