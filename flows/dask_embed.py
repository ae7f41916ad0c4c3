"""The RAG export's chunking and embedding on Dask workers.

The driver hands out references only: groups of document versions (doc_id, content hash, title)
that have no chunk state yet, each with the place of its row in the `documents` files. Each task
runs on a worker, which loads the embedding model once and keeps it for every later task
(`load_embedder` caches it per process, on the worker's own device: CUDA when that worker has a
GPU), reads its documents from their rows in the warehouse, chunks and embeds them, and writes
its own `chunks` and `embeddings` files (warehouse/rag_chunks.py). What comes back is counts and
the worker's address: no chunk, vector or page body passes through the driver or the scheduler.
"""

from __future__ import annotations

import math

import pyarrow as pa

from corpusforge.flows.configs import chunker_config
from corpusforge.flows.runtime import batched, dask_worker_address, submit_bounded, submit_to_dask
from corpusforge.flows.stage import Progress
from corpusforge.processing.chunking import ChunkerConfig
from corpusforge.processing.embedding import ModelFacts, load_embedder
from corpusforge.schemas.config import RagExport
from corpusforge.warehouse import Warehouse, utc_now
from corpusforge.warehouse import rag_chunks as chunks_store
from corpusforge.warehouse.rag_chunks import EmbedCounts, Placed

# Documents per task: enough to spread a task's overhead (a Dask task, a catalog
# connection, a cache lookup), few enough that a small corpus still spreads over the workers.
DOCS_PER_TASK = 64
MIN_TASKS = 8


def model_facts_on_worker(cfg: RagExport) -> ModelFacts:
    """The model's id, dimension and input length, asked of a worker (which keeps the model it
    loads for the embedding tasks): the driver never loads it."""
    return load_embedder(cfg.model, cfg.device).facts()


def embed_on_worker(
    warehouse: str, cfg: RagExport, config: ChunkerConfig, placed: list[Placed], run_id: str
) -> tuple[EmbedCounts, str, str]:
    """Chunk and embed these document versions on this worker; (counts, worker address, device)."""
    wh = Warehouse(warehouse)
    embedder = load_embedder(cfg.model, cfg.device)  # loaded on this worker's first task, then kept
    docs = chunks_store.read_documents(wh, placed)
    batches = batched(docs, chunks_store.DOCS_PER_BATCH)
    counts = chunks_store.embed_documents(wh, embedder, config, batches, run_id, cfg.batch_size, utc_now)
    return counts, dask_worker_address(), embedder.device


def task_size(pending: int) -> int:
    """Documents per task: DOCS_PER_TASK, or fewer so that at least MIN_TASKS tasks share a small corpus."""
    return max(1, min(DOCS_PER_TASK, math.ceil(pending / MIN_TASKS)))


def chunk_and_embed_on_dask(
    wh: Warehouse, cfg: RagExport, selected: pa.Table, run_id: str, progress: Progress | None = None
) -> tuple[EmbedCounts, ModelFacts, dict[str, str]]:
    """Chunk and embed the pending document versions as tasks on the flow's Dask cluster;
    (counts, the model's facts, {worker address: device} of the workers that embedded)."""
    facts = submit_to_dask("export-rag-model", model_facts_on_worker, cfg, retries=1).result()
    config = chunker_config(cfg, facts)
    versions = chunks_store.pending_versions(wh, selected, config.config_hash, facts.model_id)
    placed = chunks_store.place_versions(wh, versions)  # each worker reads its rows, not the catalog
    label = f"embedding documents ({cfg.name})"
    if progress is not None:
        progress.update(label, total=len(versions))
    counts, workers = EmbedCounts(), {}
    groups = batched(placed, task_size(len(placed)))

    def submit(group: list[Placed]):
        return submit_to_dask("export-rag-embed", embed_on_worker, wh.root_url, cfg, config, group, run_id)

    for group_counts, worker, device in submit_bounded(submit, groups):
        counts.add(group_counts)
        workers[worker] = device
        if progress is not None:
            progress.update(label, advance=group_counts.documents_chunked)
    return counts, facts, workers
