"""The content pages of a site: how many of each kind, built from the pools and the planted cases, and linked."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from corpusforge.connectors.sample_site.plant import (
    _THIN_TEMPLATES,
    _make_near_duplicate,
    _pii_paragraphs,
    _spam_blocks,
)
from corpusforge.connectors.sample_site.pool import _ArticlePool, _short
from corpusforge.connectors.sample_site.text import (
    _BASE_DATE,
    _DATE_SPAN_S,
    AUTHORS,
    DISALLOWED_PREFIX,
    FOREIGN_LANGUAGES,
    FOREIGN_SECTION,
    MISSING_PATHS,
    SECTIONS,
    Block,
    _sentences,
    _slugify,
    _words,
    blocks_text,
    shingle_jaccard,
)


@dataclass
class _Page:
    kind: str
    language: str
    title: str
    blocks: tuple[Block, ...]
    url_path: str
    section: str
    date: datetime = _BASE_DATE
    author: str = ""
    original: str | None = None
    edit_rate: float | None = None
    jaccard: float | None = None
    known_sentence: str = ""
    pii: list[dict] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    extra_links: list[tuple[str, str]] = field(default_factory=list)
    nav_rotation: int = 0
    source: str = ""
    layout: str = "article"  # "plain" for junk pages: the site's template without byline or sidebar

    @property
    def file_path(self) -> str:
        return self.url_path.lstrip("/")

    @property
    def description(self) -> str:
        if self.blocks and self.blocks[0][0] == "html":
            first = self.known_sentence or self.title  # harvested HTML has no "p" blocks to take it from
            return first if len(first) <= 160 else first[:157].rsplit(" ", 1)[0] + "…"
        first = next((b[1] for b in self.blocks if b[0] == "p"), self.title)
        sentence = (_sentences(first) or [first])[0]
        return sentence if len(sentence) <= 160 else sentence[:157].rsplit(" ", 1)[0] + "…"


def _known_sentence(blocks: tuple[Block, ...], rng: random.Random, avoid: tuple[str, ...] = ()) -> str:
    """A sentence that occurs once in the body, has 8 to 40 words and no characters HTML would escape."""
    text = blocks_text(blocks)
    candidates = []
    for kind, value in blocks:
        if kind != "p":
            continue
        for sentence in _sentences(value):
            if (
                8 <= _words(sentence) <= 40
                and not any(c in sentence for c in "<>&")
                and not any(a in sentence for a in avoid)
            ):
                candidates.append(sentence)
    rng.shuffle(candidates)
    for sentence in candidates:
        if text.count(sentence) == 1:
            return sentence
    candidates = []
    if not candidates:
        candidates = [b[1] for b in blocks if b[0] == "p" and not any(c in b[1] for c in "<>&")]
    if not candidates:
        candidates = [b[1] for b in blocks if b[0] in ("p", "h2", "h3")]
    return candidates[len(candidates) // 2]


def _plan(pages: int) -> dict[str, int]:
    counts = {
        "foreign": max(3, round(pages * 0.10)),
        "near_duplicate": max(2, round(pages * 0.05)),
        "exact_duplicate": max(2, round(pages * 0.03)),
        "thin": max(1, round(pages * 0.02)),
        "spam": max(1, round(pages * 0.02)),
        "pii": max(2, round(pages * 0.01)),
        "private": max(2, round(pages * 0.01)),
    }
    counts["article"] = pages - sum(counts.values())
    return counts


class _Slugs:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, prefix: str, title: str) -> str:
        base = _slugify(title)
        slug, n = base, 2
        while f"{prefix}{slug}" in self.used:
            slug, n = f"{base}-{n}", n + 1
        self.used.add(f"{prefix}{slug}")
        return f"{prefix}{slug}.html"


def _build_pages(pages: int, seed: int) -> list[_Page]:
    counts = _plan(pages)
    rng = random.Random(f"site:{seed}")
    slugs = _Slugs()
    english = _ArticlePool("en", seed)
    out: list[_Page] = []

    def english_page(kind: str, prefix: str, section: str) -> _Page:
        draft = english.take()
        return _Page(
            kind,
            "en",
            draft.title,
            draft.blocks,
            slugs.make(prefix, draft.title),
            section,
            source=draft.source,
        )

    for _ in range(counts["article"]):
        out.append(english_page("article", "/articles/", rng.choice(SECTIONS)))

    originals = rng.sample(out, counts["near_duplicate"] + counts["exact_duplicate"])
    near_rates = (0.02, 0.03, 0.04, 0.05)
    for index, original in enumerate(originals[: counts["near_duplicate"]]):
        rate = near_rates[index % len(near_rates)]
        text = blocks_text(original.blocks)
        for _attempt in range(6):
            blocks, realised = _make_near_duplicate(original.blocks, rate, rng)
            jaccard = shingle_jaccard(text, blocks_text(blocks))
            if 0.5 < jaccard < 1.0:
                break
            rate *= 0.6
        out.append(
            _Page(
                "near_duplicate",
                "en",
                original.title,
                blocks,
                slugs.make("/articles/", original.title),
                rng.choice(SECTIONS),
                original=original.url_path,
                edit_rate=round(realised, 4),
                jaccard=round(jaccard, 4),
                source=original.source,
            )
        )
    for original in originals[counts["near_duplicate"] :]:
        out.append(
            _Page(
                "exact_duplicate",
                "en",
                original.title,
                original.blocks,
                slugs.make("/articles/", original.title),
                original.section,
                original=original.url_path,
                edit_rate=0.0,
                jaccard=1.0,
                source=original.source,
            )
        )

    for index in range(counts["pii"]):
        page = english_page("pii", "/articles/", rng.choice(SECTIONS))
        paragraphs, found = _pii_paragraphs(index, rng)
        blocks = list(page.blocks)
        at = max(1, len(blocks) // 2)
        blocks[at:at] = [("p", p) for p in paragraphs]
        page.blocks, page.pii = tuple(blocks), found
        out.append(page)

    for _ in range(counts["private"]):
        out.append(english_page("private", DISALLOWED_PREFIX, "private"))

    # Each thin page has its own topic, so thin pages are not near duplicates of each other.
    natural = [p for p in out[: counts["article"]] if not p.source.startswith("remix:")]
    titles = [p.title for p in natural]
    titles += [b[1] for p in natural for b in p.blocks if b[0] == "h2" and not re.search(r"[(:._]", b[1])]
    topics: list[str] = []
    seen_topics: set[str] = set()
    for title in titles:
        topic = _short(title, 5).rstrip("…").strip(" :—-")
        if topic.lower() not in seen_topics:
            seen_topics.add(topic.lower())
            topics.append(topic)
    rng.shuffle(topics)
    for index in range(counts["thin"]):
        title_tpl, sentences = _THIN_TEMPLATES[index % len(_THIN_TEMPLATES)]
        topic = topics[index % len(topics)]
        if index >= len(topics):
            topic = f"{topic}, part {index // len(topics) + 1}"
        title = title_tpl.format(t=topic)
        blocks = (("p", " ".join(s.format(t=topic) for s in sentences)),)
        page = _Page("thin", "en", title, blocks, slugs.make("/articles/", title), rng.choice(SECTIONS))
        page.known_sentence = sentences[0].format(t=topic)
        out.append(page)

    for index in range(counts["spam"]):
        title, blocks, known = _spam_blocks(index, rng)
        page = _Page("spam", "en", title, blocks, slugs.make("/articles/", title), rng.choice(SECTIONS))
        page.known_sentence = known
        out.append(page)

    foreign_pools = {lang: _ArticlePool(lang, seed) for lang in FOREIGN_LANGUAGES}
    for index in range(counts["foreign"]):
        lang = FOREIGN_LANGUAGES[index % len(FOREIGN_LANGUAGES)]
        draft = foreign_pools[lang].take()
        out.append(
            _Page(
                "foreign",
                lang,
                draft.title,
                draft.blocks,
                slugs.make(f"/{lang}/", draft.title),
                FOREIGN_SECTION,
                source=draft.source,
            )
        )

    by_path = {p.url_path: p for p in out}
    for page in out:
        page.date = _BASE_DATE + timedelta(seconds=rng.randrange(_DATE_SPAN_S))
        page.author = rng.choice(AUTHORS)
        page.nav_rotation = 0
    for page in out:
        if page.kind == "exact_duplicate":
            original = by_path[page.original]
            page.date, page.author = original.date, original.author
            page.nav_rotation = rng.randint(1, 5)
        if not page.known_sentence:
            avoid = tuple(item["value"] for item in page.pii) + ("example.",)
            page.known_sentence = _known_sentence(page.blocks, rng, avoid if page.pii else ())
        if page.kind == "exact_duplicate":
            page.known_sentence = by_path[page.original].known_sentence
    return out


def _assign_links(pages: list[_Page], rng: random.Random, redirects: dict[str, str]) -> None:
    public = [p for p in pages if p.kind != "private"]
    by_lang: dict[str, list[_Page]] = {}
    for page in public:
        by_lang.setdefault(page.language, []).append(page)
    redirect_sources = sorted(k for k in redirects if k.startswith(("/old/", "/very-old/")))
    for page in pages:
        if page.kind == "exact_duplicate":
            continue
        pool = by_lang.get(page.language, public)
        pool = pool if len(pool) > 6 else public
        related: list[str] = []
        while len(related) < 5:
            candidate = rng.choice(pool).url_path
            if candidate != page.url_path and candidate not in related:
                related.append(candidate)
        page.related = related
        roll = rng.random()
        if roll < 0.05:
            page.extra_links.append((rng.choice(MISSING_PATHS), "An older article"))
        elif roll < 0.10 and redirect_sources:
            page.extra_links.append((rng.choice(redirect_sources), "From our archive"))
        elif roll < 0.12:
            page.extra_links.append(("/loop/a", "Moved page"))
    by_path = {p.url_path: p for p in pages}
    for page in pages:
        if page.kind == "exact_duplicate":
            original = by_path[page.original]
            page.related = list(original.related)
            page.extra_links = list(original.extra_links)
