"""A small corpus written straight into a temporary warehouse (documents, clusters, annotations,
tombstones), so the export is tested without the crawl / clean / dedup stages."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from corpusforge.processing.ids import sha256_hex
from corpusforge.warehouse import Warehouse

T0 = datetime(2024, 5, 1, tzinfo=UTC)
SYLLABLES = "ka lo mi ne su ra to vi pe da mo ri sa te lu no fi ga be ze".split()


def pseudo_text(seed: int, words: int = 120) -> str:
    """Distinct prose per seed: no two documents share a 13-word n-gram by accident."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(400)]
    out, sentence = [], []
    for _ in range(words):
        sentence.append(rng.choice(vocab))
        if len(sentence) >= rng.randint(8, 14):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    if sentence:
        out.append(" ".join(sentence).capitalize() + ".")
    return " ".join(out)


def doc_row(doc_id: str, text: str, *, source: str = "site", kept: bool = True, minutes: int = 0, **extra) -> dict:
    row = {
        "doc_id": doc_id,
        "content_hash": sha256_hex(text),
        "page_id": f"page-{doc_id}",
        "url": f"https://{source}.example/{doc_id}",
        "source": source,
        "fetched_at": T0 + timedelta(minutes=minutes),
        "cleaned_at": T0 + timedelta(minutes=minutes),
        "title": f"Title of {doc_id}",
        "language": "en",
        "text": text,
        "markdown": f"# Title of {doc_id}\n\n{text}",
        "word_count": len(text.split()),
        "char_count": len(text),
        "kept": kept,
        "drop_reasons": [] if kept else ["gopher_short"],
        "quality_score": 0.8,
        "pipeline_version": "test",
    }
    row.update(extra)
    return row


def cluster_row(doc_id: str, cluster_id: str, representative: bool, *, removed: bool = False, minutes: int = 1):
    return {
        "doc_id": doc_id,
        "cluster_id": cluster_id,
        "is_representative": representative,
        "method": "unique" if representative else "near",
        "duplicate_of": None if representative else cluster_id,
        "reason": None if representative else "near_duplicate_of",
        "removed": removed,
        "created_at": T0 + timedelta(minutes=minutes),
    }


def annotation_row(annotation_id: int, doc_id: str, *, minutes: int = 2, **labels) -> dict:
    return {
        "annotation_id": annotation_id,
        "task_id": annotation_id,
        "doc_id": doc_id,
        "updated_at": T0 + timedelta(minutes=minutes),
        "pulled_at": T0 + timedelta(minutes=minutes),
        **labels,
    }


def tombstone_row(doc_id: str, *, minutes: int = 10) -> dict:
    return {"doc_id": doc_id, "reason": "http_404", "status": 404, "created_at": T0 + timedelta(minutes=minutes)}


class Corpus:
    """40 documents d00..d39; clusters: d00 represents {d00, d01, d02}, d03 represents {d03, d04};
    d05 is not kept; d06 has no clusters row (its own representative)."""

    def __init__(self, wh: Warehouse):
        self.wh = wh
        self.texts = {f"d{i:02d}": pseudo_text(i) for i in range(40)}
        # Near duplicates: the representative's text with one word changed.
        for dup, rep in (("d01", "d00"), ("d02", "d00"), ("d04", "d03")):
            self.texts[dup] = self.texts[rep].replace(".", " extra.", 1)
        docs = [doc_row(d, t, kept=d != "d05") for d, t in self.texts.items()]
        self.write("documents", docs)
        clusters = [cluster_row(d, d, True) for d in self.texts if d not in ("d01", "d02", "d04", "d05", "d06")]
        clusters += [
            cluster_row("d01", "d00", False),
            cluster_row("d02", "d00", False),
            cluster_row("d04", "d03", False),
        ]
        self.write("clusters", clusters)

    def write(self, table: str, rows: list[dict]) -> None:
        self.wh.write(table, rows, f"test-{table}")


@pytest.fixture()
def corpus(wh) -> Corpus:
    return Corpus(wh)
