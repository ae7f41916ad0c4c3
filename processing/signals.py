"""Quality signals: a document's markdown in, every number the filters read out.

The prose lines (see `processing.segment`) are tokenised once; the Gopher, C4 and FineWeb
signals are measured on them, code and tables are measured on their own, and the junk
detectors of `processing.junk` add theirs. A signal that does not apply (no prose at all, a
language without a stop-word list) is NaN, and the rules that read it skip the document.

Counting follows datatrove's implementations of the published rules where the papers leave
details open; the difference is *what* is counted: prose, not code blocks and table rows.
"""

from __future__ import annotations

import math
import re

import numpy as np

from corpusforge.processing import junk
from corpusforge.processing.segment import (
    WORD_PUNCTUATION,
    Segments,
    has_spaceless_script,
    is_spaceless,
    sentence_count,
    split_markdown,
    tokens,
)

TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)
SHORT_LINE_CHARS = 30  # FineWeb: a line of at most 30 characters is "short"
C4_MIN_WORDS_PER_LINE = 3
C4_MAX_WORD_CHARS = 1000
BULLETS = ("•", "●", "○", "◦", "▪", "▫", "‣", "⁃", "-", "*", "·", "–")
ELLIPSES = ("...", "…")
TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "”", "’", "…", ":", "。", "！", "？", "؟", "।", "」", "）")
C4_TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "。", "！", "？")
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
    "zh": frozenset("的 了 是 在 和 有 也 就 都 而 及 与 着 或 一个 没有 我们 你 他 这 那 中 为 以 对".split()),
    "ja": frozenset(
        "の に は を た が で て と し れ さ ある いる も する から な こと として い や れる など".split()
    ),
}

_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
_HAS_ALNUM = re.compile(r"[^\W_]")
_HAS_LETTER = re.compile(r"[^\W\d_]")


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


def _all_ngram_hashes(ids: np.ndarray, longest: int) -> dict[int, np.ndarray]:
    """A 64-bit polynomial hash of every word n-gram, for every n up to `longest` (wrap-around
    arithmetic; collisions are vanishingly rare at document sizes), each from the one before:
    an n-gram's hash is that of its first n - 1 words times the prime plus the last word's id."""
    prime = np.uint64(1_000_003)
    out = {1: ids.copy()}
    for n in range(2, min(longest, len(ids)) + 1):
        out[n] = out[n - 1][:-1] * prime + ids[n - 1 :]
    return out


def ngram_signals(words: list[str]) -> dict[str, float]:
    """Gopher's n-gram repetition signals, as fractions of the characters in all words."""
    out = {f"top_{n}gram_char_fraction": 0.0 for n in TOP_NGRAMS}
    out.update({f"dup_{n}gram_char_fraction": 0.0 for n in DUP_NGRAMS})
    if not words:
        return out
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words), start=1)}  # ids in order of first use
    ids = np.fromiter(map(vocab.__getitem__, words), dtype=np.uint64, count=len(words))
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    total = float(lengths.sum()) or 1.0
    cum = np.concatenate(([0], np.cumsum(lengths)))
    hashes_by_n = _all_ngram_hashes(ids, max(DUP_NGRAMS))
    for n in TOP_NGRAMS:
        if len(words) < n:
            continue
        # Characters in the most frequent n-gram times its count (only when it repeats at all).
        hashes = hashes_by_n[n]
        unique, counts = np.unique(hashes, return_counts=True)
        best = int(counts.argmax())
        if counts[best] > 1:
            start = int(np.argmax(hashes == unique[best]))  # its first occurrence
            out[f"top_{n}gram_char_fraction"] = float(counts[best]) * float(cum[start + n] - cum[start]) / total
    # An (n+1)-gram that repeats an earlier one starts with an n-gram that does, and the earlier
    # one starts with the same n-gram: only positions whose n-gram occurs more than once can hold
    # a repeated longer one, so each longer n looks at those (none, in most prose, after n = 5).
    positions = np.arange(len(words))
    for n in DUP_NGRAMS:  # ascending
        positions = positions[positions < len(words) - n + 1]
        if not len(positions):
            break
        # Characters of words inside n-grams that repeat an earlier n-gram, overlaps counted once.
        # A stable sort puts equal n-grams together in the order of their positions: each one
        # equal to its predecessor in that order repeats an earlier one (one sort, where
        # np.unique with first indices, inverse and counts costs several more passes).
        hashes = hashes_by_n[n][positions]
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        repeats = np.zeros(len(ordered), dtype=bool)
        np.equal(ordered[1:], ordered[:-1], out=repeats[1:])
        if not repeats.any():
            break
        repeat_starts = positions[order[repeats]]
        size = len(words) + 1
        cover = np.bincount(repeat_starts, minlength=size) - np.bincount(repeat_starts + n, minlength=size)
        covered = np.cumsum(cover[:-1]) > 0
        out[f"dup_{n}gram_char_fraction"] = float(lengths[covered].sum()) / total
        shared = repeats.copy()  # n-grams that occur more than once: a repeat or the one repeated
        shared[:-1] |= repeats[1:]
        positions = positions[np.sort(order[shared])]
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
            and (len(words) >= C4_MIN_WORDS_PER_LINE or (words and line.endswith(("。", "！", "？"))))
            and max(map(len, words)) <= C4_MAX_WORD_CHARS
            and "javascript" not in lowered
            and not any(p in lowered for p in C4_POLICY_PHRASES)
        ):
            kept.append(line)
    return kept


def _fraction(count: float, total: float) -> float:
    return count / total if total else math.nan


def _prose_tokens(text: str, language: str | None) -> tuple[int, list[str], int]:
    """The one tokenisation every prose signal shares: (number of tokens, the words lowercased
    (tokens with a letter or digit), number of tokens with a letter)."""
    if has_spaceless_script(text):  # the segmenter splits runs of Chinese and Japanese
        toks = tokens(text, language)
        words = [t.lower() for t in toks if _HAS_ALNUM.search(t)]
        return len(toks), words, sum(1 for t in toks if _HAS_LETTER.search(t))
    # Lowercased before the split: lowercasing never turns a letter into a space or punctuation,
    # so the tokens are those of text.split(), each lowercased.
    toks = text.lower().split()
    words: list[str] = []
    letters = 0
    for tok in toks:
        # Most tokens are all letters (str.isalpha, one C call); only the others are searched.
        # A letter is alphanumeric for both regexes (\w is str.isalnum plus "_", \d is decimal).
        if tok.isalpha():
            words.append(tok)
            letters += 1
        elif _HAS_ALNUM.search(tok):
            words.append(tok)
            letters += _HAS_LETTER.search(tok) is not None
    return len(toks), words, letters


def _prose_signals(seg: Segments, language: str | None) -> tuple[dict[str, float], list[str]]:
    """Gopher / C4 / FineWeb signals on the prose lines; returns them and the prose words."""
    lines = seg.prose
    text = "\n".join(lines)
    n_tokens, words, n_letter_tokens = _prose_tokens(text, language)
    stripped = [w.strip(WORD_PUNCTUATION) for w in words]
    n_words, n_lines = len(words), len(lines)
    non_newline_chars = max(1, len(text) - text.count("\n"))
    dup_lines, dup_line_chars = _duplicates(lines)
    dup_paras, dup_para_chars = _duplicates(seg.prose_paragraphs)
    stop_words = STOP_WORDS.get(language or "")
    c4_lines = _c4_kept_lines(lines)
    signals = {
        "prose_word_count": float(n_words),
        "prose_line_count": float(n_lines),
        # Gopher's word-length bounds describe space-separated languages; a Chinese or Japanese
        # word is one to three characters by nature, so the rule does not apply there.
        "mean_word_length": (math.nan if is_spaceless(text, language) else _fraction(sum(map(len, stripped)), n_words)),
        "symbol_word_ratio": _fraction(text.count("#") + sum(text.count(e) for e in ELLIPSES), n_words),
        "bullet_line_fraction": _fraction(sum(1 for line in lines if line.startswith(BULLETS)), n_lines),
        "ellipsis_line_fraction": _fraction(sum(1 for line in lines if line.endswith(ELLIPSES)), n_lines),
        "alpha_word_fraction": _fraction(n_letter_tokens, n_tokens),
        "stop_word_count": float(sum(map(stop_words.__contains__, stripped))) if stop_words else math.nan,
        "dup_line_fraction": _fraction(dup_lines, n_lines),
        "dup_paragraph_fraction": _fraction(dup_paras, len(seg.prose_paragraphs)),
        "dup_line_char_fraction": dup_line_chars / non_newline_chars if n_lines else math.nan,
        "dup_paragraph_char_fraction": dup_para_chars / non_newline_chars if n_lines else math.nan,
        # one scan of the kept lines joined (no sentence end spans a line break)
        "c4_sentence_count": float(sentence_count("\n".join(c4_lines))),
        "c4_removed_line_fraction": _fraction(n_lines - len(c4_lines), n_lines),
        "line_punct_fraction": _fraction(sum(1 for line in lines if line.endswith(TERMINAL_PUNCTUATION)), n_lines),
        "short_line_fraction": _fraction(sum(1 for line in lines if len(line) <= SHORT_LINE_CHARS), n_lines),
        "newlines_per_word": _fraction(max(0, n_lines - 1), n_words),
    }
    prose_words = [w for w in stripped if w]
    signals.update(ngram_signals(prose_words))
    return signals, prose_words


def quality_signals(
    markdown: str,
    language: str | None = None,
    title: str | None = None,
    link_char_fraction: float = math.nan,
    external_link_share: float = math.nan,
) -> dict[str, float]:
    """Every signal the filters read, by name (NaN where a signal does not apply).

    `markdown` is the extraction's markdown (plain text works too: it is all prose then); the
    link measures come from the page's HTML (see `processing.extract.link_stats`)."""
    seg = split_markdown(markdown)
    prose, prose_words = _prose_signals(seg, language)
    other_text = "\n".join([*seg.headings, *seg.code, *seg.table_rows])
    all_text = "\n".join([*seg.headings, *seg.prose, *seg.code, *seg.table_rows])
    n_lines = seg.line_count
    other_words = sum(1 for t in tokens(other_text, language) if _HAS_ALNUM.search(t))
    signals = {
        # Size counts every word, code and tables included: a short API page with a long
        # signature list is not thin.
        "word_count": prose["prose_word_count"] + other_words,
        "char_count": float(len(all_text)),
        "line_count": float(n_lines),
        "code_line_fraction": _fraction(len(seg.code), n_lines),
        "table_row_fraction": _fraction(len(seg.table_rows), n_lines),
        "lorem_ipsum_count": float(all_text.lower().count("lorem ipsum")),
        # C4 counts every "{" on the page: it is a code detector (the web profile's rule).
        "curly_bracket_count": float(all_text.count("{")),
        "link_char_fraction": float(link_char_fraction),
        "external_link_share": float(external_link_share),
        # A page of links to other sites: a link farm or a web directory (NaN otherwise, so
        # a site's own table of contents is judged by `link_char_fraction` alone).
        "external_link_list_fraction": (float(link_char_fraction) if external_link_share >= 0.5 else math.nan),
        **prose,
    }
    signals.update(junk.junk_signals(seg, prose_words, language, title or ""))
    return signals
