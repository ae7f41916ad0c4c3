"""The RAG export's storage: the export folder and search (chunk state, the embedding cache and
the chunk -> embed -> write loop are in warehouse/rag_chunks.py).

- An export is a folder `<warehouse parent>/exports/rag/<name>/` with `chunks.parquet` (the
  vector as fixed_size_list<float32>[dim], bounded row groups, model id and dimension in the
  file's metadata), `deletions.parquet` (chunk_ids that left since the previous export, each
  with a reason code) and `manifest.json`. The three files are written aside and renamed into
  place, manifest last, so a reader sees an export whole.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from corpusforge.schemas import conform, schema_of
from corpusforge.warehouse.files import remove_tree
from corpusforge.warehouse.lock_lease import raise_if_lost

EXPORT_ROW_GROUP_ROWS = 2_048  # ~3 MB per group with 384-dim vectors and their text
CHUNKS_FILE = "chunks.parquet"
DELETIONS_FILE = "deletions.parquet"
MANIFEST_FILE = "manifest.json"
TMP_DIR = "_tmp"

META_MODEL_ID = b"corpusforge.model_id"
META_DIM = b"corpusforge.embedding_dim"
META_CHUNKER = b"corpusforge.chunker_config"
META_CHUNKER_HASH = b"corpusforge.chunker_config_hash"

# Every reason a chunk can leave the export, in the order they are tested.
DELETION_REASONS = (
    "changed",  # its document is still exported, but this chunk is not (edited, or config changed)
    "tombstoned",  # the document was removed at the source or taken down
    "removed",  # the document left the corpus without a tombstone
    "not_kept",  # a quality filter of the clean stage now drops it
    "cluster_removed",  # dedup took it out of its cluster
    "duplicate",  # no longer its cluster's representative
    "label_drop",  # humans labelled it quality=drop
    "label_use_excludes",  # its `use` label routes it away from RAG
    "filtered",  # the export's source or language filter leaves it out
)


def _arrow(result: duckdb.DuckDBPyRelation) -> pa.Table:
    fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    return fetch()


# ---- the export folder ----------------------------------------------------------------------
def export_dir(wh, name: str) -> str:
    """`<warehouse parent>/exports/rag/<name>` on the warehouse's filesystem."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid export name {name!r}: use a plain folder name")
    return f"{os.path.dirname(wh.root)}/exports/rag/{name}"


def lancedb_dir(wh, configured: str | None = None) -> str:
    """The LanceDB database of the RAG exports, one table per export: `configured` (the export's
    `lancedb_uri`: a local folder, or an object-store URL as it is), else `exports/lancedb` beside
    `exports/rag/`. On an s3:// warehouse that default is in the bucket too, with the warehouse
    URL's query (the same endpoint, region and credentials): the database sits with the export it
    is synced from, and every machine of a run finds it (flows.export_rag.check_sink refuses a
    default on other remote filesystems)."""
    if configured:
        if "://" in configured and not configured.startswith("file://"):
            return configured
        return os.path.abspath(configured.removeprefix("file://"))
    folder = f"{os.path.dirname(wh.root)}/exports/lancedb"
    if wh.is_local:
        return folder
    query = urlsplit(wh.root_url).query
    return wh.location(folder) + (f"?{query}" if query else "")


def public_location(uri: str) -> str:
    """A database URI for messages and summaries: its query (endpoint options, maybe keys) left out."""
    return uri.split("?", 1)[0]


def read_manifest(wh, name: str) -> dict | None:
    path = f"{export_dir(wh, name)}/{MANIFEST_FILE}"
    if wh.fs.get_file_info(path).type == pafs.FileType.NotFound:
        return None
    with wh.fs.open_input_stream(path) as fh:
        return json.loads(fh.read().decode())


def previous_chunk_ids(wh, name: str) -> pa.Table:
    """chunk_id and doc_id of every chunk in the current export (empty when there is none)."""
    path = f"{export_dir(wh, name)}/{CHUNKS_FILE}"
    if wh.fs.get_file_info(path).type == pafs.FileType.NotFound:
        return pa.table({"chunk_id": pa.array([], pa.string()), "doc_id": pa.array([], pa.string())})
    return pq.read_table(path, columns=["chunk_id", "doc_id"], filesystem=wh.fs)


def export_schema(dim: int, model_id: str, chunker: dict, chunker_hash: str) -> pa.Schema:
    """The chunks table's schema with a vector of this dimension and the model in the metadata."""
    base = schema_of("chunks")
    idx = base.get_field_index("embedding")
    schema = base.set(idx, pa.field("embedding", pa.list_(pa.float32(), dim), nullable=False))
    meta = dict(base.metadata or {})
    meta.update(
        {
            META_MODEL_ID: model_id.encode(),
            META_DIM: str(dim).encode(),
            META_CHUNKER: json.dumps(chunker, sort_keys=True).encode(),
            META_CHUNKER_HASH: chunker_hash.encode(),
        }
    )
    return schema.with_metadata(meta)


_EXPORT_SQL = """
with cur as (
    select c.* exclude (embedding, url, title, language, fetched_at)
    from chunks_history c
    join _rag_selected s
        on s.doc_id = c.doc_id and s.content_hash = c.content_hash and coalesce(c.title, '') = s.title
    where c.chunker_config_hash = $config_hash
    qualify row_number() over (partition by c.chunk_id order by c.created_at desc) = 1
),
vec as (
    select text_hash, embedding from embeddings_history where model_id = $model_id
    qualify row_number() over (partition by text_hash order by created_at desc) = 1
)
select cur.chunk_id, cur.doc_id, cur.content_hash, s.url, s.original_title as title, cur.heading_path,
       cur.position, cur.char_start, cur.char_end, cur.text, cur.text_hash, cur.token_count,
       s.language, s.fetched_at, vec.embedding::FLOAT[{dim}] as embedding, $model_id as model_id,
       cur.chunker_config_hash, cur.created_at
from cur
join _rag_selected s on s.doc_id = cur.doc_id
join vec on vec.text_hash = cur.text_hash
order by cur.doc_id, cur.position
"""


@dataclass
class ExportResult:
    path: str
    chunks: int
    documents: int
    deleted: int
    deletion_reasons: dict[str, int]


def _selected_table(selected: pa.Table) -> pa.Table:
    titles = selected.column("title").to_pylist()
    return pa.table(
        {
            "doc_id": selected.column("doc_id"),
            "content_hash": pa.array([h or "" for h in selected.column("content_hash").to_pylist()], pa.string()),
            "title": pa.array([t or "" for t in titles], pa.string()),
            "original_title": pa.array(titles, pa.string()),
            "url": selected.column("url"),
            "language": selected.column("language"),
            "fetched_at": selected.column("fetched_at"),
        }
    )


def write_export(
    wh,
    name: str,
    selected: pa.Table,
    *,
    model_id: str,
    dim: int,
    chunker: dict,
    chunker_hash: str,
    manifest_extra: dict,
    run_id: str,
    now,
) -> ExportResult:
    """Write the export of the selected documents' chunks with their vectors, the deletions
    since the previous export, and the manifest. Streams from DuckDB in row-group batches."""
    out_dir = export_dir(wh, name)
    tmp_dir = f"{out_dir}/{TMP_DIR}"
    # What is there was left by a killed run: the caller holds the chunks and embeddings locks,
    # which every RAG export's writing takes, so no live run is writing in it.
    remove_tree(wh.fs, tmp_dir)
    wh.fs.create_dir(tmp_dir, recursive=True)
    schema = export_schema(dim, model_id, chunker, chunker_hash)
    tmp_chunks = f"{tmp_dir}/{run_id}-{CHUNKS_FILE}"
    current_ids: dict[str, str] = {}
    con = wh.connect()
    try:
        con.register("_rag_selected", _selected_table(selected))
        reader = con.sql(
            _EXPORT_SQL.format(dim=int(dim)), params={"config_hash": chunker_hash, "model_id": model_id}
        ).fetch_record_batch(EXPORT_ROW_GROUP_ROWS)
        with wh.fs.open_output_stream(tmp_chunks) as sink, pq.ParquetWriter(sink, schema, compression="zstd") as pw:
            for batch in reader:
                table = conform("chunks", pa.Table.from_batches([batch])).cast(schema)
                pw.write_table(table, row_group_size=EXPORT_ROW_GROUP_ROWS)
                ids = table.column("chunk_id").to_pylist()
                current_ids.update(zip(ids, table.column("doc_id").to_pylist(), strict=True))
        previous = previous_chunk_ids(wh, name)
        deletions = _deletions(con, previous, current_ids, run_id, now)
    finally:
        con.close()
    reasons = _count(deletions.column("reason").to_pylist())
    tmp_deletions = f"{tmp_dir}/{run_id}-{DELETIONS_FILE}"
    with wh.fs.open_output_stream(tmp_deletions) as sink:
        pq.write_table(deletions, sink, compression="zstd")
    manifest = {
        **manifest_extra,
        "name": name,
        "run_id": run_id,
        "created_at": now.isoformat(),
        "model": {"id": model_id, "dim": int(dim), **manifest_extra.get("model", {})},
        "chunker": {**chunker, "hash": chunker_hash},
        "files": {"chunks": CHUNKS_FILE, "deletions": DELETIONS_FILE},
        "counts": {
            **manifest_extra.get("counts", {}),
            "documents": len(set(current_ids.values())),
            "chunks": len(current_ids),
            "deleted": deletions.num_rows,
        },
        "deletion_reasons": reasons,
    }
    tmp_manifest = f"{tmp_dir}/{run_id}-{MANIFEST_FILE}"
    with wh.fs.open_output_stream(tmp_manifest) as sink:
        sink.write(json.dumps(manifest, indent=2, sort_keys=True, default=str).encode())
    raise_if_lost(run_id)  # the run lost its lock on chunks/embeddings: another run exports now
    # Manifest last: it names the export a reader is looking at.
    wh.fs.move(tmp_chunks, f"{out_dir}/{CHUNKS_FILE}")
    wh.fs.move(tmp_deletions, f"{out_dir}/{DELETIONS_FILE}")
    wh.fs.move(tmp_manifest, f"{out_dir}/{MANIFEST_FILE}")
    _remove_if_empty(wh.fs, tmp_dir)  # the folder a user opens holds the export's files only
    return ExportResult(out_dir, len(current_ids), manifest["counts"]["documents"], deletions.num_rows, reasons)


def _remove_if_empty(fs, folder: str) -> None:
    """Remove the staging folder unless it still holds something (a crashed run's leftovers)."""
    if not fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
        fs.delete_dir(folder)


def _count(values: list[str]) -> dict[str, int]:
    counts = {r: values.count(r) for r in DELETION_REASONS}
    return {r: n for r, n in counts.items() if n}


_DELETION_REASON_SQL = """
with latest_label as (
    select doc_id, quality, "use" from annotations
    where not coalesce(was_cancelled, false)
    qualify row_number() over (partition by doc_id order by updated_at desc, annotation_id desc) = 1
),
tomb as (select distinct doc_id from tombstones)
select x.chunk_id, x.doc_id,
    case
        when x.still_exported then 'changed'
        when d.doc_id is null and t.doc_id is not null then 'tombstoned'
        when d.doc_id is null then 'removed'
        when not d.kept then 'not_kept'
        when coalesce(c.removed, false) then 'cluster_removed'
        when c.doc_id is not null and not c.is_representative then 'duplicate'
        when l.quality = 'drop' then 'label_drop'
        when l."use" in ('training', 'neither') then 'label_use_excludes'
        else 'filtered'
    end as reason
from _rag_deleted x
left join documents d on d.doc_id = x.doc_id
left join tomb t on t.doc_id = x.doc_id
left join clusters c on c.doc_id = x.doc_id
left join latest_label l on l.doc_id = x.doc_id
order by x.doc_id, x.chunk_id
"""


def _deletions(con, previous: pa.Table, current_ids: dict[str, str], run_id: str, now) -> pa.Table:
    """Chunks of the previous export that are not in this one, each with why it left."""
    exported_docs = set(current_ids.values())
    gone = [
        (cid, doc)
        for cid, doc in zip(previous.column("chunk_id").to_pylist(), previous.column("doc_id").to_pylist(), strict=True)
        if cid not in current_ids
    ]
    deleted = pa.table(
        {
            "chunk_id": pa.array([c for c, _ in gone], pa.string()),
            "doc_id": pa.array([d for _, d in gone], pa.string()),
            "still_exported": pa.array([d in exported_docs for _, d in gone], pa.bool_()),
        }
    )
    con.register("_rag_deleted", deleted)
    try:
        table = _arrow(con.sql(_DELETION_REASON_SQL))
    finally:
        con.unregister("_rag_deleted")
    n = table.num_rows
    return table.append_column("run_id", pa.array([run_id] * n, pa.string())).append_column(
        "deleted_at", pa.array([now] * n, pa.timestamp("us", tz="UTC"))
    )


# ---- search ---------------------------------------------------------------------------------
def export_dim(wh, name: str) -> int:
    """The vector dimension recorded in the export file's metadata."""
    meta = pq.read_schema(f"{export_dir(wh, name)}/{CHUNKS_FILE}", filesystem=wh.fs).metadata or {}
    return int(meta[META_DIM])


def connect_export(wh, name: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the view `rag_chunks` over the export's chunks.

    Parquet has no fixed-size list type (the size lives only in Arrow's schema metadata), so
    DuckDB's Parquet reader types the column FLOAT[]; the view casts it to FLOAT[dim], the array
    type that array_cosine_similarity and friends take.
    """
    path = f"{export_dir(wh, name)}/{CHUNKS_FILE}"
    if wh.fs.get_file_info(path).type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"no RAG export named {name!r} at {path}; run `corpusforge export rag` first")
    dim = export_dim(wh, name)
    con = duckdb.connect()
    if wh.is_local:
        source = f"read_parquet('{_sql_string(path)}')"
    else:  # no DuckDB extension needed: hand it the file through Arrow
        con.register("_rag_file", pq.read_table(path, filesystem=wh.fs))
        source = "_rag_file"
    con.execute(f"create view rag_chunks as select * replace (embedding::FLOAT[{dim}] as embedding) from {source}")
    return con


def search_export(wh, name: str, query_vector: np.ndarray, k: int = 5) -> pa.Table:
    """The k chunks of an export most similar to the query vector (cosine, in DuckDB over the
    fixed-size array column): score, title, heading_path, url, text, chunk_id, doc_id."""
    con = connect_export(wh, name)
    try:
        dim = export_dim(wh, name)
        if query_vector.shape != (dim,):
            raise ValueError(f"query vector has shape {query_vector.shape}, the export's vectors have {dim} dimensions")
        return _arrow(
            con.sql(
                f"""
                select array_cosine_similarity(embedding, $q::FLOAT[{dim}]) as score,
                       title, heading_path, url, text, chunk_id, doc_id
                from rag_chunks
                order by score desc, chunk_id
                limit $k
                """,
                params={"q": query_vector.astype(np.float32).tolist(), "k": int(k)},
            )
        )
    finally:
        con.close()


def _sql_string(value: str) -> str:
    return value.replace("'", "''")
