"""The source kinds, as plain generators the crawler drives.

URL sources (`site`, `sitemap`, `feed`) are async generators of `Seed`s (URLs to fetch) that may
also yield `Failure`s (a sitemap or feed that could not be read: recorded, never dropped).
Record sources (`warc`, `files`) are sync generators of `Record`s: responses that already exist
and only need to become pages rows, and of `RecordFailure`s for what could not be read (a missing
folder, a file whose real path leaves the folder, a FIFO): a row with a reason, never an exception
that would sink the other sources.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from corpusforge.connectors.fetcher import Fetcher, Response
from corpusforge.processing.urls import normalize_url
from corpusforge.schemas.config import SourceConfig

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for an uncompressed sitemap
MAX_SITEMAP_NESTING = 3
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


@dataclass(frozen=True)
class Seed:
    url: str
    depth: int = 0


@dataclass(frozen=True)
class Failure:
    """A URL the source needed (sitemap, feed) that could not be used."""

    url: str
    response: Response
    reason: str


@dataclass
class Record:
    """An existing response (from a WARC or a local file)."""

    url: str
    body: bytes
    fetched_at: datetime
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    final_url: str | None = None


@dataclass(frozen=True)
class RecordFailure:
    """Something a record source met and could not turn into a record: becomes a pages row."""

    url: str
    error: str  # "reason_code: message"
    fetch_status: str = "failed"  # or "skipped" (refused on purpose: outside the folder, not a file)


# -- XML: sitemaps and feeds (entities never resolved, nothing fetched by the parser) ---------------
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


def _xml_root(body: bytes):
    if body[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as fh:
            body = fh.read(MAX_SITEMAP_BYTES + 1)[:MAX_SITEMAP_BYTES]
    try:
        return etree.fromstring(body.lstrip(), _XML_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


def parse_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, child sitemap URLs) of a sitemap or sitemap index, plain or gzipped."""
    root = _xml_root(body)
    if root is None:
        return [], []
    locs = [s.strip() for s in root.xpath("//*[local-name()='loc']/text()")]
    if etree.QName(root).localname == "sitemapindex":
        return [], locs
    return locs, []


def parse_feed(body: bytes) -> list[str]:
    """Entry links of an RSS 2.0 or Atom feed, in feed order."""
    root = _xml_root(body)
    if root is None:
        return []
    links = [s.strip() for s in root.xpath("//*[local-name()='item']/*[local-name()='link']/text()")]
    links += root.xpath("//*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href")
    return [str(link).strip() for link in links if str(link).strip()]


async def site_seeds(source: SourceConfig, fetcher: Fetcher) -> AsyncIterator[Seed | Failure]:
    yield Seed(normalize_url(source.url) or source.url, 0)


async def _read_xml(url: str, fetcher: Fetcher, what: str) -> bytes | Failure:
    resp = await fetcher.fetch(url, html_only=False)
    if resp.status != 200 or resp.body is None:
        reason = resp.error or f"{what}_unavailable: HTTP {resp.status}"
        return Failure(url, resp, reason)
    return resp.body


async def sitemap_seeds(
    source: SourceConfig, fetcher: Fetcher, robots_sitemaps: list[str]
) -> AsyncIterator[Seed | Failure]:
    """Page URLs of the source's sitemap (index, gzipped or not). A source URL that is a site root
    or robots.txt means: every sitemap that robots.txt names."""
    path = urlsplit(source.url).path
    pending = list(robots_sitemaps) if path in ("", "/", "/robots.txt") else [source.url]
    seen: set[str] = set()
    level = 0
    while pending and level <= MAX_SITEMAP_NESTING:
        children: list[str] = []
        for sitemap_url in pending:
            url = normalize_url(sitemap_url)
            if url is None or url in seen:
                continue
            seen.add(url)
            body = await _read_xml(url, fetcher, "sitemap")
            if isinstance(body, Failure):
                yield body
                continue
            pages, nested = parse_sitemap(body)
            children.extend(nested)
            for page in pages:
                yield Seed(page, 0)
        pending, level = children, level + 1


async def feed_seeds(source: SourceConfig, fetcher: Fetcher) -> AsyncIterator[Seed | Failure]:
    url = normalize_url(source.url) or source.url
    body = await _read_xml(url, fetcher, "feed")
    if isinstance(body, Failure):
        yield body
        return
    for link in parse_feed(body):
        yield Seed(link, 0)


_SPECIAL_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"))  # fmt: skip


def _special_kind(mode: int) -> str | None:
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), None)


def file_records(folder: str | os.PathLike) -> Iterator[Record | RecordFailure]:
    """Every HTML file under `folder`, as a record whose URL is its file:// URI.

    Nothing outside the folder is read: a symlink (or a link in a path) whose real path leaves it
    becomes an `outside_root` row, and FIFOs, sockets and devices a `not_a_file` row (reading a
    FIFO would block forever). Each real file is read once, whatever links point to it."""
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        yield RecordFailure(root.as_uri(), f"source_unreadable: files source folder {root} does not exist")
        return
    seen: set[Path] = set()
    for path in _walk(root):
        item = _file_record(root, path, seen)
        if item is not None:
            yield item


def _walk(root: Path) -> Iterator[Path]:
    """Every entry under root, sorted, without following links to folders (no loops, no escapes)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        linked_dirs = [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted(filenames + linked_dirs):
            yield here / name


def _file_record(root: Path, path: Path, seen: set[Path]) -> Record | RecordFailure | None:
    uri = path.absolute().as_uri()
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(root):
        return RecordFailure(uri, f"outside_root: {path.relative_to(root)} leads to {real}, outside {root}", "skipped")
    if path.suffix.lower() not in HTML_SUFFIXES or real in seen:
        return None
    seen.add(real)
    try:
        body, modified = _read_regular_file(real)
    except _NotAFile as exc:
        return RecordFailure(uri, f"not_a_file: {path.relative_to(root)} is {exc}", "skipped")
    except OSError as exc:
        return RecordFailure(uri, f"unreadable: {path.relative_to(root)}: {exc.strerror or exc}")
    return Record(
        url=real.as_uri(),
        body=body,
        fetched_at=datetime.now(UTC),
        headers={"content-type": "text/html", "last-modified": format_datetime(modified, usegmt=True)},
    )


class _NotAFile(Exception):
    pass


def _read_regular_file(path: Path) -> tuple[bytes, datetime]:
    """Open without blocking and without following a link swapped in since the check, then make
    sure what was opened is a regular file before reading it."""
    kind = _special_kind(os.stat(path).st_mode)  # sockets cannot even be opened: ask first
    if kind:
        raise _NotAFile(kind)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        kind = _special_kind(st.st_mode)
        if kind or not stat.S_ISREG(st.st_mode):
            raise _NotAFile(kind or "not a regular file")
        return fh.read(), datetime.fromtimestamp(st.st_mtime, tz=UTC)
