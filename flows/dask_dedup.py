"""The dedup stage's signing on a Dask worker: a batch of documents by place (file and rows, from
warehouse/dedup_texts.py) in, their MinHash signatures out; the worker reads the texts itself. A
module of its own, without Prefect, so that a worker imports only what signing needs."""

from __future__ import annotations

from corpusforge.flows.runtime import dask_worker_address
from corpusforge.processing.dedup import MinHashParams, SignedBatch, signature_batch
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.dedup_texts import TextRefs, read_texts


def sign_batch_on_worker(warehouse: str, refs: TextRefs, params: MinHashParams) -> tuple[SignedBatch, str]:
    """One batch of signatures, from the texts this worker reads itself, and the worker's address:
    the unit of work a Dask worker gets (references in, signatures out: no text passes through
    the driver)."""
    texts = read_texts(Warehouse(warehouse), refs)
    return signature_batch(refs.doc_ids, texts, params), dask_worker_address()
