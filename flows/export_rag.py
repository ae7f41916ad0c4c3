"""The RAG export: chunks with embeddings, computed once, kept in step with the corpus.

Steps (plain functions, wrapped as Prefect tasks by the flow):

1. `select`: the documents the RAG export should hold (shared selection with the training export).
2. `chunk_and_embed`: document versions not yet chunked under this chunker config are chunked;
   chunks whose (text hash, model) has no vector yet are embedded; vectors go to the
   `embeddings` cache, chunk rows to the `chunks` table. An unchanged corpus does neither.
3. `write`: `exports/rag/<name>/` gets the chunks of every selected document with their vectors,
   the deletions since the previous export and the manifest, then `export.duckdb` (views with the
   vector typed FLOAT[dim]).
4. `sync_sink`: with `sink: lancedb` or `sink: chroma`, the export folder is synced into the
   vector store (upserts by chunk_id, the export's deletions applied); the Parquet folder stays
   the source of truth, so a failed sync is retried from it and loses nothing.

`corpusforge search "question"` (flows/search.py) embeds a question and ranks the export's chunks.
"""

from __future__ import annotations

import pyarrow as pa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from corpusforge.flows.configs import chunker_config, export_gate
from corpusforge.flows.dask_embed import chunk_and_embed_on_dask
from corpusforge.flows.export_plan import fill_rag_summary, gate_record, merged_summary
from corpusforge.flows.stage import Progress, StageSummary, on_dask_task_runner, timed
from corpusforge.processing.embedding import Embedder, ModelFacts, load_embedder
from corpusforge.schemas.config import RagExport, Settings, chroma_address
from corpusforge.warehouse import Warehouse, new_run_id, utc_now
from corpusforge.warehouse import rag_chunks as chunks_store
from corpusforge.warehouse import rag_store as store
from corpusforge.warehouse.rag_chunks import EmbedCounts
from corpusforge.warehouse.selection import GateParams, record_verdicts, select_export_documents

WRITTEN_TABLES = ("chunks", "embeddings")
# export_verdicts is shared with the training export, which the pipeline runs at the same time:
# each export holds its lock only while recording, and waits for the other's.
VERDICTS_LOCK_WAIT = 600.0
INPUT_TABLES = ("documents", "clusters", "annotations", "tombstones")


def check_sink(wh: Warehouse, cfg: RagExport) -> None:
    """Refuse, before any work, a sink with no place to go: LanceDB's default database sits beside
    the export (rag_store.lancedb_dir), on a local disk or S3; on other filesystems it needs its
    own `lancedb_uri`. (Chroma reads the export through the warehouse's filesystem, any one.)"""
    scheme = "" if wh.is_local else wh.root_url.split("://", 1)[0]
    if cfg.sink == "lancedb" and not cfg.lancedb_uri and scheme not in ("", "s3"):
        raise ValueError(
            f"exports.rag {cfg.name}: LanceDB has no default database beside a {scheme}:// warehouse; "
            "set lancedb_uri to a local folder or an s3://, gs:// or az:// URL"
        )


def lancedb_uri(wh: Warehouse, cfg: RagExport) -> str:
    """The export's LanceDB database folder (see rag_store.lancedb_dir): one table per export."""
    return store.lancedb_dir(wh, cfg.lancedb_uri)


def sync_sink(wh: Warehouse, cfg: RagExport, export_path: str):
    """Sync the written export folder into the configured vector store; the SyncResult, or None
    for sink: parquet."""
    from corpusforge.connectors.sinks import ChromaSink, ExportFolder, LanceDBSink  # lancedb/chromadb when used

    folder = ExportFolder.open(export_path, filesystem=wh.fs)  # on the warehouse's storage: a disk or a bucket
    if cfg.sink == "lancedb":
        return LanceDBSink(lancedb_uri(wh, cfg), cfg.name).sync(folder)
    if cfg.sink == "chroma":
        host, port = chroma_address(cfg)
        return ChromaSink.connect(host, port, cfg.name).sync(folder)
    return None


def sink_location(wh: Warehouse, cfg: RagExport) -> str:
    if cfg.sink == "lancedb":
        return f"lancedb {store.public_location(lancedb_uri(wh, cfg))} table {cfg.name}"
    return f"chroma {cfg.chroma_url} collection {cfg.name}"


def select(wh: Warehouse, cfg: RagExport, gate: GateParams | None = None) -> pa.Table:
    """The export's documents: `gate` (its `exclude`, see flows.configs.export_gate) decides which
    drop reasons keep a document out."""
    return select_export_documents(wh, "rag", sources=cfg.sources or None, languages=cfg.languages or None, gate=gate)


def chunk_and_embed(
    wh: Warehouse,
    cfg: RagExport,
    selected: pa.Table,
    run_id: str,
    progress: Progress | None = None,
) -> EmbedCounts:
    """Chunk the new document versions and embed the chunks that have no vector yet, in this
    process (warehouse/rag_chunks.py holds the loop)."""
    embedder = _load_model(cfg, progress)
    config = chunker_config(cfg, embedder)
    done = chunks_store.done_versions(wh, config.config_hash, embedder.model_id)
    batches = chunks_store.pending_documents(selected, done)
    label = f"embedding chunks ({cfg.name})"
    return chunks_store.embed_documents(wh, embedder, config, batches, run_id, cfg.batch_size, utc_now, progress, label)


def _load_model(cfg: RagExport, progress: Progress | None) -> Embedder:
    """The embedding model, shown as its own step: loading takes seconds before any chunk moves."""
    label = f"loading the embedding model ({cfg.name})"
    if progress is not None:
        progress.update(label, total=1)
    embedder = load_embedder(cfg.model, cfg.device)
    if progress is not None:
        progress.update(label, completed=1)
    return embedder


def write(
    wh: Warehouse,
    cfg: RagExport,
    selected: pa.Table,
    counts: EmbedCounts,
    facts: ModelFacts,
    run_id: str,
    gate: GateParams | None = None,
) -> store.ExportResult:
    embedder = facts  # the model's id, dimension and budget: no need to load it here
    config = chunker_config(cfg, embedder)
    snapshot = wh.snapshot(INPUT_TABLES)
    return store.write_export(
        wh,
        cfg.name,
        selected,
        model_id=embedder.model_id,
        dim=embedder.dim,
        chunker=config.to_dict(),
        chunker_hash=config.config_hash,
        manifest_extra={
            "snapshot": snapshot,
            # The configured model (null: the packaged default), so `search` loads the same one.
            "model": {"source": cfg.model, "max_seq_length": embedder.max_seq_length},
            "counts": {
                "documents_selected": selected.num_rows,
                "documents_chunked": counts.documents_chunked,
                "chunks_new": counts.chunks_new,
                "embedded": counts.embedded,
                "embedding_cache_hits": counts.cache_hits,
            },
            "settings": cfg.model_dump(mode="json"),
            "gate": gate_record(gate),  # with the settings and snapshot: what the idle check compares
        },
        run_id=run_id,
        now=utc_now(),
    )


def _fill_sink_summary(summary: StageSummary, location: str, synced) -> None:
    summary.counts.update(
        {
            "sink rows": synced.rows,
            "sink inserted": synced.inserted,
            "sink updated": synced.updated,
            "sink deleted": synced.deleted,
            "sink stale removed": synced.stale_removed,
        }
    )
    summary.outputs.append(location)
    if synced.indexes:
        summary.notes.append(f"{location}: indexes {', '.join(synced.indexes)}")


# ---- Prefect -------------------------------------------------------------------------------
@task(name="export-rag-select", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def select_task(warehouse: str, cfg: RagExport, gate: GateParams | None = None) -> pa.Table:
    return select(Warehouse(warehouse), cfg, gate)


@task(name="export-rag-chunk-embed", cache_policy=NO_CACHE)
def chunk_and_embed_task(
    warehouse: str, cfg: RagExport, selected: pa.Table, run_id: str, progress: Progress | None
) -> tuple[EmbedCounts, ModelFacts]:
    counts = chunk_and_embed(Warehouse(warehouse), cfg, selected, run_id, progress)
    return counts, load_embedder(cfg.model, cfg.device).facts()


@task(name="export-rag-write", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def write_task(
    warehouse: str, cfg: RagExport, selected: pa.Table, counts: EmbedCounts, facts: ModelFacts, run_id: str, gate=None
):
    return write(Warehouse(warehouse), cfg, selected, counts, facts, run_id, gate)


@task(name="export-rag-views", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def views_task(warehouse: str, export_path: str) -> str:
    from corpusforge.warehouse.export_views import write_export_views

    return str(write_export_views(export_path, Warehouse(warehouse).fs))


@task(name="export-rag-sink", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def sink_task(warehouse: str, cfg: RagExport, export_path: str):
    """I/O against the vector store (a server for Chroma): retried, as the export folder it reads
    from is already complete."""
    return sync_sink(Warehouse(warehouse), cfg, export_path)


@task(name="export-rag-verdicts", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def verdicts_task(warehouse: str, cfg: RagExport, gate: GateParams | None, run_id: str) -> int:
    """Record which documents this export holds and why the others are left out."""
    selection = {"sources": cfg.sources or None, "languages": cfg.languages or None, "gate": gate}
    wh = Warehouse(warehouse)
    with wh.locks(["export_verdicts"], run_id, wait=VERDICTS_LOCK_WAIT):
        return record_verdicts(wh, "rag", cfg.name, run_id, utc_now(), **selection)


def export_one(
    warehouse: str, cfg: RagExport, progress: Progress | None = None, gate: GateParams | None = None
) -> StageSummary:
    """One RAG export: select, chunk and embed what has no vector yet, write the folder."""
    wh = Warehouse(warehouse)
    check_sink(wh, cfg)
    run_id = new_run_id("export_rag")
    summary = StageSummary(f"export_rag {cfg.name}")
    with timed(summary):
        wh.init()
        with wh.locks(WRITTEN_TABLES, run_id):
            selected = select_task(warehouse, cfg, gate)
            verdicts_task(warehouse, cfg, gate, run_id)
            if on_dask_task_runner():  # the flow body submits the work, so it goes to the Dask workers
                counts, facts, workers = chunk_and_embed_on_dask(wh, cfg, selected, run_id, progress)
                where = ", ".join(f"{address} ({device})" for address, device in sorted(workers.items()))
                summary.notes.append(f"embedded on {len(workers)} Dask worker(s): {where}")
                summary.details.append({"embedded_on": workers})
            else:
                counts, facts = chunk_and_embed_task(warehouse, cfg, selected, run_id, progress)
            result = write_task(warehouse, cfg, selected, counts, facts, run_id, gate)
            views_task(warehouse, result.path)  # on object storage too: built locally, uploaded
            synced = sink_task(warehouse, cfg, result.path) if cfg.sink != "parquet" else None
        fill_rag_summary(summary, selected.num_rows, counts, result)
        if synced is not None:
            _fill_sink_summary(summary, sink_location(wh, cfg), synced)
    return summary


@flow(name="export_rag")
def export_rag(settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Chunk, embed (only what has no vector yet) and export the corpus for RAG, for every
    configured RAG export; counts are prefixed with the export's name when there are several."""

    def part(cfg: RagExport) -> tuple[str, StageSummary]:
        return cfg.name, export_one(settings.warehouse, cfg, progress, export_gate(settings, cfg.exclude, "rag"))

    return merged_summary("export_rag", map(part, settings.exports.rag))
