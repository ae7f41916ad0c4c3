"""URL normalisation, crawl scope and link extraction: pure functions, strings and bytes in and out.

A crawler that fetches `http://Host/a?b=1&a=2#top` and `http://host/a?a=2&b=1` twice wastes the
site's bandwidth and stores the same document under two ids; `normalize_url` maps both to one
string (courlan: lowercase scheme and host, default port dropped, query sorted, tracking
parameters removed) and drops the fragment, which never reaches the server.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

import courlan
from lxml import etree

HTML_CONTENT_TYPES = ("text/html", "application/xhtml+xml")
# Links to these are never pages; skipping them saves a request that would end as `content_type`.
_NON_PAGE_SUFFIXES = (
    ".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".woff", ".woff2", ".ttf",
    ".mp3", ".mp4", ".avi", ".mov", ".zip", ".gz", ".tar", ".exe", ".dmg",
)  # fmt: skip


def normalize_url(url: str, base: str | None = None) -> str | None:
    """The canonical string of an http(s) URL (resolved against `base`), or None when it is not one."""
    url = url.strip()
    if not url:
        return None
    if base is not None:
        url = urljoin(base, url)
    return _canonical(url)


# A site's pages link to the same URLs over and over (menus, footers): normalising each once saves
# most of a crawler's time on links.
@functools.lru_cache(maxsize=1 << 16)
def _canonical(url: str) -> str | None:
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "/./" in parts.path or "/../" in parts.path or parts.path.endswith(("/.", "/..")):
        # urljoin removes dot segments (RFC 3986 5.2.4) when it resolves a path.
        url = urljoin(urlunsplit((parts.scheme, parts.netloc, "/", "", "")), parts.path)
        url = urlunsplit(urlsplit(url)._replace(query=parts.query))
    try:
        normalised = courlan.normalize_url(url, strict=False)
    except (ValueError, UnicodeError):
        return None
    normalised, _fragment = urldefrag(normalised)
    parts = urlsplit(normalised)
    if not parts.path:
        normalised = urlunsplit(parts._replace(path="/"))
    return normalised


def host_of(url: str) -> str:
    """scheme://host[:port]: the unit politeness and robots.txt apply to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_html_content_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in HTML_CONTENT_TYPES


@dataclass(frozen=True)
class Scope:
    """Which URLs a source may follow: its hosts, include/exclude patterns and depth."""

    hosts: frozenset[str]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _include_re: tuple[re.Pattern, ...] = field(default=(), compare=False, repr=False)
    _exclude_re: tuple[re.Pattern, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def for_start(cls, start_url: str, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> Scope:
        include, exclude = tuple(include), tuple(exclude)
        return cls(
            hosts=frozenset({urlsplit(start_url).netloc.lower()}),
            include=include,
            exclude=exclude,
            _include_re=tuple(re.compile(p) for p in include),
            _exclude_re=tuple(re.compile(p) for p in exclude),
        )

    def reason_out_of_scope(self, url: str) -> str | None:
        """None when the URL is in scope, else the reason code (`out_of_scope`, `excluded`)."""
        if urlsplit(url).netloc.lower() not in self.hosts:
            return "out_of_scope"
        if self._include_re and not any(p.search(url) for p in self._include_re):
            return "not_included"
        if any(p.search(url) for p in self._exclude_re):
            return "excluded"
        return None


_HTML_PARSER = etree.HTMLParser(recover=True, no_network=True, remove_comments=True)


def extract_links(body: bytes, base_url: str) -> list[str]:
    """Normalised absolute URLs of the page's <a>/<area> links, in document order, without
    duplicates, rel=nofollow links, or links to obvious non-pages (images, archives, ...)."""
    if not body:
        return []
    try:
        root = etree.fromstring(body, _HTML_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return []
    if root is None:
        return []
    base_href = root.xpath("string(//base/@href)")
    if base_href:
        base_url = urljoin(base_url, base_href.strip())
    out: dict[str, None] = {}
    for el in root.iter("a", "area"):
        href = el.get("href")
        if not href or "nofollow" in (el.get("rel") or "").lower():
            continue
        url = normalize_url(href, base_url)
        if url is None or urlsplit(url).path.lower().endswith(_NON_PAGE_SUFFIXES):
            continue
        out.setdefault(url, None)
    return list(out)
