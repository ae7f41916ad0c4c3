"""What `export rag` shows while it works: the model load as its own step, then the embedding bar
moving with every batch (not in jumps of several batches)."""

from __future__ import annotations

import math

from corpusforge.flows.export_rag import chunk_and_embed
from corpusforge.schemas.config import RagExport
from corpusforge.warehouse import new_run_id


class RecordingProgress:
    """A Progress that keeps every update, as the terminal bar would receive them."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, dict]] = []

    def update(self, label: str, **values) -> None:
        self.updates.append((label, values))


def test_model_load_is_a_step_and_the_bar_moves_per_batch(wh, rag_documents):
    docs = rag_documents[:6]
    wh.write("documents", docs, "test-docs")
    progress = RecordingProgress()
    cfg = RagExport(name="progress", batch_size=4)
    counts = chunk_and_embed(wh, cfg, wh.read("documents"), new_run_id("export_rag"), progress)
    labels = [label for label, _ in progress.updates]
    loading = "loading the embedding model (progress)"
    assert labels[:2] == [loading, loading]
    assert progress.updates[0][1] == {"total": 1} and progress.updates[1][1] == {"completed": 1}
    advances = [v["advance"] for label, v in progress.updates if label.startswith("embedding") and "advance" in v]
    assert sum(advances) == counts.embedded > 8
    assert max(advances) <= cfg.batch_size  # one update per batch
    assert len(advances) >= math.ceil(counts.embedded / cfg.batch_size)
