"""Helpers for the dedup tests: documents built directly as `documents` rows, with texts whose
word 5-gram Jaccard similarity is known."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta

import pytest

from corpusforge.processing.ids import sha256_hex
from corpusforge.schemas import conform
from corpusforge.schemas.config import DedupSettings

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def make_doc(doc_id: str, text: str, quality: float = 0.5, fetched_days: int = 0, kept: bool = True) -> dict:
    """A minimal kept `documents` row."""
    return {
        "doc_id": doc_id,
        "content_hash": sha256_hex(text),
        "page_id": f"page-{doc_id}-{sha256_hex(text)[:8]}",
        "url": f"http://example.test/{doc_id}",
        "source": "test",
        "fetched_at": T0 + timedelta(days=fetched_days),
        "cleaned_at": datetime.now(UTC),
        "text": text,
        "kept": kept,
        "quality_score": quality,
        "pipeline_version": "test",
    }


def write_docs(wh, docs: list[dict], run_id: str = "test-clean") -> None:
    wh.write("documents", conform("documents", docs), run_id)


def vocabulary(seed: int = 7, size: int = 5000) -> list[str]:
    rng = random.Random(seed)
    # letters only: digits are folded to "0" by the normalisation
    return sorted({"".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(size)})


def random_text(seed: int, words: int = 400) -> str:
    rng = random.Random(seed)
    vocab = vocabulary()
    return " ".join(rng.choice(vocab) for _ in range(words))


def substitute(text: str, count: int, seed: int) -> str:
    """Replace `count` words, spread evenly, with words from outside the vocabulary: every
    substitution changes up to 5 shingles, so the Jaccard similarity falls predictably."""
    rng = random.Random(seed)
    words = text.split()
    step = len(words) // max(count, 1)
    for i in range(count):
        pos = i * step + rng.randrange(max(step - 1, 1))
        words[pos] = "zz" + "".join(rng.choices(string.ascii_lowercase, k=6))
    return " ".join(words)


@pytest.fixture()
def cfg() -> DedupSettings:
    return DedupSettings(workers=1)
