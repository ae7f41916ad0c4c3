"""Every filter of the web profile (the published Gopher / C4 / FineWeb thresholds) on hand-made
texts just inside and just outside its threshold. Plain text is all prose to the signals."""

from __future__ import annotations

import math

import pytest

from corpusforge.processing.clean import CleanConfig, judge_text
from corpusforge.processing.quality import (
    UnknownThresholdError,
    apply_filters,
    merge_thresholds,
    profile_thresholds,
    quality_score,
    quality_signals,
)

CONSONANTS = "bcdfghjklmnpqrstvwxz"


def unique_words(count: int, length: int = 5, offset: int = 0) -> list[str]:
    """`count` distinct lowercase words of `length` letters (no stop words, no repeats)."""
    words = []
    for i in range(offset, offset + count):
        letters = []
        for _ in range(length):
            i, r = divmod(i, len(CONSONANTS))
            letters.append(CONSONANTS[r])
        words.append("".join(letters))
    return words


def verdict(text: str, key: str, language: str = "en", **overrides):
    signals = quality_signals(text, language)
    decisions = {d.filter: d for d in apply_filters(signals, merge_thresholds("web", overrides))}
    return decisions[key]


def assert_kept(text: str, key: str, **kw) -> None:
    decision = verdict(text, key, **kw)
    assert decision.kept, decision
    assert decision.reason is None


def assert_dropped(text: str, key: str, reason: str, **kw) -> None:
    decision = verdict(text, key, **kw)
    assert not decision.kept, decision
    assert decision.reason == reason


def test_every_threshold_has_a_rule_and_all_rules_run():
    decisions = apply_filters(quality_signals("The cat sat on the mat.", "en"), merge_thresholds("web"))
    assert {d.filter for d in decisions} == set(profile_thresholds("web"))


def test_gopher_word_count():
    assert_kept(" ".join(unique_words(50)), "gopher_min_words")
    assert_dropped(" ".join(unique_words(49)), "gopher_min_words", "gopher_too_few_words")
    assert_kept(" ".join(["word"] * 100_000), "gopher_max_words")
    assert_dropped(" ".join(["word"] * 100_001), "gopher_max_words", "gopher_too_many_words")


def test_gopher_mean_word_length():
    assert_kept(" ".join(unique_words(100, 3)), "gopher_min_mean_word_length")
    short = unique_words(99, 3) + ["bc"]  # mean 2.99
    assert_dropped(" ".join(short), "gopher_min_mean_word_length", "gopher_mean_word_length_low")
    assert_kept(" ".join(unique_words(100, 10)), "gopher_max_mean_word_length")
    long = unique_words(99, 10) + ["b" * 11]  # mean 10.01
    assert_dropped(" ".join(long), "gopher_max_mean_word_length", "gopher_mean_word_length_high")


def test_gopher_symbol_word_ratio():
    words = unique_words(100)
    assert_kept(" ".join(words + ["#"] * 10), "gopher_max_symbol_word_ratio")
    assert_dropped(
        " ".join(words + ["#"] * 9 + ["..."] * 2), "gopher_max_symbol_word_ratio", "gopher_symbol_word_ratio"
    )


def _lines(n: int) -> list[str]:
    return [f"{' '.join(unique_words(6, offset=i * 6))} end." for i in range(n)]


def test_gopher_bullet_lines():
    lines = _lines(20)
    at_limit = [f"- {line}" for line in lines[:18]] + lines[18:]  # 90%
    assert_kept("\n".join(at_limit), "gopher_max_bullet_line_fraction")
    over = [f"• {line}" for line in lines[:19]] + lines[19:]  # 95%
    assert_dropped("\n".join(over), "gopher_max_bullet_line_fraction", "gopher_bullet_lines")


def test_gopher_ellipsis_lines():
    lines = _lines(10)
    at_limit = [line[:-1] + "..." for line in lines[:3]] + lines[3:]
    assert_kept("\n".join(at_limit), "gopher_max_ellipsis_line_fraction")
    over = [line[:-1] + "…" for line in lines[:4]] + lines[4:]
    assert_dropped("\n".join(over), "gopher_max_ellipsis_line_fraction", "gopher_ellipsis_lines")


def test_gopher_alpha_words():
    numbers = [str(1000 + i) for i in range(20)]
    assert_kept(" ".join(unique_words(80) + numbers), "gopher_min_alpha_word_fraction")
    assert_dropped(
        " ".join(unique_words(79) + numbers + ["9999"]), "gopher_min_alpha_word_fraction", "gopher_alpha_words"
    )


def test_gopher_stop_words():
    words = unique_words(60)
    assert_kept(" ".join(words + ["the", "with"]), "gopher_min_stop_words")
    assert_dropped(" ".join(words + ["the"]), "gopher_min_stop_words", "gopher_stop_words")
    # German uses its own list; a language without a list skips the rule.
    assert_kept(" ".join(words + ["und", "der"]), "gopher_min_stop_words", language="de")
    skipped = verdict(" ".join(words), "gopher_min_stop_words", language="xx")
    assert skipped.kept and skipped.value is None


def test_gopher_duplicate_lines_and_their_characters():
    lines = _lines(10)
    three_repeats = lines[:7] + lines[:3]  # 30% of lines repeat an earlier one
    assert_kept("\n".join(three_repeats), "gopher_max_dup_line_fraction")
    four_repeats = lines[:6] + lines[:4]
    assert_dropped("\n".join(four_repeats), "gopher_max_dup_line_fraction", "gopher_dup_lines")
    # Equal-length lines: 2 of 10 repeated = 20% of the characters.
    assert_kept("\n".join(lines[:8] + lines[:2]), "gopher_max_dup_line_char_fraction")
    assert_dropped("\n".join(three_repeats), "gopher_max_dup_line_char_fraction", "gopher_dup_line_chars")


def test_gopher_duplicate_paragraphs_and_their_characters():
    paras = _lines(10)
    assert_kept("\n\n".join(paras[:7] + paras[:3]), "gopher_max_dup_paragraph_fraction")
    assert_dropped("\n\n".join(paras[:6] + paras[:4]), "gopher_max_dup_paragraph_fraction", "gopher_dup_paragraphs")
    assert_kept("\n\n".join(paras[:8] + paras[:2]), "gopher_max_dup_paragraph_char_fraction")
    assert_dropped(
        "\n\n".join(paras[:7] + paras[:3]), "gopher_max_dup_paragraph_char_fraction", "gopher_dup_paragraph_chars"
    )


def _with_repeated_ngram(n: int, occurrences: int, total_words: int) -> str:
    """5-letter words: one n-gram `occurrences` times, separated by unique words, `total_words` in all."""
    gram = unique_words(n, offset=50_000)
    filler = iter(unique_words(total_words))
    words: list[str] = []
    for _ in range(occurrences):
        words += gram + [next(filler)]
    while len(words) < total_words:
        words.append(next(filler))
    assert len(words) == total_words
    return " ".join(words)


@pytest.mark.parametrize(
    ("n", "occurrences", "total_words"),
    [(2, 4, 40), (3, 6, 100), (4, 4, 100)],  # exactly 20%, 18%, 16% of the characters
)
def test_gopher_top_ngram(n, occurrences, total_words):
    key = f"gopher_max_top_{n}gram_char_fraction"
    assert_kept(_with_repeated_ngram(n, occurrences, total_words), key)
    assert_dropped(_with_repeated_ngram(n, occurrences, total_words - 1), key, f"gopher_top_{n}gram")


@pytest.mark.parametrize(
    ("n", "repeats", "total_words"),
    # repeated characters / all characters = n * repeats / total_words = 15%, 14%, ..., 10%
    [(5, 3, 100), (6, 7, 300), (7, 13, 700), (8, 3, 200), (9, 11, 900), (10, 1, 100)],
)
def test_gopher_duplicated_ngram(n, repeats, total_words):
    key = f"gopher_max_dup_{n}gram_char_fraction"
    text = _with_repeated_ngram(n, repeats + 1, total_words)
    assert math.isclose(verdict(text, key).value, profile_thresholds("web")[key])
    assert_kept(text, key)
    assert_dropped(_with_repeated_ngram(n, repeats + 1, total_words - 1), key, f"gopher_dup_{n}gram")


def test_c4_sentences_counts_only_lines_c4_keeps():
    sentences = [f"This line has words {w}." for w in unique_words(5)]
    assert_kept("\n".join(sentences), "c4_min_sentences")
    assert_dropped("\n".join(sentences[:4]), "c4_min_sentences", "c4_too_few_sentences")
    # Lines without terminal punctuation, too short, with javascript or cookie notices do not count.
    noise = [
        "A heading without a full stop",
        "Too short.",
        "Please enable JavaScript in your browser.",
        "This site uses cookies to work.",
    ]
    assert_dropped("\n".join(sentences[:4] + noise), "c4_min_sentences", "c4_too_few_sentences")


def test_c4_lorem_ipsum_and_curly_bracket():
    text = " ".join(unique_words(60))
    assert_kept(text, "c4_max_lorem_ipsum")
    assert_dropped(text + " Lorem ipsum dolor sit amet.", "c4_max_lorem_ipsum", "c4_lorem_ipsum")
    assert_kept(text, "c4_max_curly_brackets")
    assert_dropped(text + " {", "c4_max_curly_brackets", "c4_curly_bracket")
    assert_kept(text + " {", "c4_max_curly_brackets", c4_max_curly_brackets=1)  # a code corpus raises it


def test_fineweb_line_punctuation():
    words = unique_words(400)
    lines = [" ".join(words[i * 4 : i * 4 + 4]) for i in range(100)]
    at_limit = [line + "." for line in lines[:12]] + lines[12:]
    assert_kept("\n".join(at_limit), "fineweb_min_line_punct_fraction")
    under = [line + "." for line in lines[:11]] + lines[11:]
    assert_dropped("\n".join(under), "fineweb_min_line_punct_fraction", "fineweb_line_punct_ratio")


def test_fineweb_short_lines():
    short = [" ".join(unique_words(4, offset=i * 4)) for i in range(100)]  # 23 characters
    long = [" ".join(unique_words(6, offset=1000 + i * 6)) for i in range(100)]  # 35 characters
    assert_kept("\n".join(short[:67] + long[:33]), "fineweb_max_short_line_fraction")
    assert_dropped("\n".join(short[:68] + long[:32]), "fineweb_max_short_line_fraction", "fineweb_short_line_ratio")


def test_fineweb_duplicate_line_characters():
    lines = _lines(100)  # equal length
    assert_kept("\n".join(lines[:99] + lines[:1]), "fineweb_max_dup_line_char_fraction")
    assert_dropped("\n".join(lines[:98] + lines[:2]), "fineweb_max_dup_line_char_fraction", "fineweb_char_dup_ratio")


def test_fineweb_newlines_per_word():
    words = unique_words(30)
    lines = [" ".join(words[i * 3 : i * 3 + 3]) for i in range(10)]  # 9 newlines, 30 words
    assert_kept("\n".join(lines), "fineweb_max_newlines_per_word")
    lines[-1] = words[27] + " " + words[28]  # 29 words
    assert_dropped("\n".join(lines), "fineweb_max_newlines_per_word", "fineweb_list_ratio")


def test_language_restriction_and_all_reasons_recorded():
    config = CleanConfig(thresholds=merge_thresholds("web"), profile="web", languages=("de",))
    text = "\n".join(_lines(3))
    signals, decisions = judge_text(text, "en", 0.93, config)
    reasons = [d.reason for d in decisions if not d.kept]
    assert "language_not_allowed" in reasons
    assert "gopher_too_few_words" in reasons and "c4_too_few_sentences" in reasons  # all, not the first
    assert signals["language_score"] == 0.93
    assert 0.0 <= quality_score(signals, decisions) < 0.5  # dropped documents score below 0.5


def test_threshold_overrides_apply_in_order_and_unknown_keys_fail():
    merged = merge_thresholds("web", {"gopher_min_words": 10}, {"gopher_min_words": 20})
    assert merged["gopher_min_words"] == 20
    assert_kept(" ".join(unique_words(20)), "gopher_min_words", gopher_min_words=20)
    with pytest.raises(UnknownThresholdError, match="gopher_min_wrds"):
        merge_thresholds("web", {"gopher_min_wrds": 3})


def test_profile_is_part_of_the_pipeline_version_and_unknown_profiles_fail():
    domain = CleanConfig(thresholds=merge_thresholds("domain"), profile="domain")
    web = CleanConfig(thresholds=merge_thresholds("web"), profile="web")
    # Same thresholds, other profile: still a new version (what `kept` means differs).
    web_thresholds_domain_profile = CleanConfig(thresholds=merge_thresholds("web"), profile="domain")
    versions = {c.pipeline_version() for c in (domain, web, web_thresholds_domain_profile)}
    assert len(versions) == 3
    with pytest.raises(UnknownThresholdError, match="unknown filter profile 'pretraining'"):
        merge_thresholds("pretraining")


def test_prose_tokens_follow_the_word_and_letter_definitions():
    """The shared tokenisation: a word is a whitespace token holding a letter or digit (not "_"),
    lowercased; a letter token holds a letter that is not a digit. Checked against those
    definitions on tokens that are all letters, digits, punctuation, underscores, superscripts,
    non-Latin scripts and mixes of them."""
    import re

    from corpusforge.processing.signals import _prose_tokens

    text = (
        "Plain words, 42 and 3.14 -- --- ___ foo_bar _x_ x² ² Ünïcödé ÇA Straße İstanbul "
        "§ … naïve-ish e-mail user@example.com Ⅻ ٣ Δέλτα Привет (a) [b] {c} `d` *e* #f ½ ①"
    )
    expected_words = [t.lower() for t in text.split() if re.search(r"[^\W_]", t)]
    expected_letters = sum(1 for t in text.split() if re.search(r"[^\W\d_]", t))
    count, words, letters = _prose_tokens(text, "en")
    assert count == len(text.split())
    assert words == [w for w in (t.lower() for t in text.split()) if re.search(r"[^\W_]", w)]
    assert words == expected_words
    assert letters == expected_letters
    assert "___" not in words and "--" not in words and "foo_bar" in words and "²" in words


def _reference_ngram_signals(words: list[str]) -> tuple[dict[int, set[float]], dict[int, float]]:
    """Gopher's n-gram signals by their definitions, with tuples of words: for each top n the
    values a most frequent n-gram gives (ties allow several), and each dup n's fraction."""
    from collections import Counter

    total = sum(map(len, words))
    top = {}
    for n in (2, 3, 4):
        grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
        most = max(grams.values(), default=0)
        top[n] = {most * sum(map(len, g)) / total for g, c in grams.items() if c == most} if most > 1 else {0.0}
    dup = {}
    for n in range(5, 11):
        seen, covered = set(), set()
        for i in range(len(words) - n + 1):
            gram = tuple(words[i : i + n])
            if gram in seen:
                covered.update(range(i, i + n))
            seen.add(gram)
        dup[n] = sum(len(words[i]) for i in covered) / total
    return top, dup


@pytest.mark.parametrize("seed", range(8))
def test_ngram_signals_match_their_definitions(seed):
    """Random texts from small vocabularies of words of different lengths (so n-grams of every
    length repeat, overlap and chain, and differ in characters) against the definitions
    computed with tuples of words."""
    import random

    from corpusforge.processing.signals import ngram_signals

    rng = random.Random(seed)
    vocabulary = [w for length in (1, 3, 7) for w in unique_words(rng.choice([1, 2, 15]), length=length)]
    words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 400))]
    if seed % 2:  # a long passage copied twice, so every dup n finds repeats
        words += words[: len(words) // 2]
    signals = ngram_signals(words)
    top, dup = _reference_ngram_signals(words)
    for n, values in top.items():
        assert any(math.isclose(signals[f"top_{n}gram_char_fraction"], v) for v in values), n
    for n, value in dup.items():
        assert math.isclose(signals[f"dup_{n}gram_char_fraction"], value, abs_tol=1e-12), n
