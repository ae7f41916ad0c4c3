"""One page in, one document row out: decode, extract, normalise, identify the language, measure,
judge, redact. Pure: the flow feeds it pages (dicts of `pages` columns) and writes what it returns.

A failure never loses a page: it becomes a document row with kept=False, the reason code in
`drop_reasons` and `error` (the page's bytes stay in `pages` for a re-run).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from importlib.metadata import version

from corpusforge.processing.extract import Extracted, ExtractionError, extract_html, extract_plain_text
from corpusforge.processing.ids import doc_id_for, sha256_hex
from corpusforge.processing.language import identify_language, language_allowed
from corpusforge.processing.pii import redact_pii
from corpusforge.processing.quality import (
    Decision,
    apply_filters,
    corpus_drops,
    quality_score,
    quality_signals,
)
from corpusforge.processing.text import decode_html

# Bump when the code changes what a document row contains: every page is then cleaned again.
CLEAN_CODE_VERSION = "2"  # 2: signals on prose, profiles, junk detectors, CJK words
_LIBRARIES = ("trafilatura", "htmldate", "py3langid", "ftfy", "charset-normalizer")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")


@dataclass(frozen=True)
class CleanConfig:
    """Everything that decides what a page's document row contains (for one source)."""

    thresholds: dict[str, float]
    profile: str = "domain"
    languages: tuple[str, ...] = ()
    redact_pii: bool = True
    fast_extraction: bool = False

    def pipeline_version(self) -> str:
        """A hash of this config, the code version and the extraction libraries' versions:
        a change to any of them makes every page of the source due for cleaning again."""
        payload = {
            "config": asdict(self),
            "code": CLEAN_CODE_VERSION,
            "libraries": {name: _library_version(name) for name in _LIBRARIES},
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=list).encode()).hexdigest()
        return f"clean-{CLEAN_CODE_VERSION}-{digest[:12]}"


def _library_version(name: str) -> str:
    try:
        return version(name)
    except Exception:  # noqa: BLE001 - an unknown version still hashes consistently
        return "unknown"


def _media_type(content_type: str | None) -> str:
    return (content_type or "text/html").split(";", 1)[0].strip().lower()


def extract_page(body: bytes, content_type: str | None, url: str | None, fast: bool = False) -> Extracted:
    """Decode and extract a page's bytes; raises ExtractionError with a reason code."""
    media = _media_type(content_type)
    if not body:
        raise ExtractionError("empty_body", "page has no body")
    decoded = decode_html(body, content_type)
    if media == "text/plain":
        return extract_plain_text(decoded.text)
    if media not in _HTML_TYPES:
        raise ExtractionError("unsupported_content_type", f"cannot extract text from {media}")
    return extract_html(decoded.text, url, fast=fast)


def _base_row(page: dict, version: str) -> dict:
    return {
        "doc_id": doc_id_for(page["url"]),
        "page_id": page["page_id"],
        "url": page["url"],
        "source": page["source"],
        "fetched_at": page.get("fetched_at"),
        "pipeline_version": version,
    }


def failed_document(page: dict, version: str, reason: str, message: str) -> dict:
    """The row for a page whose text could not be extracted (timeouts included)."""
    decision = Decision("extract", False, reason, None, None)
    return {
        **_base_row(page, version),
        "content_hash": sha256_hex(""),
        "canonical_url": page.get("final_url") or page["url"],
        "kept": False,
        "drop_reasons": [reason],
        "decisions": [decision.as_row()],
        "signals": [],
        "pii_counts": [],
        "error": f"{reason}: {message}"[:500],
    }


def judge_text(
    markdown: str,
    language: str,
    language_score: float,
    config: CleanConfig,
    title: str | None = None,
    links: tuple[float, float] = (float("nan"), float("nan")),
) -> tuple[dict, list[Decision]]:
    """Signals and the verdict of every filter (quality rules and the source's language list);
    `links` is the page's (link text share, external share of it)."""
    signals = quality_signals(markdown, language, title, *links)
    signals["language_score"] = language_score
    decisions = apply_filters(signals, config.thresholds)
    allowed = language_allowed(language, config.languages)
    decisions.append(Decision("languages", allowed, None if allowed else "language_not_allowed", language_score, None))
    return signals, decisions


def clean_page(page: dict, config: CleanConfig, version: str) -> dict:
    """The document row for one fetched page (see the module docstring)."""
    try:
        url = page.get("final_url") or page["url"]
        extracted = extract_page(page.get("body") or b"", page.get("content_type"), url, config.fast_extraction)
    except ExtractionError as exc:
        return failed_document(page, version, exc.reason, str(exc).split(": ", 1)[-1])
    except Exception as exc:  # noqa: BLE001 - a parser bug on one page must not stop the stage
        return failed_document(page, version, "extract_failed", f"{type(exc).__name__}: {exc}")

    guess = identify_language(extracted.text)
    signals, decisions = judge_text(
        extracted.markdown or extracted.text,
        guess.code,
        guess.confidence,
        config,
        extracted.title,
        (extracted.link_char_fraction, extracted.external_link_share),
    )
    text, markdown, pii_counts = extracted.text, extracted.markdown, {}
    title, description = extracted.title, extracted.description
    if config.redact_pii:
        text, pii_counts = redact_pii(text)
        markdown, _ = redact_pii(markdown)
        title = redact_pii(title)[0] if title else title
        description = redact_pii(description)[0] if description else description
    # Every failed rule is recorded; only the profile's corpus categories unset `kept` (the others,
    # `web_quality` in the domain profile, gate the exports that name them).
    drop_reasons = [d.reason for d in decisions if not d.kept]
    return {
        **_base_row(page, version),
        "content_hash": sha256_hex(text),
        "canonical_url": extracted.canonical_url or page.get("final_url") or page["url"],
        "title": title,
        "author": extracted.author,
        "published": extracted.published,
        "sitename": extracted.sitename,
        "description": description,
        "language": guess.code,
        "language_score": guess.confidence,
        "text": text,
        "markdown": markdown,
        "word_count": int(signals["word_count"]),
        "char_count": len(text),
        "signals": sorted(signals.items()),
        "decisions": [d.as_row() for d in decisions],
        "kept": not corpus_drops(decisions, config.profile),
        "drop_reasons": drop_reasons,
        "quality_score": quality_score(signals, decisions),
        "pii_counts": sorted(pii_counts.items()),
        "error": None,
    }
