"""Documents rows for annotate tests, written straight into a temporary warehouse."""

from __future__ import annotations

from datetime import UTC, datetime

from corpusforge.processing.ids import doc_id_for
from corpusforge.schemas import conform

PIPELINE_VERSION = "clean-test-v1"


def decision(name: str, kept: bool, value: float, threshold: float) -> dict:
    return {"filter": name, "kept": kept, "reason": None if kept else f"{name}_failed", "value": value,
            "threshold": threshold}  # fmt: skip


def document(n: int, *, kept: bool = True, source: str = "site", language: str = "en", quality: float = 0.8,
             decisions: list[dict] | None = None, pii: int = 0) -> dict:  # fmt: skip
    url = f"http://example.test/articles/{n}"
    return {
        "doc_id": doc_id_for(url),
        "content_hash": f"hash-{n}",
        "page_id": f"page-{n}",
        "url": url,
        "source": source,
        "cleaned_at": datetime(2024, 1, 1, tzinfo=UTC),
        "title": f"Article {n}",
        "language": language,
        "text": f"Article number {n} explains something useful in a few sentences.",
        "kept": kept,
        "decisions": decisions
        if decisions is not None
        else [decision("min_words", kept, 120.0 if kept else 10.0, 50.0)],
        "drop_reasons": [] if kept else ["min_words_failed"],
        "quality_score": quality,
        "pii_counts": {"email": pii},
        "pipeline_version": PIPELINE_VERSION,
    }


def write_documents(wh, docs: list[dict], run_id: str = "test-clean") -> list[dict]:
    wh.write("documents", conform("documents", docs), run_id)
    return docs
