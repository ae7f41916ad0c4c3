"""Decontamination: an n-gram index of eval texts, and whether an example shares an n-gram with them."""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lowercased word tokens: punctuation, case and spacing do not hide an overlap."""
    return _WORD.findall(text.lower())


class NgramIndex:
    """The word n-grams of evaluation texts; an example overlaps when it shares any of them."""

    def __init__(self, n: int = 13):
        self.n = n
        self._grams: set[int] = set()
        self.texts = 0
        self.texts_too_short = 0  # fewer than n words: cannot be matched, reported in the card

    def _hashes(self, text: str) -> Iterable[int]:
        w = words(text)
        # hash() of a str tuple is stable within one process, which is all the index needs.
        return (hash(tuple(w[i : i + self.n])) for i in range(len(w) - self.n + 1))

    def add(self, text: str) -> None:
        self.texts += 1
        grams = list(self._hashes(text))
        if not grams:
            self.texts_too_short += 1
        self._grams.update(grams)

    def add_all(self, texts: Iterable[str]) -> NgramIndex:
        for text in texts:
            self.add(text)
        return self

    @property
    def size(self) -> int:
        return len(self._grams)

    def overlaps(self, text: str) -> bool:
        return bool(self._grams) and any(h in self._grams for h in self._hashes(text))
