"""The pages a quality site adds (``generate_site(..., quality=True)``): documentation to keep, junk to drop.

Each manifest entry says what a user who points corpusforge at their own documentation site wants:
``expected`` ("keep" or "drop") and ``category``. Duplicates are "keep" here: dedup, not the quality
filters, removes them, and one copy of each stays.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta

import lxml.html

from corpusforge.connectors.sample_site.docs import documentation_drafts
from corpusforge.connectors.sample_site.junk import JUNK_KINDS, english_vocabulary, junk_drafts
from corpusforge.connectors.sample_site.junk_cjk import cjk_junk_drafts
from corpusforge.connectors.sample_site.pages import _Page
from corpusforge.connectors.sample_site.text import (
    _BASE_DATE,
    _DATE_SPAN_S,
    AUTHORS,
    DOCS_SECTION,
    FOREIGN_SECTION,
    SECTIONS,
    _slugify,
    _words,
)

DOCUMENTATION_KINDS = ("reference", "api_reference", "changelog", "faq")
DROPPED_KINDS = frozenset(("thin", "spam"))
_CJK_SENTENCE = re.compile(r"(?:^|(?<=[。！？]))[^。！？\n]{15,80}[。！？]")


def category_of(kind: str) -> str:
    """documentation, article or junk for the quality kinds; the kind itself for the others."""
    if kind in DOCUMENTATION_KINDS:
        return "documentation"
    return "junk" if kind in JUNK_KINDS else kind


def expected_of(kind: str) -> str:
    """What a user of the site wants done with a page of this kind: keep it or drop it."""
    return "drop" if kind in DROPPED_KINDS or category_of(kind) == "junk" else "keep"


def _known_line(text: str, language: str) -> str:
    """A piece of the body that extraction must keep: a sentence, or the longest line."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not any(c in line for c in "<>&")]
    if language in ("zh", "ja"):
        for line in lines:
            match = _CJK_SENTENCE.search(line)
            if match and text.count(match.group()) == 1:
                return match.group().strip()
    for line in lines:
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            if 8 <= _words(sentence) <= 40 and text.count(sentence) == 1:
                return sentence
    return max(lines, key=len) if lines else ""


def _unique_path(prefix: str, slug: str, used: set[str]) -> str:
    path, n = f"{prefix}{slug}.html", 2
    while path in used:
        path, n = f"{prefix}{slug}-{n}.html", n + 1
    used.add(path)
    return path


def quality_pages(seed: int, site_pages: list[_Page]) -> list[_Page]:
    """The documentation and junk pages, dated and authored; ``site_pages`` are linked from the junk."""
    rng = random.Random(f"quality:{seed}")
    used = {p.url_path for p in site_pages}
    out: list[_Page] = []
    docs = documentation_drafts(seed)
    for draft in docs:
        page = draft.page
        section = DOCS_SECTION if draft.language == "en" else FOREIGN_SECTION
        slug = _slugify(page.title) if draft.language == "en" else f"section-{len(out) + 1}"
        path = _unique_path(draft.prefix, slug, used)
        blocks = (("html", (page.html, page.text)),)
        out.append(_Page(draft.kind, draft.language, page.title, blocks, path, section, source=page.source))

    links = sorted((p.url_path, p.title) for p in [*site_pages, *out] if p.kind != "private")
    prose = "\n".join(d.page.text for d in docs if d.kind in ("reference", "faq"))
    zh_text = "\n".join(d.page.text for d in docs if d.language == "zh")
    for draft in [*junk_drafts(seed, english_vocabulary(prose), links), *cjk_junk_drafts(seed, zh_text, links)]:
        section = rng.choice(SECTIONS) if draft.language == "en" else FOREIGN_SECTION
        path = _unique_path(draft.prefix, draft.slug or _slugify(draft.title), used)
        text = _plain_text(draft.html)
        page = _Page(draft.kind, draft.language, draft.title, (("html", (draft.html, text)),), path, section)
        page.layout = "plain"
        out.append(page)

    for page in out:
        page.date = _BASE_DATE + timedelta(seconds=rng.randrange(_DATE_SPAN_S))
        page.author = rng.choice(AUTHORS)
        page.known_sentence = _known_line(page.blocks[0][1][1], page.language)
    return out


def _plain_text(markup: str) -> str:
    """The text of a junk page's body, a line per line of its markup (each block is on its own line)."""
    fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
    for hidden in fragment.xpath(".//script | .//style"):
        hidden.drop_tree()
    for cell in fragment.xpath(".//td | .//th"):
        cell.tail = " " + (cell.tail or "")  # table cells are words apart, as a browser shows them
    lines = (" ".join(line.split()) for line in fragment.text_content().splitlines())
    return "\n".join(line for line in lines if line)
