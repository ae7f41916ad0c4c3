"""The source kinds, as plain generators the crawler drives.

URL sources (`site`, `sitemap`, `feed`) are async generators of `Seed`s (URLs to fetch) that may
also yield `Failure`s (a sitemap or feed that could not be read: recorded, never dropped).
Record sources (`warc`, `files`) are sync generators of `Record`s: responses that already exist
and only need to become pages rows.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from corpusforge.connectors.fetcher import Fetcher, Response
from corpusforge.processing.urls import normalize_url

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
    links += root.xpath(
        "//*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href"
    )
    return [str(link).strip() for link in links if str(link).strip()]


async def site_seeds(source: Any, fetcher: Fetcher) -> AsyncIterator[Seed | Failure]:
    yield Seed(normalize_url(source.url) or source.url, 0)


async def _read_xml(url: str, fetcher: Fetcher, what: str) -> bytes | Failure:
    resp = await fetcher.fetch(url, html_only=False)
    if resp.status != 200 or resp.body is None:
        reason = resp.error or f"{what}_unavailable: HTTP {resp.status}"
        return Failure(url, resp, reason)
    return resp.body


async def sitemap_seeds(source: Any, fetcher: Fetcher, robots_sitemaps: list[str]) -> AsyncIterator[Seed | Failure]:
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


async def feed_seeds(source: Any, fetcher: Fetcher) -> AsyncIterator[Seed | Failure]:
    url = normalize_url(source.url) or source.url
    body = await _read_xml(url, fetcher, "feed")
    if isinstance(body, Failure):
        yield body
        return
    for link in parse_feed(body):
        yield Seed(link, 0)


def file_records(folder: str | os.PathLike) -> Iterator[Record]:
    """Every HTML file under `folder`, as a record whose URL is its file:// URI."""
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"files source folder {root} does not exist")
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in HTML_SUFFIXES):
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
        yield Record(
            url=path.as_uri(),
            body=path.read_bytes(),
            fetched_at=datetime.now(UTC),
            headers={"content-type": "text/html", "last-modified": format_datetime(modified, usegmt=True)},
        )
