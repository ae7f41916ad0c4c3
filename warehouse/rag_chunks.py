"""The RAG export's chunk -> embed -> write loop, with its I/O: chunk state and the embedding cache.

- Chunk state is the core `chunks` table: one row per chunk of a document version under one
  chunker config (vectors are not stored there; they live once in the `embeddings` cache).
- The embedding cache is `embeddings`, keyed by (text_hash, model_id).

`embed_documents` is the loop: batches of documents in, chunk rows and vectors out to the two
tables (vectors first, so a chunk row never points at a vector that was not written). The flow
runs it once over every pending document, or, on Dask, each worker runs it over the documents of
its task, which it reads itself (`read_documents`, from their rows) from the references the
driver hands out (`pending_versions`, placed by `place_versions`), and writes its own files: the
driver never holds a chunk or a vector.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields

import duckdb
import numpy as np
import pyarrow as pa

from corpusforge.schemas import conform, schema_of
from corpusforge.warehouse.document_places import place_of_each, read_places

DOCS_PER_BATCH = 200  # documents chunked together: bounds memory, and one cache lookup each
STATE_COLUMNS = [c for c in schema_of("chunks").names if c != "embedding"]
# What a worker reads of a document to chunk it (processing.chunking.DOC_FIELDS_ON_CHUNK and the text).
DOCUMENT_COLUMNS = ("doc_id", "content_hash", "url", "title", "language", "fetched_at", "text", "markdown")

# A document version: (doc_id, content_hash or "", title or "").
Version = tuple[str, str, str]


@dataclass
class EmbedCounts:
    documents_chunked: int = 0
    chunks_new: int = 0
    embedded: int = 0
    cache_hits: int = 0

    def add(self, other: EmbedCounts) -> EmbedCounts:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


# ---- chunk state and embedding cache --------------------------------------------------------
def chunked_versions(con: duckdb.DuckDBPyConnection, config_hash: str, model_id: str) -> set[Version]:
    """(doc_id, content_hash, title) of the document versions already chunked under this config
    whose every chunk has a vector for this model: these need neither chunking nor embedding."""
    rows = con.sql(
        """
        select c.doc_id, c.content_hash, coalesce(c.title, '') as title
        from chunks_history c
        left join (select distinct text_hash from embeddings_history where model_id = $model_id) e
            on e.text_hash = c.text_hash
        where c.chunker_config_hash = $config_hash
        group by all
        having bool_and(e.text_hash is not null)
        """,
        params={"config_hash": config_hash, "model_id": model_id},
    ).fetchall()
    return {(d, h or "", t) for d, h, t in rows}


def cached_text_hashes(con: duckdb.DuckDBPyConnection, model_id: str, text_hashes: Iterable[str]) -> set[str]:
    """The subset of `text_hashes` that already has a vector for `model_id`."""
    wanted = pa.table({"text_hash": pa.array(sorted(set(text_hashes)), pa.string())})
    if wanted.num_rows == 0:
        return set()
    con.register("_rag_wanted", wanted)
    try:
        rows = con.sql(
            "select distinct w.text_hash from _rag_wanted w semi join "
            "(select text_hash from embeddings_history where model_id = $model_id) e on e.text_hash = w.text_hash",
            params={"model_id": model_id},
        ).fetchall()
    finally:
        con.unregister("_rag_wanted")
    return {r[0] for r in rows}


def embedding_rows(text_hashes: list[str], vectors: np.ndarray, model_id: str, run_id: str, now) -> pa.Table:
    """Rows of the `embeddings` table for freshly computed vectors (built column-wise: no
    Python lists of floats)."""
    n, dim = vectors.shape
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1), pa.float32())
    embedding = pa.FixedSizeListArray.from_arrays(flat, dim).cast(pa.list_(pa.float32()))
    return pa.table(
        {
            "text_hash": pa.array(text_hashes, pa.string()),
            "model_id": pa.array([model_id] * n, pa.string()),
            "dim": pa.array([dim] * n, pa.int32()),
            "embedding": embedding,
            "run_id": pa.array([run_id] * n, pa.string()),
            "created_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        }
    )


def state_rows(rows: list[dict]) -> pa.Table:
    """Chunk rows (as produced by processing.chunking) as `chunks` table rows: no vector."""
    return conform("chunks", [{k: r.get(k) for k in STATE_COLUMNS} for r in rows])


# ---- which documents need work --------------------------------------------------------------
def version_of(doc: dict) -> Version:
    return (doc["doc_id"], doc["content_hash"] or "", doc["title"] or "")


def done_versions(wh, config_hash: str, model_id: str) -> set[Version]:
    """`chunked_versions` on a connection of its own."""
    con = wh.connect()
    try:
        return chunked_versions(con, config_hash, model_id)
    finally:
        con.close()


def pending_versions(wh, selected: pa.Table, config_hash: str, model_id: str) -> list[Version]:
    """The selected document versions with no complete chunk state (chunks and vectors) under
    this chunker config and model: references small enough to hand to Dask workers."""
    done = done_versions(wh, config_hash, model_id)
    columns = selected.select(["doc_id", "content_hash", "title"]).to_pylist()
    return [v for v in map(version_of, columns) if v not in done]


def pending_documents(selected: pa.Table, done: set[Version], size: int = DOCS_PER_BATCH) -> Iterator[list[dict]]:
    """Batches of the selected documents whose version has no complete chunk state."""
    pending = (doc for rows in selected.to_batches(size) for doc in rows.to_pylist() if version_of(doc) not in done)
    while batch := list(itertools.islice(pending, size)):
        yield batch


# A pending version and the place of its row in the documents files: (version, file, row).
Placed = tuple[Version, str, int]


def place_versions(wh, versions: list[Version]) -> list[Placed]:
    """The versions with the place of their row in the `documents` files, in the given order:
    references a worker reads its documents from (`read_documents`), row by row."""
    wanted = pa.table({"doc_id": [v[0] for v in versions], "content_hash": [v[1] for v in versions]})
    return [(v, file, row) for v, (file, row) in zip(versions, place_of_each(wh, wanted), strict=True)]


def read_documents(wh, placed: list[Placed]) -> list[dict]:
    """The `documents` rows of these versions (what a worker chunks), read from their places, in
    the given order: the rows the driver's selection held."""
    return read_places(wh, [(file, row, version[0]) for version, file, row in placed], DOCUMENT_COLUMNS)


# ---- the loop -------------------------------------------------------------------------------
def embed_documents(
    wh,
    embedder,
    config,
    batches: Iterable[list[dict]],
    run_id: str,
    batch_size: int,
    now,
    progress=None,
    label: str = "embedding chunks",
) -> EmbedCounts:
    """Chunk every document of `batches` (processing.chunking) and embed the chunks whose text has
    no vector for this model yet; vectors go to `embeddings`, chunk rows to `chunks` (files named
    by `run_id`). `progress` (a flows.stage.Progress) grows the `label` bar by the texts found
    and moves it per embedded batch; `now` gives each row's time."""
    from corpusforge.processing.chunking import chunk_records

    counts = EmbedCounts()
    con = wh.connect()
    try:
        with wh.writer("embeddings", run_id) as vectors_out, wh.writer("chunks", run_id) as chunks_out:
            for docs in batches:
                rows = list(chunk_records(docs, embedder.count_tokens, config))
                counts.documents_chunked += len(docs)
                counts.chunks_new += len(rows)
                have = cached_text_hashes(con, embedder.model_id, (r["text_hash"] for r in rows))
                todo = _unique_missing(rows, have)
                counts.cache_hits += sum(1 for r in rows if r["text_hash"] in have)
                if progress is not None:
                    progress.update(label, add_total=len(todo))
                _embed_into(vectors_out, embedder, batch_size, todo, run_id, now, progress, label)
                counts.embedded += len(todo)
                # Vectors are written (and flushed) before the chunk rows that point at them.
                vectors_out.flush()
                chunks_out.write(state_rows([{**r, "created_at": now()} for r in rows]))
    finally:
        con.close()
    return counts


def _unique_missing(rows: list[dict], have: set[str]) -> list[tuple[str, str, int]]:
    """(text_hash, text to embed, its tokens) of every distinct embedding input without a vector."""
    todo: dict[str, tuple[str, str, int]] = {}
    for r in rows:
        if r["text_hash"] not in have and r["text_hash"] not in todo:
            todo[r["text_hash"]] = (r["text_hash"], r["embed_text"], r["token_count"])
    return list(todo.values())


def _embed_into(writer, embedder, batch_size: int, todo, run_id: str, now, progress, label: str) -> None:
    # Texts sorted by their token counts (known from chunking), so each batch pads little: the
    # model's cost follows the longest text of a batch. One batch per call, so the progress bar
    # moves with every batch.
    todo = sorted(todo, key=lambda item: (item[2], len(item[1])))
    for start in range(0, len(todo), batch_size):
        part = todo[start : start + batch_size]
        vectors = embedder.embed(
            [text for _, text, _ in part], batch_size=batch_size, token_counts=[n for *_, n in part]
        )
        writer.write(embedding_rows([h for h, _, _ in part], vectors, embedder.model_id, run_id, now()))
        if progress is not None:
            progress.update(label, advance=len(part))
