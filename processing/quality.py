"""Quality signals and filters: text in, every signal's value and every filter's verdict out.

`quality_signals` measures a text once; each filter below is a small pure function that reads one
signal, compares it with one threshold and returns a `Decision` (kept or dropped, with a stable
reason code). All filters run on every document, so a document records all of its drop reasons,
not just the first, and every signal is stored so thresholds can be re-tuned with a query.

Rule sets and their published thresholds (the defaults in DEFAULT_THRESHOLDS):
* Gopher quality and repetition rules: Rae et al. 2021, "Scaling Language Models: Methods,
  Analysis & Insights from Training Gopher", appendix A.1.1 and table A1.
* C4 rules: Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified
  Text-to-Text Transformer", section 2.2.
* FineWeb rules: Penedo et al. 2024, "The FineWeb Datasets" (datatrove's FineWebQualityFilter).
Counting follows datatrove's implementations where the papers leave details open.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DEFAULT_THRESHOLDS: dict[str, float] = {
    # Gopher quality
    "gopher_min_words": 50,
    "gopher_max_words": 100_000,
    "gopher_min_mean_word_length": 3,
    "gopher_max_mean_word_length": 10,
    "gopher_max_symbol_word_ratio": 0.1,
    "gopher_max_bullet_line_fraction": 0.9,
    "gopher_max_ellipsis_line_fraction": 0.3,
    "gopher_min_alpha_word_fraction": 0.8,
    "gopher_min_stop_words": 2,
    # Gopher repetition (table A1)
    "gopher_max_dup_line_fraction": 0.30,
    "gopher_max_dup_paragraph_fraction": 0.30,
    "gopher_max_dup_line_char_fraction": 0.20,
    "gopher_max_dup_paragraph_char_fraction": 0.20,
    "gopher_max_top_2gram_char_fraction": 0.20,
    "gopher_max_top_3gram_char_fraction": 0.18,
    "gopher_max_top_4gram_char_fraction": 0.16,
    "gopher_max_dup_5gram_char_fraction": 0.15,
    "gopher_max_dup_6gram_char_fraction": 0.14,
    "gopher_max_dup_7gram_char_fraction": 0.13,
    "gopher_max_dup_8gram_char_fraction": 0.12,
    "gopher_max_dup_9gram_char_fraction": 0.11,
    "gopher_max_dup_10gram_char_fraction": 0.10,
    # C4
    "c4_min_sentences": 5,
    "c4_max_lorem_ipsum": 0,
    "c4_max_curly_brackets": 0,
    # FineWeb
    "fineweb_min_line_punct_fraction": 0.12,
    "fineweb_max_short_line_fraction": 0.67,
    "fineweb_max_dup_line_char_fraction": 0.01,
    "fineweb_max_newlines_per_word": 0.3,
}

TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)
SHORT_LINE_CHARS = 30  # FineWeb: a line of at most 30 characters is "short"
C4_MIN_WORDS_PER_LINE = 3
C4_MAX_WORD_CHARS = 1000
BULLETS = ("•", "●", "○", "◦", "▪", "▫", "‣", "⁃", "-", "*", "·", "–")
ELLIPSES = ("...", "…")
TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "”", "’", "…", "。", "！", "？", "؟", "।")
C4_TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'")
C4_POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")

# Gopher's stop words ("the, be, to, of, and, that, have, with") and the same everyday function
# words for other languages; a language without a list skips the rule rather than failing it.
STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the be to of and that have with".split()),
    "de": frozenset("der die das und zu von mit sein haben ist nicht ein eine".split()),
    "fr": frozenset("le la les de et que avec être avoir est un une des du".split()),
    "es": frozenset("el la los las de y que con ser haber es un una del".split()),
    "it": frozenset("il lo la di e che con essere avere è un una del".split()),
    "pt": frozenset("o a os as de e que com ser ter é um uma do da".split()),
    "nl": frozenset("de het een en van dat met zijn hebben is te".split()),
}

_SENTENCE_END = re.compile(r"[.!?…。！？]+(?=\s|$)")
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
_HAS_ALNUM = re.compile(r"[^\W_]")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_STRIP_PUNCT = "\"'“”‘’«»()[]{}<>.,;:!?¿¡…-–—*#/\\|`~_"


class UnknownThresholdError(ValueError):
    """A filter override names a threshold that does not exist."""


def merge_thresholds(*overrides: dict[str, float] | str) -> dict[str, float]:
    """Defaults, then each override in order (global settings, then the source's)."""
    merged = dict(DEFAULT_THRESHOLDS)
    if overrides and isinstance(overrides[0], str):
        overrides = overrides[1:]  # the profile: placeholder until profiles land
    for override in overrides:
        for key, value in (override or {}).items():
            if key not in DEFAULT_THRESHOLDS:
                raise UnknownThresholdError(
                    f"unknown filter threshold {key!r}; known: {', '.join(sorted(DEFAULT_THRESHOLDS))}"
                )
            merged[key] = float(value)
    return merged


@dataclass(frozen=True)
class Decision:
    filter: str  # the threshold it applies, e.g. "gopher_min_words"
    kept: bool
    reason: str | None  # stable reason code when dropped, else None
    value: float | None
    threshold: float | None

    def as_row(self) -> dict:
        return {
            "filter": self.filter,
            "kept": self.kept,
            "reason": self.reason,
            "value": self.value,
            "threshold": self.threshold,
        }


# ------------------------------------------------------------------------------------------------
# Signals
# ------------------------------------------------------------------------------------------------


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(number, characters) of items that repeat an earlier item (first occurrences not counted)."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def _ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """A 64-bit polynomial hash of every word n-gram (wrap-around arithmetic; collisions are
    vanishingly rare at document sizes)."""
    length = len(ids) - n + 1
    h = np.zeros(length, dtype=np.uint64)
    prime = np.uint64(1_000_003)
    for k in range(n):
        h = h * prime + ids[k : k + length]
    return h


def _ngram_signals(words: list[str]) -> dict[str, float]:
    """Gopher's n-gram repetition signals, as fractions of the characters in all words."""
    out = {f"top_{n}gram_char_fraction": 0.0 for n in TOP_NGRAMS}
    out.update({f"dup_{n}gram_char_fraction": 0.0 for n in DUP_NGRAMS})
    if not words:
        return out
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(w, len(vocab) + 1) for w in words), dtype=np.uint64, count=len(words))
    lengths = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
    total = float(lengths.sum())
    cum = np.concatenate(([0], np.cumsum(lengths)))
    for n in TOP_NGRAMS:
        if len(words) < n:
            continue
        # Characters in the most frequent n-gram times its count (only when it repeats at all).
        hashes = _ngram_hashes(ids, n)
        uniq, first, counts = np.unique(hashes, return_index=True, return_counts=True)
        best = int(counts.argmax())
        if counts[best] > 1:
            start = int(first[best])
            out[f"top_{n}gram_char_fraction"] = float(counts[best]) * float(cum[start + n] - cum[start]) / total
    for n in DUP_NGRAMS:
        if len(words) < n:
            continue
        # Characters of words inside n-grams that repeat an earlier n-gram, overlaps counted once.
        hashes = _ngram_hashes(ids, n)
        _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        repeat_starts = np.flatnonzero(first[inverse] != np.arange(len(hashes)))
        if len(repeat_starts):
            cover = np.zeros(len(words) + 1, dtype=np.int64)
            np.add.at(cover, repeat_starts, 1)
            np.add.at(cover, repeat_starts + n, -1)
            covered = np.cumsum(cover[:-1]) > 0
            out[f"dup_{n}gram_char_fraction"] = float(lengths[covered].sum()) / total
    return out


def _c4_kept_lines(lines: list[str]) -> list[str]:
    """The lines C4's line rules keep: ending in terminal punctuation (not an ellipsis), at least
    three words, no word over 1000 characters, no "javascript", no cookie/policy boilerplate."""
    kept = []
    for line in lines:
        lowered = line.lower()
        words = line.split()
        if (
            line.endswith(C4_TERMINAL_PUNCTUATION)
            and not line.endswith(ELLIPSES)
            and len(words) >= C4_MIN_WORDS_PER_LINE
            and max(len(w) for w in words) <= C4_MAX_WORD_CHARS
            and "javascript" not in lowered
            and not any(p in lowered for p in C4_POLICY_PHRASES)
        ):
            kept.append(line)
    return kept


def quality_signals(text: str, language: str | None = None) -> dict[str, float]:
    """Every signal the filters read, by name (NaN where a signal does not apply)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    paragraphs = [p.strip() for p in _PARAGRAPH_SPLIT.split(text) if p.strip()]
    tokens = text.split()
    # A "word" is a token with at least one letter or digit (bare punctuation is not a word).
    words = [t for t in tokens if _HAS_ALNUM.search(t)]
    stripped = [w.strip(_STRIP_PUNCT).lower() for w in words]
    n_words, n_lines = len(words), len(lines)
    chars = len(text)
    non_newline_chars = max(1, chars - text.count("\n"))
    dup_lines, dup_line_chars = _duplicates(lines)
    dup_paras, dup_para_chars = _duplicates(paragraphs)
    stop_words = STOP_WORDS.get(language or "")
    c4_lines = _c4_kept_lines(lines)
    lowered = text.lower()
    signals = {
        "word_count": float(n_words),
        "char_count": float(chars),
        "line_count": float(n_lines),
        "mean_word_length": (sum(len(w) for w in stripped) / n_words) if n_words else 0.0,
        "symbol_word_ratio": (text.count("#") + sum(text.count(e) for e in ELLIPSES)) / max(1, n_words),
        "bullet_line_fraction": sum(1 for line in lines if line.startswith(BULLETS)) / max(1, n_lines),
        "ellipsis_line_fraction": sum(1 for line in lines if line.endswith(ELLIPSES)) / max(1, n_lines),
        "alpha_word_fraction": (sum(1 for t in tokens if _HAS_LETTER.search(t)) / len(tokens) if tokens else 0.0),
        "stop_word_count": float(sum(1 for w in stripped if w in stop_words)) if stop_words else math.nan,
        "dup_line_fraction": dup_lines / max(1, n_lines),
        "dup_paragraph_fraction": dup_paras / max(1, len(paragraphs)),
        "dup_line_char_fraction": dup_line_chars / non_newline_chars,
        "dup_paragraph_char_fraction": dup_para_chars / non_newline_chars,
        "c4_sentence_count": float(sum(len(_SENTENCE_END.findall(line)) for line in c4_lines)),
        "c4_removed_line_fraction": (n_lines - len(c4_lines)) / max(1, n_lines),
        "lorem_ipsum_count": float(lowered.count("lorem ipsum")),
        "curly_bracket_count": float(text.count("{")),
        "line_punct_fraction": sum(1 for line in lines if line.endswith(TERMINAL_PUNCTUATION)) / max(1, n_lines),
        "short_line_fraction": sum(1 for line in lines if len(line) <= SHORT_LINE_CHARS) / max(1, n_lines),
        "newlines_per_word": text.count("\n") / max(1, n_words),
    }
    signals.update(_ngram_signals([w for w in stripped if w]))
    return signals


# ------------------------------------------------------------------------------------------------
# Filters: one function per rule. Each reads a signal and a threshold, and returns a Decision.
# ------------------------------------------------------------------------------------------------

Rule = Callable[[dict[str, float], dict[str, float]], Decision]


def _at_least(signals: dict, thresholds: dict, signal: str, key: str, reason: str) -> Decision:
    value, limit = signals[signal], thresholds[key]
    if value is None or math.isnan(value):
        return Decision(key, True, None, None, limit)
    kept = value >= limit
    return Decision(key, kept, None if kept else reason, float(value), limit)


def _at_most(signals: dict, thresholds: dict, signal: str, key: str, reason: str) -> Decision:
    value, limit = signals[signal], thresholds[key]
    kept = value <= limit
    return Decision(key, kept, None if kept else reason, float(value), limit)


def gopher_min_words(s: dict, t: dict) -> Decision:
    # Gopher: fewer than 50 words is too little text to be a useful document.
    return _at_least(s, t, "word_count", "gopher_min_words", "gopher_too_few_words")


def gopher_max_words(s: dict, t: dict) -> Decision:
    # Gopher: over 100,000 words is usually a dump (logs, data), not prose.
    return _at_most(s, t, "word_count", "gopher_max_words", "gopher_too_many_words")


def gopher_min_mean_word_length(s: dict, t: dict) -> Decision:
    # Gopher: a mean word length under 3 characters signals fragments, codes or lists of symbols.
    return _at_least(s, t, "mean_word_length", "gopher_min_mean_word_length", "gopher_mean_word_length_low")


def gopher_max_mean_word_length(s: dict, t: dict) -> Decision:
    # Gopher: a mean word length over 10 characters signals URLs, hashes or concatenated tokens.
    return _at_most(s, t, "mean_word_length", "gopher_max_mean_word_length", "gopher_mean_word_length_high")


def gopher_symbol_word_ratio(s: dict, t: dict) -> Decision:
    # Gopher: more than 0.1 hash symbols or ellipses per word marks tag clouds and truncated teasers.
    return _at_most(s, t, "symbol_word_ratio", "gopher_max_symbol_word_ratio", "gopher_symbol_word_ratio")


def gopher_bullet_lines(s: dict, t: dict) -> Decision:
    # Gopher: over 90% of lines starting with a bullet is a list page, not running text.
    return _at_most(s, t, "bullet_line_fraction", "gopher_max_bullet_line_fraction", "gopher_bullet_lines")


def gopher_ellipsis_lines(s: dict, t: dict) -> Decision:
    # Gopher: over 30% of lines ending in an ellipsis is a page of truncated previews.
    return _at_most(s, t, "ellipsis_line_fraction", "gopher_max_ellipsis_line_fraction", "gopher_ellipsis_lines")


def gopher_alpha_words(s: dict, t: dict) -> Decision:
    # Gopher: at least 80% of words must contain a letter (else: numbers, tables, symbols).
    return _at_least(s, t, "alpha_word_fraction", "gopher_min_alpha_word_fraction", "gopher_alpha_words")


def gopher_stop_words(s: dict, t: dict) -> Decision:
    # Gopher: real sentences use function words; fewer than 2 of "the, be, to, of, and, that,
    # have, with" (or the detected language's equivalents) means keyword lists or gibberish.
    return _at_least(s, t, "stop_word_count", "gopher_min_stop_words", "gopher_stop_words")


def gopher_dup_lines(s: dict, t: dict) -> Decision:
    # Gopher repetition: over 30% of lines repeating an earlier line is boilerplate or spam.
    return _at_most(s, t, "dup_line_fraction", "gopher_max_dup_line_fraction", "gopher_dup_lines")


def gopher_dup_paragraphs(s: dict, t: dict) -> Decision:
    # Gopher repetition: over 30% of paragraphs repeating an earlier one.
    return _at_most(s, t, "dup_paragraph_fraction", "gopher_max_dup_paragraph_fraction", "gopher_dup_paragraphs")


def gopher_dup_line_chars(s: dict, t: dict) -> Decision:
    # Gopher repetition: over 20% of the characters in repeated lines.
    return _at_most(s, t, "dup_line_char_fraction", "gopher_max_dup_line_char_fraction", "gopher_dup_line_chars")


def gopher_dup_paragraph_chars(s: dict, t: dict) -> Decision:
    # Gopher repetition: over 20% of the characters in repeated paragraphs.
    return _at_most(
        s, t, "dup_paragraph_char_fraction", "gopher_max_dup_paragraph_char_fraction", "gopher_dup_paragraph_chars"
    )


def _top_ngram_rule(n: int) -> Rule:
    def rule(s: dict, t: dict) -> Decision:
        # Gopher repetition: the most frequent word n-gram (n=2,3,4) covering more than 20%, 18%,
        # 16% of the characters is keyword stuffing.
        return _at_most(
            s, t, f"top_{n}gram_char_fraction", f"gopher_max_top_{n}gram_char_fraction", f"gopher_top_{n}gram"
        )

    rule.__name__ = f"gopher_top_{n}gram"
    return rule


def _dup_ngram_rule(n: int) -> Rule:
    def rule(s: dict, t: dict) -> Decision:
        # Gopher repetition: repeated word n-grams (n=5..10) covering more than 15%..10% of the
        # characters are copied blocks of text.
        return _at_most(
            s, t, f"dup_{n}gram_char_fraction", f"gopher_max_dup_{n}gram_char_fraction", f"gopher_dup_{n}gram"
        )

    rule.__name__ = f"gopher_dup_{n}gram"
    return rule


def c4_sentences(s: dict, t: dict) -> Decision:
    # C4: after dropping lines without terminal punctuation, with fewer than 3 words, with
    # "javascript" or with cookie/policy notices, a page needs at least 5 sentences.
    return _at_least(s, t, "c4_sentence_count", "c4_min_sentences", "c4_too_few_sentences")


def c4_lorem_ipsum(s: dict, t: dict) -> Decision:
    # C4: "lorem ipsum" marks placeholder pages.
    return _at_most(s, t, "lorem_ipsum_count", "c4_max_lorem_ipsum", "c4_lorem_ipsum")


def c4_curly_bracket(s: dict, t: dict) -> Decision:
    # C4: a curly bracket marks code; C4 drops such pages (raise the threshold for code corpora).
    return _at_most(s, t, "curly_bracket_count", "c4_max_curly_brackets", "c4_curly_bracket")


def fineweb_line_punct(s: dict, t: dict) -> Decision:
    # FineWeb: fewer than 12% of lines ending in punctuation means menus, lists and fragments.
    return _at_least(s, t, "line_punct_fraction", "fineweb_min_line_punct_fraction", "fineweb_line_punct_ratio")


def fineweb_short_lines(s: dict, t: dict) -> Decision:
    # FineWeb: more than 67% of lines of at most 30 characters is navigation or a list.
    return _at_most(s, t, "short_line_fraction", "fineweb_max_short_line_fraction", "fineweb_short_line_ratio")


def fineweb_dup_line_chars(s: dict, t: dict) -> Decision:
    # FineWeb: more than 1% of characters in lines that repeat an earlier line.
    return _at_most(s, t, "dup_line_char_fraction", "fineweb_max_dup_line_char_fraction", "fineweb_char_dup_ratio")


def fineweb_newlines(s: dict, t: dict) -> Decision:
    # FineWeb: more than 0.3 line breaks per word is a list of short items.
    return _at_most(s, t, "newlines_per_word", "fineweb_max_newlines_per_word", "fineweb_list_ratio")


RULES: tuple[Rule, ...] = (
    gopher_min_words,
    gopher_max_words,
    gopher_min_mean_word_length,
    gopher_max_mean_word_length,
    gopher_symbol_word_ratio,
    gopher_bullet_lines,
    gopher_ellipsis_lines,
    gopher_alpha_words,
    gopher_stop_words,
    gopher_dup_lines,
    gopher_dup_paragraphs,
    gopher_dup_line_chars,
    gopher_dup_paragraph_chars,
    *(_top_ngram_rule(n) for n in TOP_NGRAMS),
    *(_dup_ngram_rule(n) for n in DUP_NGRAMS),
    c4_sentences,
    c4_lorem_ipsum,
    c4_curly_bracket,
    fineweb_line_punct,
    fineweb_short_lines,
    fineweb_dup_line_chars,
    fineweb_newlines,
)


def apply_filters(signals: dict[str, float], thresholds: dict[str, float]) -> list[Decision]:
    """The verdict of every rule (all rules run; none short-circuits)."""
    return [rule(signals, thresholds) for rule in RULES]


def quality_score(signals: dict[str, float], decisions: list[Decision]) -> float:
    """A 0..1 score for ranking and sampling (not a filter). The mean of the share of rules
    passed and four signals that rise with prose quality (letters in words, lines ending in
    punctuation, absence of repeated lines, length saturating at 500 words); halved for a
    dropped document, so every kept document ranks above every dropped one."""
    passed = sum(d.kept for d in decisions) / len(decisions) if decisions else 0.0
    parts = (
        passed,
        min(1.0, signals.get("alpha_word_fraction", 0.0)),
        min(1.0, signals.get("line_punct_fraction", 0.0) / 0.5),
        1.0 - min(1.0, signals.get("dup_line_char_fraction", 0.0)),
        min(1.0, math.log1p(signals.get("word_count", 0.0)) / math.log1p(500)),
    )
    score = sum(parts) / len(parts)
    return round(score if all(d.kept for d in decisions) else score / 2, 4)
