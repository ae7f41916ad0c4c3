"""The RAG export: chunks with embeddings, computed once, kept in step with the corpus.

Steps (plain functions, wrapped as Prefect tasks by the flow; `run_export_rag` runs them without
Prefect for the benchmark):

1. `select`: the documents the RAG export should hold (shared selection with the training export).
2. `chunk_and_embed`: document versions not yet chunked under this chunker config are chunked;
   chunks whose (text hash, model) has no vector yet are embedded; vectors go to the
   `embeddings` cache, chunk rows to the `chunks` table. An unchanged corpus does neither.
3. `write`: `exports/rag/<name>/` gets the chunks of every selected document with their vectors,
   the deletions since the previous export and the manifest.

`corpusforge search "question"` embeds a question and ranks the export's chunks in DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import pyarrow as pa
import typer
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from corpusforge.flows.common import StageSummary, progress_bar, timed
from corpusforge.flows.export_cli import add_export_group, export_app
from corpusforge.processing.chunking import ChunkerConfig, chunk_records
from corpusforge.processing.embedding import Embedder, load_embedder
from corpusforge.schemas.config import RagExport, Settings
from corpusforge.warehouse import Warehouse, new_run_id, utc_now
from corpusforge.warehouse import rag_store as store
from corpusforge.warehouse.selection import select_export_documents

WRITTEN_TABLES = ("chunks", "embeddings")
INPUT_TABLES = ("documents", "clusters", "annotations", "tombstones")
DOCS_PER_BATCH = 200  # documents chunked together: bounds memory, and one cache lookup each
BATCHES_PER_ENCODE = 8  # embedding batches per encode() call: lets the model sort by length

# progress(advance, more_total): chunks embedded, and newly discovered chunks to embed.
Progress = Callable[[int, int], None]


def chunker_config(cfg: RagExport, embedder: Embedder) -> ChunkerConfig:
    """The budget is the configured one, capped at what the model reads (its limit minus the
    special tokens), so no chunk is ever truncated by the model."""
    return ChunkerConfig(
        chunk_tokens=min(cfg.chunk_tokens, embedder.max_tokens),
        overlap_tokens=cfg.overlap_tokens,
        tokenizer_id=embedder.model_id,
    )


def check_sink(cfg: RagExport) -> None:
    # The LanceDB sink of the issue is optional and not built yet: say so instead of ignoring it.
    if cfg.sink != "parquet":
        raise ValueError(f"exports.rag {cfg.name}: sink {cfg.sink!r} is not implemented yet; use sink: parquet")


def select(wh: Warehouse, cfg: RagExport) -> pa.Table:
    return select_export_documents(wh, "rag", sources=cfg.sources or None, languages=cfg.languages or None)


@dataclass
class EmbedCounts:
    documents_chunked: int = 0
    chunks_new: int = 0
    embedded: int = 0
    cache_hits: int = 0


def _doc_batches(selected: pa.Table, done: set[tuple[str, str, str]]) -> Iterator[list[dict]]:
    """Selected documents whose version (content and title) has no complete chunk state."""
    batch: list[dict] = []
    for rb in selected.to_batches(DOCS_PER_BATCH):
        for doc in rb.to_pylist():
            if (doc["doc_id"], doc["content_hash"] or "", doc["title"] or "") in done:
                continue
            batch.append(doc)
            if len(batch) >= DOCS_PER_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def chunk_and_embed(
    wh: Warehouse,
    cfg: RagExport,
    selected: pa.Table,
    run_id: str,
    on_progress: Progress | None = None,
) -> EmbedCounts:
    """Chunk the new document versions and embed the chunks that have no vector yet."""
    embedder = load_embedder(cfg.model, cfg.device)
    config = chunker_config(cfg, embedder)
    counts = EmbedCounts()
    con = wh.connect()
    try:
        done = store.chunked_versions(con, config.config_hash, embedder.model_id)
        with wh.writer("embeddings", run_id) as vectors_out, wh.writer("chunks", run_id) as chunks_out:
            for docs in _doc_batches(selected, done):
                rows = list(chunk_records(docs, embedder.count_tokens, config))
                counts.documents_chunked += len(docs)
                counts.chunks_new += len(rows)
                have = store.cached_text_hashes(con, embedder.model_id, (r["text_hash"] for r in rows))
                todo = _unique_missing(rows, have)
                counts.cache_hits += sum(1 for r in rows if r["text_hash"] in have)
                if on_progress:
                    on_progress(0, len(todo))
                _embed_into(vectors_out, embedder, cfg.batch_size, todo, run_id, on_progress)
                counts.embedded += len(todo)
                # Vectors are written (and flushed) before the chunk rows that point at them.
                vectors_out.flush()
                chunks_out.write(store.state_rows([{**r, "created_at": utc_now()} for r in rows]))
    finally:
        con.close()
    return counts


def _unique_missing(rows: list[dict], have: set[str]) -> list[tuple[str, str]]:
    """(text_hash, text to embed) of every distinct embedding input without a vector."""
    todo: dict[str, str] = {}
    for r in rows:
        if r["text_hash"] not in have and r["text_hash"] not in todo:
            todo[r["text_hash"]] = r["embed_text"]
    return list(todo.items())


def _embed_into(writer, embedder: Embedder, batch_size: int, todo, run_id: str, on_progress) -> None:
    group = batch_size * BATCHES_PER_ENCODE
    for start in range(0, len(todo), group):
        part = todo[start : start + group]
        vectors = embedder.embed([text for _, text in part], batch_size=batch_size)
        writer.write(store.embedding_rows([h for h, _ in part], vectors, embedder.model_id, run_id, utc_now()))
        if on_progress:
            on_progress(len(part), 0)


def write(wh: Warehouse, cfg: RagExport, selected: pa.Table, counts: EmbedCounts, run_id: str) -> store.ExportResult:
    embedder = load_embedder(cfg.model, cfg.device)
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
        },
        run_id=run_id,
        now=utc_now(),
    )


def _fill_summary(summary: StageSummary, selected: pa.Table, counts: EmbedCounts, result) -> None:
    summary.counts.update(
        {
            "documents selected": selected.num_rows,
            "documents chunked (new or changed)": counts.documents_chunked,
            "chunks new": counts.chunks_new,
            "chunks embedded": counts.embedded,
            "embedding cache hits": counts.cache_hits,
            "chunks exported": result.chunks,
            "documents exported": result.documents,
            "chunks deleted": result.deleted,
        }
    )
    summary.drops.update(result.deletion_reasons)
    summary.outputs.append(result.path)


def run_export_rag(
    wh: Warehouse, cfg: RagExport, run_id: str | None = None, on_progress: Progress | None = None
) -> StageSummary:
    """The whole stage without Prefect (the flow runs the same steps as tasks)."""
    check_sink(cfg)
    run_id = run_id or new_run_id("export_rag")
    summary = StageSummary(f"export_rag {cfg.name}")
    with timed(summary):
        wh.init()
        with wh.locks(WRITTEN_TABLES, run_id):
            selected = select(wh, cfg)
            counts = chunk_and_embed(wh, cfg, selected, run_id, on_progress)
            result = write(wh, cfg, selected, counts, run_id)
        _fill_summary(summary, selected, counts, result)
    return summary


# ---- Prefect -------------------------------------------------------------------------------

# Set by the CLI to drive its progress bar (a callable is no flow parameter).
progress_hook: Progress | None = None


@task(name="export-rag-select", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def select_task(warehouse: str, cfg: RagExport) -> pa.Table:
    return select(Warehouse(warehouse), cfg)


@task(name="export-rag-chunk-embed", cache_policy=NO_CACHE)
def chunk_and_embed_task(warehouse: str, cfg: RagExport, selected: pa.Table, run_id: str) -> EmbedCounts:
    return chunk_and_embed(Warehouse(warehouse), cfg, selected, run_id, progress_hook)


@task(name="export-rag-write", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def write_task(warehouse: str, cfg: RagExport, selected: pa.Table, counts: EmbedCounts, run_id: str):
    return write(Warehouse(warehouse), cfg, selected, counts, run_id)


@flow(name="export_rag")
def export_rag(warehouse: str, settings: RagExport | None = None) -> dict:
    """Chunk, embed (only what has no vector yet) and export the corpus for RAG; returns the summary."""
    cfg = settings or RagExport()
    check_sink(cfg)
    wh = Warehouse(warehouse)
    run_id = new_run_id("export_rag")
    summary = StageSummary(f"export_rag {cfg.name}")
    with timed(summary):
        wh.init()
        with wh.locks(WRITTEN_TABLES, run_id):
            selected = select_task(warehouse, cfg)
            counts = chunk_and_embed_task(warehouse, cfg, selected, run_id)
            result = write_task(warehouse, cfg, selected, counts, run_id)
        _fill_summary(summary, selected, counts, result)
    return summary.to_dict()


def export_rag_for_pipeline(settings: Settings) -> dict:
    """Every configured RAG export, one after the other, as one summary (for the pipeline)."""
    total = StageSummary("export_rag")
    for cfg in settings.exports.rag:
        result = export_rag(settings.warehouse, cfg)
        prefix = f"{cfg.name}: " if len(settings.exports.rag) > 1 else ""
        total.counts.update({prefix + k: v for k, v in result["counts"].items()})
        total.drops.update(result["drops"])
        total.seconds += result["seconds"]
        total.outputs.extend(result["outputs"])
    return total.to_dict()


# ---- CLI -------------------------------------------------------------------------------------
def _export_named(exports: list[RagExport], name: str | None) -> list[RagExport]:
    if name is None:
        return exports
    chosen = [e for e in exports if e.name == name]
    if chosen:
        return chosen
    if not exports or name != "default":
        # A name not in the config is a new export with default settings.
        return [RagExport(name=name)]
    return [exports[0].model_copy(update={"name": name})]


def _snippet(text: str, width: int = 160) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1].rsplit(" ", 1)[0] + " …"


def search(wh: Warehouse, question: str, name: str = "default", k: int = 5, device: str | None = None) -> pa.Table:
    """The k chunks of export `name` nearest to the question, embedded with the export's model."""
    manifest = store.read_manifest(wh, name)
    if manifest is None:
        raise FileNotFoundError(
            f"no RAG export named {name!r} under {store.export_dir(wh, name)}; run `corpusforge export rag` first"
        )
    embedder = load_embedder(manifest["model"].get("source"), device)
    if embedder.model_id != manifest["model"]["id"]:
        raise ValueError(
            f"export {name!r} was embedded with {manifest['model']['id']}, but that model now loads as "
            f"{embedder.model_id}; re-run `corpusforge export rag --name {name}`"
        )
    vector = embedder.embed([question])[0]
    return store.search_export(wh, name, vector, k)


def register(app: typer.Typer) -> None:
    add_export_group(app)
    if any(c.name == "search" for c in app.registered_commands):
        return

    @export_app.command("rag")
    def export_rag_command(
        name: Annotated[
            str | None, typer.Option("--name", "-n", help="Export to build (default: every exports.rag entry).")
        ] = None,
        device: Annotated[str | None, typer.Option(help="cpu | cuda (default: auto-detect).")] = None,
    ) -> None:
        """Chunk and embed the corpus into exports/rag/NAME/ for vector indexes.

        chunks.parquet holds every chunk with its vector (a fixed-size float32 list);
        deletions.parquet lists the chunk_ids that left since the previous export (apply them to
        your index); manifest.json records the snapshot, model and chunker config. Embeddings are
        computed once: a second run with no changes embeds nothing. Then try
        corpusforge search "your question".
        """
        from corpusforge.flows.cli import State, console, err_console

        settings = State.settings()
        global progress_hook
        for cfg in _export_named(settings.exports.rag, name):
            if device:
                cfg = cfg.model_copy(update={"device": device})
            with progress_bar(err_console) as bar:
                job = bar.add_task(f"embedding chunks ({cfg.name})", total=0)

                def advance(done: int, more: int, job=job, bar=bar) -> None:
                    bar.update(job, advance=done, total=(bar.tasks[job].total or 0) + more)

                progress_hook = advance
                try:
                    result = export_rag(settings.warehouse, cfg)
                finally:
                    progress_hook = None
            summary = StageSummary(**{k: v for k, v in result.items() if k != "drops"})
            summary.drops.update({f"deleted: {k}": v for k, v in result["drops"].items()})
            summary.print(console)

    @app.command("search")
    def search_command(
        question: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
        k: Annotated[int, typer.Option("-k", "--top", min=1, help="Number of chunks to show.")] = 5,
        name: Annotated[
            str | None, typer.Option("--name", "-n", help="Which RAG export to search (default: the first configured).")
        ] = None,
        device: Annotated[str | None, typer.Option(help="cpu | cuda (default: auto-detect).")] = None,
    ) -> None:
        """Search the RAG export: embed the question and rank its chunks by cosine similarity.

        Example: corpusforge search "how do I parse command-line options" -k 5
        """
        from rich.table import Table

        from corpusforge.flows.cli import State, console

        settings = State.settings()
        wh = Warehouse(settings.warehouse)
        if name is None:
            name = settings.exports.rag[0].name if settings.exports.rag else "default"
        hits = search(wh, question, name, k, device)
        out = Table(title=f"top {k} for {question!r}", show_lines=True)
        for col, justify in (("score", "right"), ("title", "left"), ("heading path", "left"), ("url", "left")):
            out.add_column(col, justify=justify, overflow="fold")
        out.add_column("snippet", overflow="fold", ratio=2)
        for row in hits.to_pylist():
            out.add_row(
                f"{row['score']:.3f}",
                row["title"] or "",
                row["heading_path"] or "",
                row["url"] or "",
                _snippet(row["text"]),
            )
        console.print(out)
