"""Article pools: natural articles from the sources in a seeded order, then remixes of their sections."""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass

from corpusforge.connectors.sample_site.sources import _english_sources, _man_sources, _parse_source
from corpusforge.connectors.sample_site.text import (
    MAX_ARTICLE_WORDS,
    MIN_ARTICLE_WORDS,
    Block,
    _blocks_words,
    blocks_text,
)


@dataclass
class _Draft:
    title: str
    blocks: tuple[Block, ...]
    source: str
    remix: bool = False


@dataclass
class _Unit:
    heading: str
    blocks: tuple[Block, ...]
    words: int


_REMIX_TITLES = {
    "en": "Notes on {a} and {b}",
    "de": "Über {a} und {b}",
    "fr": "À propos de {a} et {b}",
    "es": "Sobre {a} y {b}",
}


def _short(text: str, words: int = 6) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


class _ArticlePool:
    """Natural articles from the sources in a seeded order; then remixed articles from their sections.

    Paragraphs are deduplicated across the whole pool (exact text), so no two articles share a
    paragraph unless the remix put it there.
    """

    def __init__(self, lang: str, seed: int) -> None:
        self.lang = lang
        self.seed = seed
        sources = list(_english_sources() if lang == "en" else _man_sources(lang))
        random.Random(f"sources:{lang}:{seed}").shuffle(sources)
        self.sources = iter(sources)
        self.seen: set[str] = set()
        self.pending: deque[_Draft] = deque()
        self.deferred: deque[_Draft] = deque()
        self.units: list[_Unit] = []
        self.remix_pass = 0

    def take(self) -> _Draft:
        # First sweep: one article per source, for variety on small sites; then the other articles of
        # each source; then remixes.
        while not self.pending:
            source = next(self.sources, None)
            if source is None:
                if self.deferred:
                    return self.deferred.popleft()
                return self._remix()
            drafts = []
            for title, blocks in _parse_source(*source):
                kept = self._dedupe(blocks)
                self.units.extend(self._units(title, kept))
                if MIN_ARTICLE_WORDS <= _blocks_words(kept) <= MAX_ARTICLE_WORDS:
                    drafts.append(_Draft(title, kept, source[1]))
            self.pending.extend(drafts[:1])
            self.deferred.extend(drafts[1:])
        return self.pending.popleft()

    def _dedupe(self, blocks: tuple[Block, ...]) -> tuple[Block, ...]:
        kept: list[Block] = []
        for block in blocks:
            if block[0] in ("p", "ul", "table"):
                # Exact text, and the first and last eight words: the docs and the docstrings of a
                # module often hold the same paragraph with a word changed.
                words = re.sub(r"[^\w\s]", "", blocks_text([block]).lower()).split()
                keys = {" ".join(words)}
                if len(words) >= 16:
                    keys |= {"<" + " ".join(words[:8]), ">" + " ".join(words[-8:])}
                if keys & self.seen:
                    continue
                self.seen |= keys
            kept.append(block)
        tidy: list[Block] = []
        for block in kept:
            if block[0] in ("h2", "h3") and tidy and tidy[-1][0] in ("h2", "h3"):
                if block[0] == "h2" or tidy[-1][0] == "h3":
                    tidy.pop()
            tidy.append(block)
        while tidy and tidy[-1][0] in ("h2", "h3"):
            tidy.pop()
        return tuple(tidy)

    @staticmethod
    def _units(title: str, blocks: tuple[Block, ...]) -> list[_Unit]:
        """Cut a draft into small units (at most ~150 words, paragraphs kept whole) for remixing.

        Units are small against a remixed article (at least 500 words and four units), so a remix shares
        at most a sliver of any natural article and of any other remix.
        """
        words = _blocks_words(blocks)
        if MIN_ARTICLE_WORDS <= words < 300:
            return []  # published whole and short: a unit would be a large share of it
        units: list[_Unit] = []
        heading = title
        content: list[Block] = []
        count = 0

        def close() -> None:
            nonlocal content, count
            if count >= 30:
                units.append(_Unit(heading, tuple(content), count))
            content, count = [], 0

        for block in blocks:
            if block[0] in ("h2", "h3"):
                close()
                heading = block[1] if ":" in block[1] else f"{_short(title, 4)}: {block[1]}"
                continue
            if block[0] == "table":
                continue
            w = _blocks_words([block])
            if w > 180:
                continue
            if content and count + w > 150:
                close()
            content.append(block)
            count += w
        close()
        return units

    def _remix(self) -> _Draft:
        while not self.pending:
            self.remix_pass += 1
            if self.remix_pass > 200 or len(self.units) < 8:
                raise RuntimeError(f"the {self.lang} text pool is exhausted")
            rng = random.Random(f"remix:{self.lang}:{self.seed}:{self.remix_pass}")
            order = list(range(len(self.units)))
            rng.shuffle(order)
            chunk: list[_Unit] = []
            target = rng.randint(500, 1100)
            for index in order:
                chunk.append(self.units[index])
                if sum(u.words for u in chunk) >= target and len(chunk) >= 4:
                    blocks: list[Block] = []
                    for unit in chunk:
                        blocks.append(("h2", unit.heading))
                        blocks.extend(unit.blocks)
                    title = _REMIX_TITLES[self.lang].format(a=_short(chunk[0].heading), b=_short(chunk[1].heading))
                    self.pending.append(_Draft(title, tuple(blocks), f"remix:{self.remix_pass}", remix=True))
                    chunk, target = [], rng.randint(500, 1100)
        return self.pending.popleft()
