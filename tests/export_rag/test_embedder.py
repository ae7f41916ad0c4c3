"""`Embedder.embed`: batches ordered by length in tokens, vectors returned in the caller's order."""

from __future__ import annotations

import numpy as np

TEXTS = [
    "pip install corpusforge",
    "The dedup stage clusters near duplicates around a representative. " * 6,
    "`corpusforge crawl --source docs` fetches every page of the source and keeps its validators.",
    "def f(x):\n    return {k: v for k, v in x.items() if v}\n" * 3,
    "Label Studio",
    "A chunk never exceeds the model's input: its budget is the sequence length minus special tokens. " * 3,
    "| flag | default |\n|---|---|\n| --workers | 2 |\n" * 4,
    "Ein kurzer deutscher Satz über Duplikate.",
    "日本語の文書もトークン数で並べられます。",
    "SELECT count(*) FROM documents WHERE kept",
]


def test_vectors_come_back_in_the_callers_order_whatever_the_batches(embedder):
    reference = embedder.model.encode(TEXTS, normalize_embeddings=True)
    counted = embedder.token_lengths(TEXTS, batch_size=3)
    assert counted == [embedder.count_tokens(t) for t in TEXTS]
    assert counted != sorted(counted, key=lambda n: -n)  # the input is not already in batch order
    for vectors in (
        embedder.embed(TEXTS, batch_size=3),  # token counts counted by embed itself
        embedder.embed(TEXTS, batch_size=3, token_counts=counted),
        embedder.embed(TEXTS, batch_size=3, token_counts=list(range(len(TEXTS)))),  # any order: same vectors
    ):
        assert vectors.shape == (len(TEXTS), embedder.dim)
        assert np.abs(vectors - reference).max() < 1e-4


def test_one_batch_is_ordered_by_characters_without_counting_tokens(embedder):
    assert embedder.token_lengths(TEXTS, batch_size=64) == [len(t) for t in TEXTS]
