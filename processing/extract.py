"""Main-content extraction with trafilatura: HTML text in, text + markdown + metadata out.

One trafilatura pass gives the content tree; it is rendered twice (markdown with headings,
lists and tables for the RAG chunker; plain text for the filters and the training export),
which costs far less than extracting twice. Metadata is read from the same parsed tree with
trafilatura's own metadata helpers, but without its search for an author byline inside the page
body, which on large pages costs more than the content extraction itself (authors still come
from <meta> tags and JSON-LD).
"""

from __future__ import annotations

import logging
import re
from copy import copy, deepcopy
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from htmldate import find_date
from lxml.etree import SubElement, XPath
from lxml.html import Element, HtmlElement
from trafilatura import bare_extraction
from trafilatura.metadata import examine_meta, extract_meta_json, extract_sitename, extract_title, extract_url
from trafilatura.settings import Extractor
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from corpusforge.processing import discard_rules
from corpusforge.processing.text import normalize_inline, normalize_text

discard_rules.install()  # its boilerplate rules without a Python callback per element (same result)

# trafilatura logs every page it discards as a warning; the clean stage records a reason instead.
for _name in ("trafilatura", "htmldate", "courlan", "readability", "justext"):
    logging.getLogger(_name).setLevel(logging.ERROR)

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.I)


class ExtractionError(Exception):
    """Extraction produced nothing usable; `reason` is the stable reason code."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class Extracted:
    text: str
    markdown: str
    title: str | None = None
    author: str | None = None
    published: str | None = None
    sitename: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    link_char_fraction: float = float("nan")  # share of the main text inside links (see below)
    external_link_share: float = float("nan")  # share of that link text pointing to other hosts


@dataclass(frozen=True)
class PageMetadata:
    title: str | None
    author: str | None
    published: str | None
    sitename: str | None
    canonical_url: str | None
    description: str | None


# Where pages state their date in markup: <time>, schema.org microdata, JSON-LD in the body.
_DATE_ELEMENTS = XPath(
    "//body//time | //body//*[@itemprop='datePublished' or @itemprop='dateCreated' or @itemprop='dateModified']"
    " | //body//script[@type='application/ld+json']"
)


def _date_markup(tree) -> HtmlElement:
    """A small page holding only the original <head> and the body's date markup.

    htmldate then reads dates where publishers put them (meta tags, JSON-LD, <time>, microdata,
    the URL) and skips its scan of every element's text, which on large pages costs a third of
    the whole extraction while rarely finding a date the markup did not already state.
    """
    page = Element("html")
    head = tree.find("head")
    if head is not None:
        page.append(deepcopy(head))
    body = SubElement(page, "body")
    for element in _DATE_ELEMENTS(tree)[:50]:
        clone = deepcopy(element)
        clone.tail = None
        body.append(clone)
    return page


def page_metadata(tree, url: str | None) -> PageMetadata:
    """Title, author, date, site name, canonical URL and description of a parsed page."""
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:  # trafilatura's rule: one-word "authors" are handles
        meta.author = None
    try:
        meta = extract_meta_json(tree, meta)
    except Exception:  # noqa: BLE001 - malformed JSON-LD must not cost the page its text
        pass
    title = meta.title or extract_title(tree)
    canonical = meta.url or extract_url(tree, url)
    published = find_date(
        _date_markup(tree), extensive_search=False, original_date=True, url=canonical or url, min_date="1995-01-01"
    )
    sitename = meta.sitename or extract_sitename(tree)
    if sitename:
        sitename = sitename.lstrip("@")
    elif canonical or url:  # trafilatura's fallback: the host name
        sitename = urlsplit(canonical or url).hostname
    return PageMetadata(
        title=normalize_inline(title),
        author=normalize_inline(meta.author),
        published=published or None,
        sitename=normalize_inline(sitename),
        canonical_url=canonical,
        description=normalize_inline(meta.description),
    )


# Page furniture that holds links on every page of a site (menus, sidebars, footers): left out
# when measuring how much of a page is links, so a documentation page's sidebar does not count.
_FURNITURE_TAGS = {"nav", "header", "footer", "aside", "script", "style", "noscript", "form", "select", "button"}
_FURNITURE_WORDS = ("nav", "menu", "sidebar", "footer", "header", "breadcrumb", "related", "cookie", "banner")


_FURNITURE_MARKS = re.compile("|".join(_FURNITURE_WORDS))  # one search instead of a test per word


def _is_furniture(element) -> bool:
    if element.tag in _FURNITURE_TAGS:
        return True
    marks = f"{element.get('class', '')} {element.get('id', '')} {element.get('role', '')}".lower()
    return _FURNITURE_MARKS.search(marks) is not None


def _external(href: str | None, host: str | None) -> bool:
    if not href or not href.startswith(("http://", "https://", "//")):
        return False
    return urlsplit(href if "://" in href else "http:" + href).hostname != host


def link_stats(tree, url: str | None) -> tuple[float, float]:
    """(link text share, external share of it) in the page's body, furniture excluded.

    A link list, a directory or a tag cloud is mostly link text; an article or a reference page
    has links inside sentences. Links to other hosts tell a link farm or a web directory from a
    site's own table of contents. NaN when the body has no text (or no links, for the share)."""
    body = tree.find("body")
    if body is None:
        return float("nan"), float("nan")
    host = urlsplit(url).hostname if url else None
    totals = [0, 0, 0]  # all characters, link characters, external link characters
    # A stack instead of recursion (a call per element cost more than the counting): (element,
    # the link it is inside or None, whether only its tail is left to count); an element's tail
    # is its parent's text after it, so it counts with the parent's link.
    stack = [(body, None, False)]
    while stack:
        element, link, tail_only = stack.pop()
        if tail_only:
            chars = len((element.tail or "").strip())
        elif not isinstance(element.tag, str) or _is_furniture(element):
            continue
        else:
            if element.tag == "a":
                link = element.get("href") or ""
            chars = len((element.text or "").strip())
            for child in element:
                stack.append((child, link, True))
                stack.append((child, link, False))
        if chars:
            totals[0] += chars
            if link is not None:
                totals[1] += chars
                totals[2] += chars if _external(link, host) else 0
    fraction = totals[1] / totals[0] if totals[0] else float("nan")
    return fraction, (totals[2] / totals[1] if totals[1] else float("nan"))


@lru_cache(maxsize=2)
def _extraction_options(fast: bool) -> Extractor:
    return Extractor(
        output_format="python",
        fast=fast,
        comments=False,
        tables=True,
        formatting=True,
        links=False,
        images=False,
        with_metadata=False,
    )


def _options_for(url: str | None, fast: bool) -> Extractor:
    """trafilatura's options for one page: a copy of options built once per process, since
    building them reads eight settings through configparser each time (0.03 ms a page)."""
    options = copy(_extraction_options(fast))
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")  # as Extractor sets it
    return options


def extract_html(html: str, url: str | None = None, fast: bool = False) -> Extracted:
    """Main text of an HTML page, without navigation, footers, banners and other boilerplate.

    `fast` skips trafilatura's fallback extractors (faster, slightly lower recall on odd pages).
    Raises ExtractionError with reason `extract_failed` (not parseable) or `empty_extraction`.
    """
    tree = load_html(_XML_DECLARATION.sub("", html, count=1))
    if tree is None:
        raise ExtractionError("extract_failed", "not parseable as HTML")
    # bare_extraction works on a copy of the tree, so the metadata below sees the whole page.
    doc = bare_extraction(tree, options=_options_for(url, fast))
    if doc is None or doc.body is None:
        raise ExtractionError("empty_extraction", "no main content found")
    markdown = normalize_text(doc.text or "", keep_indent=True)
    text = normalize_text(xmltotxt(doc.body, False))
    if not text:
        raise ExtractionError("empty_extraction", "main content is empty")
    meta = page_metadata(tree, url)
    links, external = link_stats(tree, url)
    return Extracted(
        text=text, markdown=markdown, link_char_fraction=links, external_link_share=external, **meta.__dict__
    )


def extract_plain_text(text: str) -> Extracted:
    """A text/plain page: the body is the text (and the markdown)."""
    clean = normalize_text(text)
    if not clean:
        raise ExtractionError("empty_extraction", "text is empty")
    first_line = clean.split("\n", 1)[0]
    return Extracted(text=clean, markdown=clean, title=normalize_inline(first_line[:200]))
