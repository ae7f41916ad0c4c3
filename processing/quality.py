"""Filters: every rule with its signal, its threshold in each profile, its reason code and the
category of what it catches. Signals come from `processing.signals`.

Two profiles (`clean.profile`, overridable per source):
* `domain` (default): the user's own documentation, knowledge base, articles, support content.
  Junk detectors, thin pages and language rules drop a document from the corpus. The published
  open-web rules (Gopher, C4, FineWeb) run with thresholds relaxed for reference pages, on the
  prose lines only, and only gate the *training* export (category `web_quality`); some do not run
  at all (a `{` is code, a changelog is a list, a reference page repeats its option lists).
* `web`: open-web crawls for pretraining: the published thresholds, and every rule drops.
Custom thresholds (`clean.filters`, `sources[].filters`) override either profile.

Rule sets and their published thresholds (the `web` column):
* Gopher quality and repetition rules: Rae et al. 2021, "Scaling Language Models: Methods,
  Analysis & Insights from Training Gopher", appendix A.1.1 and table A1.
* C4 rules: Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified
  Text-to-Text Transformer", section 2.2.
* FineWeb rules: Penedo et al. 2024, "The FineWeb Datasets" (datatrove's FineWebQualityFilter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from corpusforge.processing.signals import quality_signals

__all__ = [
    "CATEGORIES",
    "CORPUS_CATEGORIES",
    "DEFAULT_PROFILE",
    "FILTERS",
    "PROFILES",
    "Decision",
    "Filter",
    "UnknownThresholdError",
    "apply_filters",
    "category_of",
    "merge_thresholds",
    "profile_thresholds",
    "quality_score",
    "quality_signals",
]

Profile = Literal["domain", "web"]
PROFILES: tuple[str, ...] = ("domain", "web")
DEFAULT_PROFILE = "domain"

# What a drop reason says about a document; exports gate on these (and `duplicates`, from dedup).
# `unusable` (nothing could be extracted) keeps a document out of every export whatever the gate.
CATEGORIES = ("junk", "thin", "boilerplate", "language", "web_quality", "unusable")
# The categories that take a document out of the corpus (`documents.kept` false), per profile;
# the others only gate the exports that name them (the training export names `web_quality`).
CORPUS_CATEGORIES: dict[str, frozenset[str]] = {
    "domain": frozenset({"junk", "thin", "boilerplate", "language"}),
    "web": frozenset(CATEGORIES),
}


@dataclass(frozen=True)
class Filter:
    name: str  # the threshold's key, e.g. "gopher_min_words"
    signal: str
    bound: Literal["min", "max"]  # the signal must be at least / at most the threshold
    reason: str  # stable reason code when it drops
    category: str
    web: float | None  # threshold in the web profile (None: the rule does not run)
    domain: float | None  # threshold in the domain profile
    why: str  # the heuristic, one line


def _f(name, signal, bound, reason, category, web, domain, why) -> Filter:
    return Filter(name, signal, bound, reason, category, web, domain, why)


W, J, T = "web_quality", "junk", "thin"
FILTERS: tuple[Filter, ...] = (
    # Size
    _f("gopher_min_words", "word_count", "min", "gopher_too_few_words", T, 50, 50,
       "under 50 words (code and tables count) is too little to be a document"),
    _f("gopher_max_words", "word_count", "max", "gopher_too_many_words", W, 100_000, 100_000,
       "over 100,000 words is a dump (logs, data), not a document"),
    # Gopher quality, on prose
    _f("gopher_min_mean_word_length", "mean_word_length", "min", "gopher_mean_word_length_low", W, 3, 2,
       "short mean word length: fragments, codes, lists of symbols"),
    _f("gopher_max_mean_word_length", "mean_word_length", "max", "gopher_mean_word_length_high", W, 10, 14,
       "long mean word length: URLs, hashes, concatenated tokens"),
    _f("gopher_max_symbol_word_ratio", "symbol_word_ratio", "max", "gopher_symbol_word_ratio", W, 0.1, 0.2,
       "hash signs and ellipses per word: tag clouds, truncated teasers"),
    _f("gopher_max_bullet_line_fraction", "bullet_line_fraction", "max", "gopher_bullet_lines", W, 0.9, None,
       "mostly bullet lines: a list page (domain: changelogs and option lists are lists)"),
    _f("gopher_max_ellipsis_line_fraction", "ellipsis_line_fraction", "max", "gopher_ellipsis_lines", W, 0.3, 0.3,
       "lines ending in an ellipsis: truncated previews"),
    _f("gopher_min_alpha_word_fraction", "alpha_word_fraction", "min", "gopher_alpha_words", W, 0.8, 0.5,
       "words without a letter: numbers, tables, symbols"),
    _f("gopher_min_stop_words", "stop_word_count", "min", "gopher_stop_words", W, 2, 2,
       "fewer than 2 everyday function words: keyword lists or gibberish"),
    # Gopher repetition, on prose lines
    _f("gopher_max_dup_line_fraction", "dup_line_fraction", "max", "gopher_dup_lines", W, 0.30, None,
       "lines repeating an earlier line: boilerplate or spam"),
    _f("gopher_max_dup_paragraph_fraction", "dup_paragraph_fraction", "max", "gopher_dup_paragraphs", W, 0.30, 0.5,
       "paragraphs repeating an earlier one"),
    _f("gopher_max_dup_line_char_fraction", "dup_line_char_fraction", "max", "gopher_dup_line_chars", W, 0.20, None,
       "characters in repeated lines"),
    _f("gopher_max_dup_paragraph_char_fraction", "dup_paragraph_char_fraction", "max", "gopher_dup_paragraph_chars",
       W, 0.20, 0.4, "characters in repeated paragraphs"),
    *(
        _f(f"gopher_max_top_{n}gram_char_fraction", f"top_{n}gram_char_fraction", "max", f"gopher_top_{n}gram", W,
           web, None, f"the most frequent word {n}-gram covers too many characters: keyword stuffing")
        for n, web in ((2, 0.20), (3, 0.18), (4, 0.16))
    ),
    *(
        _f(f"gopher_max_dup_{n}gram_char_fraction", f"dup_{n}gram_char_fraction", "max", f"gopher_dup_{n}gram", W,
           web, None, f"repeated word {n}-grams cover too many characters: copied blocks")
        for n, web in ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))
    ),
    # C4
    _f("c4_min_sentences", "c4_sentence_count", "min", "c4_too_few_sentences", W, 5, 1,
       "after C4's line rules, too few sentences of prose"),
    _f("c4_max_lorem_ipsum", "lorem_ipsum_count", "max", "c4_lorem_ipsum", J, 0, 0, "'lorem ipsum' marks placeholders"),
    _f("c4_max_curly_brackets", "curly_bracket_count", "max", "c4_curly_bracket", W, 0, None,
       "a curly bracket marks code (C4 drops it; documentation has code)"),
    # FineWeb, on prose lines
    _f("fineweb_min_line_punct_fraction", "line_punct_fraction", "min", "fineweb_line_punct_ratio", W, 0.12, None,
       "few lines ending in punctuation: menus, lists, fragments"),
    _f("fineweb_max_short_line_fraction", "short_line_fraction", "max", "fineweb_short_line_ratio", W, 0.67, None,
       "mostly lines of at most 30 characters: navigation or a list"),
    _f("fineweb_max_dup_line_char_fraction", "dup_line_char_fraction", "max", "fineweb_char_dup_ratio", W, 0.01, None,
       "more than 1% of characters in repeated lines"),
    _f("fineweb_max_newlines_per_word", "newlines_per_word", "max", "fineweb_list_ratio", W, 0.3, None,
       "many line breaks per word: a list of short items"),
    # Junk detectors (processing/junk.py): both profiles
    _f("junk_max_error_page", "error_page_score", "max", "error_page", J, 0.5, 0.5,
       "a short page that opens like an error page (soft 404, error served with 200)"),
    _f("junk_max_consent_wall_phrases", "consent_wall_phrases", "max", "consent_wall", J, 2, 2,
       "a short page of cookie-consent phrases"),
    _f("junk_max_javascript_wall_phrases", "javascript_wall_phrases", "max", "javascript_wall", J, 0, 0,
       "a short page asking to enable JavaScript"),
    _f("junk_max_login_wall_phrases", "login_wall_phrases", "max", "login_wall", J, 1, 1,
       "a short page that gates its content behind an account (sign in to continue, members only)"),
    _f("junk_max_coming_soon", "coming_soon_score", "max", "coming_soon", J, 0.5, 0.5,
       "a stub announcing content that is not there"),
    _f("junk_max_external_link_fraction", "external_link_list_fraction", "max", "link_list", J, 0.75, 0.75,
       "most of the main text is links to other sites: a link farm or web directory"),
    _f("max_link_char_fraction", "link_char_fraction", "max", "navigation_page", W, 0.75, 0.75,
       "most of the main text is links within the site: a table of contents or an index"),
    _f("junk_max_tag_cloud_score", "tag_cloud_score", "max", "tag_cloud", J, 0.3, 0.3,
       "lines that are runs of bare terms: a tag cloud"),
    _f("junk_max_filler_phrase_rate", "filler_phrase_rate", "max", "filler", J, 2.0, 2.0,
       "marketing filler phrases per 100 words"),
    _f("junk_max_top10_word_fraction", "top10_word_fraction", "max", "keyword_stuffing", J, 0.65, 0.65,
       "ten content words make up most of the prose"),
    _f("junk_min_function_word_fraction", "function_word_fraction", "min", "gibberish", J, 0.08, 0.08,
       "too few function words: a bag of random words"),
    _f("junk_max_article_misuse_fraction", "article_misuse_fraction", "max", "gibberish_word_order", J, 0.25, 0.25,
       "articles followed by function words: words in random order"),
    _f("junk_max_price_list_score", "price_list_score", "max", "price_list", J, 0.3, 0.3,
       "prices on most lines and little prose: a price list"),
    _f("max_boilerplate_line_fraction", "boilerplate_line_fraction", "max", "boilerplate", "boilerplate", 0.4, 0.4,
       "most lines are site boilerplate: policies, copyright, share and subscribe"),
    _f("junk_max_repeated_line_fraction", "dup_line_fraction", "max", "repeated_lines", J, 0.5, 0.5,
       "over half of the lines repeat an earlier line"),
)  # fmt: skip

FILTERS_BY_NAME: dict[str, Filter] = {f.name: f for f in FILTERS}
_REASON_CATEGORY: dict[str, str] = {f.reason: f.category for f in FILTERS}
# Reasons recorded outside the filter table (extraction, language list).
_REASON_CATEGORY.update({"language_not_allowed": "language"})
EXTRACTION_REASONS = ("empty_body", "empty_extraction", "extract_failed", "extract_timeout", "unsupported_content_type")
_REASON_CATEGORY.update({reason: "unusable" for reason in EXTRACTION_REASONS})


class UnknownThresholdError(ValueError):
    """A filter override names a threshold that does not exist, or a profile is unknown."""


def category_of(reason: str) -> str:
    """The category of a drop reason (an unknown code counts as junk)."""
    return _REASON_CATEGORY.get(reason, "junk")


def reasons_in(category: str) -> tuple[str, ...]:
    """Every reason code of a category."""
    return tuple(sorted(r for r, c in _REASON_CATEGORY.items() if c == category))


def profile_thresholds(profile: str = DEFAULT_PROFILE) -> dict[str, float]:
    """The thresholds of the rules a profile runs."""
    if profile not in PROFILES:
        raise UnknownThresholdError(f"unknown filter profile {profile!r}; known: {', '.join(PROFILES)}")
    return {f.name: float(getattr(f, profile)) for f in FILTERS if getattr(f, profile) is not None}


def merge_thresholds(profile: str = DEFAULT_PROFILE, *overrides: dict[str, float]) -> dict[str, float]:
    """The profile's thresholds, then each override in order (global settings, then the
    source's). An override may switch on a rule the profile does not run."""
    merged = profile_thresholds(profile)
    for override in overrides:
        for key, value in (override or {}).items():
            if key not in FILTERS_BY_NAME:
                raise UnknownThresholdError(
                    f"unknown filter threshold {key!r}; known: {', '.join(sorted(FILTERS_BY_NAME))}"
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


def judge(rule: Filter, value: float | None, threshold: float) -> Decision:
    """One rule's verdict; a signal that does not apply (None/NaN) keeps the document."""
    if value is None or math.isnan(value):
        return Decision(rule.name, True, None, None, threshold)
    kept = value >= threshold if rule.bound == "min" else value <= threshold
    return Decision(rule.name, kept, None if kept else rule.reason, float(value), threshold)


def apply_filters(signals: dict[str, float], thresholds: dict[str, float]) -> list[Decision]:
    """The verdict of every rule that has a threshold (all run; none short-circuits)."""
    return [judge(f, signals.get(f.signal), thresholds[f.name]) for f in FILTERS if f.name in thresholds]


def corpus_drops(decisions: list[Decision], profile: str = DEFAULT_PROFILE) -> list[str]:
    """The reasons that take a document out of the corpus under a profile (see CORPUS_CATEGORIES)."""
    corpus = CORPUS_CATEGORIES[profile]
    return [d.reason for d in decisions if not d.kept and category_of(d.reason) in corpus]


def quality_score(signals: dict[str, float], decisions: list[Decision]) -> float:
    """A 0..1 score for ranking and sampling (not a filter). The mean of the share of rules
    passed and four signals that rise with prose quality (letters in words, lines ending in
    punctuation, absence of repeated lines, length saturating at 500 words); halved for a
    document that fails any rule, so every clean document ranks above every flagged one."""

    def signal(name: str, default: float) -> float:
        value = signals.get(name, default)
        return default if value is None or math.isnan(value) else value

    passed = sum(d.kept for d in decisions) / len(decisions) if decisions else 0.0
    parts = (
        passed,
        min(1.0, signal("alpha_word_fraction", 1.0)),
        min(1.0, signal("line_punct_fraction", 0.5) / 0.5),
        1.0 - min(1.0, signal("dup_line_char_fraction", 0.0)),
        min(1.0, math.log1p(signal("word_count", 0.0)) / math.log1p(500)),
    )
    score = sum(parts) / len(parts)
    return round(score if all(d.kept for d in decisions) else score / 2, 4)
