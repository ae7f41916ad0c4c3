"""Phrase lists as one case-insensitive regex that is only run where it can match.

A long alternation of phrases (`\\bcookies?\\b|\\bconsent\\b|...`) gives Python's regex engine no
literal to search for, so it tries every phrase at every character: scanning a page's prose for
filler or boilerplate phrases cost more than extracting it. Every phrase contains some literal
text any match must contain (`cookie`, `consent`); those are found with plain substring
searches in the lowercased text, and the regex is built from only the phrases whose literal is
there (cached per combination). A phrase that cannot match anywhere in a text never changes what
the alternation finds in it, so the matches are exactly those of the full regex.
"""

from __future__ import annotations

import re
from functools import lru_cache

try:  # the standard library's regex parser (private, but stable since Python 3.0 as sre_parse)
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - then every phrase is always searched
    _sre_parse = None

# Characters IGNORECASE matches with an ASCII letter beyond its upper and lower case (Python's
# re treats the dotless i and the long s as i and s); İ lowercases to two characters in str.lower.
# Replaced, not translated: str.translate looks every character up in the table (0.7 ms for a
# page of Python's docs), str.replace finds none of these rare characters at memchr speed.
_CASE_FOLD = (("ı", "i"), ("ſ", "s"))


def fold(text: str) -> str:
    """The text as IGNORECASE compares it, for literal searches."""
    text = text.replace("İ", "i").lower()
    for char, folded in _CASE_FOLD:
        text = text.replace(char, folded)
    return text


def _literal_runs(items) -> list[str]:
    runs, run = [], []
    for op, value in items:
        if op is _sre_parse.LITERAL:
            run.append(chr(value))
        elif op is not _sre_parse.AT:  # \b and ^ take no characters, anything else breaks the run
            runs.append("".join(run))
            run = []
    return [r for r in [*runs, "".join(run)] if r]


def _required(items) -> frozenset[str] | None:
    """Literals one of which every match of the parsed pattern contains (None: not known)."""
    candidates: list[frozenset[str]] = [frozenset({run}) for run in _literal_runs(items)]
    for op, value in items:
        if op is _sre_parse.BRANCH:
            branches = [_required(list(branch)) for branch in value[1]]
            if all(branches):
                candidates.append(frozenset().union(*branches))
        elif op is _sre_parse.SUBPATTERN:
            inner = _required(list(value[-1]))
            if inner:
                candidates.append(inner)
        elif op in (_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT) and value[0] >= 1:
            inner = _required(list(value[2]))
            if inner:
                candidates.append(inner)
    if not candidates:
        return None
    return max(candidates, key=lambda keys: min(len(k) for k in keys))  # the rarest-looking choice


def required_literals(pattern: str) -> frozenset[str] | None:
    """Literals (folded) one of which every match of `pattern` contains; None if none found."""
    if _sre_parse is None:
        return None
    found = _required(list(_sre_parse.parse(pattern, re.I)))
    return frozenset(fold(k) for k in found) if found else None


class PhraseSet:
    """`re.compile("(?:p1)|(?:p2)|...", re.I)`, searched only for the phrases that can match."""

    def __init__(self, *patterns: str):
        self.patterns = patterns
        self.literals = [required_literals(p) for p in patterns]
        self.regex = self._compile(tuple(range(len(patterns))))

    @lru_cache(maxsize=256)  # noqa: B019 - one PhraseSet per phrase list, module-level constants
    def _compile(self, present: tuple[int, ...]) -> re.Pattern:
        return re.compile("|".join(f"(?:{self.patterns[i]})" for i in present), re.I)

    def narrowed(self, text: str) -> re.Pattern | None:
        """The regex of the phrases that can match in `text` (None when none can)."""
        folded = fold(text)
        present = tuple(i for i, keys in enumerate(self.literals) if keys is None or any(k in folded for k in keys))
        return self._compile(present) if present else None

    def search(self, text: str) -> re.Match | None:
        regex = self.narrowed(text)
        return regex.search(text) if regex is not None else None

    def findall(self, text: str) -> list:
        regex = self.narrowed(text)
        return regex.findall(text) if regex is not None else []

    def finditer(self, text: str):
        regex = self.narrowed(text)
        return regex.finditer(text) if regex is not None else iter(())
