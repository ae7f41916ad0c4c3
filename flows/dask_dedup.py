"""The dedup stage's signing on a Dask worker: a batch of (doc_id, content_hash) references in,
their MinHash signatures out; the worker reads the texts itself. A module of its own, without
Prefect, so that a worker imports only what signing needs."""

from __future__ import annotations

from corpusforge.flows.runtime import dask_worker_address
from corpusforge.processing.dedup import MinHashParams, SignedBatch, signature_batch
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.dedup_index import DedupIndex


class TextsChanged(RuntimeError):
    """Documents planned for signing are gone from the history (a clean ran meanwhile)."""


def sign_batch_on_worker(
    warehouse: str, key: str, refs: list[tuple[str, str]], params: MinHashParams
) -> tuple[SignedBatch, str]:
    """One batch of signatures, from the texts this worker reads itself, and the worker's address:
    the unit of work a Dask worker gets (references in, signatures out: no text passes through
    the driver)."""
    texts: dict[str, str | None] = {}
    with DedupIndex(Warehouse(warehouse), key) as stored:
        for batch in stored.texts(refs, len(refs)):
            texts.update(zip(batch["doc_id"].to_pylist(), batch["text"].to_pylist(), strict=True))
    if len(texts) != len(refs):
        raise TextsChanged(f"{len(refs) - len(texts)} documents changed while dedup ran: run it again")
    signed = signature_batch([d for d, _ in refs], [texts[d] or "" for d, _ in refs], params)
    return signed, dask_worker_address()
