"""Names, fixed boilerplate and text helpers shared by the generator, the server and the tests of other stages."""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

SITE_NAME = "Corpusforge Sample Library"
ORIGIN = "http://sample.corpusforge.invalid"
MANIFEST_NAME = "_manifest.json"
REDIRECTS_NAME = "_redirects.json"
REDIRECT_STATUS_NAME = "_redirect_status.json"
DISALLOWED_PREFIX = "/private/"
MAN_ROOT = Path("/usr/share/man")
FOREIGN_LANGUAGES = ("de", "fr", "es")
MIN_PAGES = 30
MIN_ARTICLE_WORDS = 150
MAX_ARTICLE_WORDS = 1500
LISTING_PAGE_SIZE = 40
SECTIONS = ("guides", "news", "reference")
FOREIGN_SECTION = "international"
SECTION_TITLES = {
    "guides": "Guides",
    "news": "News",
    "reference": "Reference",
    "international": "International",
    "docs": "Documentation",
}
DOCS_SECTION = "docs"
ARTICLE_BODY_END = "<!-- end article-body -->"

# Fixed boilerplate: appears on every HTML page, never inside an article body.
COOKIE_SENTENCE = "We use cookies to improve your experience on our site and to show you relevant content."
COOKIE_CONSENT_SENTENCE = "By continuing to browse this site you agree to our use of cookies."
COPYRIGHT_SENTENCE = "Copyright 2024 Corpusforge Sample Library. All rights reserved."
DISCLAIMER_SENTENCE = "Content on this site is provided as is, without warranty of any kind."
NEWSLETTER_SENTENCE = "Subscribe to our newsletter and never miss an article about Python and open source software."
TAGLINE_SENTENCE = "Articles, guides and notes for curious readers of technical documentation."
BOILERPLATE_SENTENCES = (
    COOKIE_SENTENCE,
    COOKIE_CONSENT_SENTENCE,
    COPYRIGHT_SENTENCE,
    DISCLAIMER_SENTENCE,
    NEWSLETTER_SENTENCE,
    TAGLINE_SENTENCE,
)

AUTHORS = (
    "Ada Fischer",
    "Bruno Martins",
    "Chiara Rossi",
    "Daniel Okafor",
    "Elena Petrova",
    "Farid Haddad",
    "Grace Liu",
    "Hannah Schmidt",
    "Ines Garcia",
    "Jonas Berg",
    "Keiko Tanaka",
    "Louis Moreau",
)

# Missing pages that some pages link to (the server answers 404).
MISSING_PATHS = (
    "/articles/this-article-was-removed.html",
    "/missing/old-newsletter.html",
    "/section/archive/",
)

_BASE_DATE = datetime(2019, 1, 1, tzinfo=UTC)
_DATE_SPAN_S = 5 * 365 * 24 * 3600
_SITE_FILES_MTIME = datetime(2024, 6, 1, tzinfo=UTC).timestamp()


# --------------------------------------------------------------------------------------------------
# Text helpers shared with the tests of other stages
# --------------------------------------------------------------------------------------------------

Block = tuple  # ("h2"|"h3"|"p", str) | ("ul", tuple[str, ...]) | ("table", (header, rows)) | ("links", ...)
# | ("html", (markup, plain text)): a body harvested as HTML (documentation) or written as HTML (junk)


def blocks_text(blocks: list[Block] | tuple[Block, ...]) -> str:
    """Plain text of an article body: one line per heading, paragraph, list item or table cell."""
    parts: list[str] = []
    for kind, value in blocks:
        if kind == "ul":
            parts.extend(value)
        elif kind == "table":
            header, rows = value
            parts.extend(header)
            for row in rows:
                parts.extend(row)
        elif kind == "links":
            parts.extend(text for _, text in value)
        elif kind == "html":
            parts.append(value[1])  # (markup, its plain text): documentation and junk pages
        else:
            parts.append(value)
    return "\n".join(parts)


def word_shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of ``text``, lowercased and split on whitespace."""
    words = text.lower().split()
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def shingle_jaccard(a: str, b: str, n: int = 5) -> float:
    """Jaccard similarity of the word n-gram sets of two texts (the measure the manifest records)."""
    sa, sb = word_shingles(a, n), word_shingles(b, n)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


class _ArticleBodyText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            if tag == "div":
                self.depth += 1
        elif tag == "div" and ("class", "article-body") in attrs:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "div":
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and data.strip():
            self.parts.append(data.strip())


def article_text_from_html(page_html: str) -> str:
    """The article body text of a generated page (what ``blocks_text`` gave for it), from its HTML."""
    parser = _ArticleBodyText()
    parser.feed(page_html)
    parser.close()
    return "\n".join(parser.parts)


def _words(text: str) -> int:
    return len(text.split())


def _blocks_words(blocks: list[Block] | tuple[Block, ...]) -> int:
    return _words(blocks_text(blocks))


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜÀÂÉÈÊÎÔÛÇÁÍÓÚÑ¿¡\"“«])")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]


def _slugify(text: str, limit: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug or "page"


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _attr(text: str) -> str:
    return html.escape(text, quote=True)
