"""Vectors typed as what they are, in DuckDB: FLOAT[dim], the array type its vector functions take.

Parquet has no fixed-size list: DuckDB's Parquet reader types a vector column FLOAT[] (Arrow's
schema in the file keeps the size, DuckDB does not read it), and array_cosine_similarity then
needs a cast the user must know about. Two places give the cast once, for everyone:

- `rag_chunks` in the warehouse catalog: the current chunks with their vectors joined from the
  `embeddings` cache (vectors are stored once there, not in `chunks`), one row per chunk and model.
- `export.duckdb` in each RAG export folder: views `chunks` and `deletions` over the folder's
  Parquet files, the vector as FLOAT[dim]. Paths are relative to the export folder, so the folder
  can be moved or copied: open it from there (`cd exports/rag/default && duckdb export.duckdb`),
  or elsewhere with `set file_search_path` to the folder (what `connect_export_views` does).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from corpusforge.warehouse.lazy_duckdb import duckdb

# The packaged model's dimension (all-MiniLM-L6-v2). The catalog's views are plain SQL, fixed when
# the catalog is built, so the warehouse view is typed for it; vectors of other models keep their
# FLOAT[] in `embeddings` and are left out here.
RAG_VIEW_DIM = 384

RAG_CHUNKS_SQL = f"""
select c.* exclude (embedding, model_id), e.model_id, e.embedding::FLOAT[{RAG_VIEW_DIM}] as embedding
from chunks c
join embeddings e on e.text_hash = c.text_hash
where e.dim = {RAG_VIEW_DIM}
"""

EXPORT_DB_FILE = "export.duckdb"
CHUNKS_FILE = "chunks.parquet"
DELETIONS_FILE = "deletions.parquet"
META_DIM = b"corpusforge.embedding_dim"


def export_view_statements(folder: str | Path) -> list[str]:
    """The views of an export folder's `export.duckdb` (paths relative to the folder)."""
    folder = Path(folder)
    meta = pq.read_schema(folder / CHUNKS_FILE).metadata or {}
    if META_DIM not in meta:
        raise ValueError(f"{folder / CHUNKS_FILE} has no embedding dimension in its metadata; is it a RAG export?")
    dim = int(meta[META_DIM])
    stmts = [
        f"create or replace view chunks as select * replace (embedding::FLOAT[{dim}] as embedding) "
        f"from read_parquet('{CHUNKS_FILE}')"
    ]
    if (folder / DELETIONS_FILE).is_file():
        stmts.append(f"create or replace view deletions as select * from read_parquet('{DELETIONS_FILE}')")
    return stmts


def write_export_views(folder: str | Path, filesystem: pafs.FileSystem | None = None) -> str:
    """Write `export.duckdb` into a RAG export folder (atomically: built aside, then renamed), on
    a local disk or in `filesystem` (an export beside an s3:// warehouse: one PUT)."""
    if filesystem is None or isinstance(filesystem, pafs.LocalFileSystem):
        return str(_write_local_views(folder))
    return _write_remote_views(str(folder), filesystem)


def _write_remote_views(folder: str, fs: pafs.FileSystem) -> str:
    """The views only name the folder's files, relative to it: built beside zero-row stand-ins of
    those files (same schemas) in a local temp folder, then the database file is uploaded."""
    with tempfile.TemporaryDirectory(prefix="export-views-") as local:
        for name in (CHUNKS_FILE, DELETIONS_FILE):
            if fs.get_file_info(f"{folder}/{name}").type == pafs.FileType.File:
                schema = pq.read_schema(f"{folder}/{name}", filesystem=fs)
                pq.write_table(schema.empty_table(), os.path.join(local, name))
        if not os.path.isfile(os.path.join(local, CHUNKS_FILE)):
            raise FileNotFoundError(f"{folder} has no {CHUNKS_FILE}; run `corpusforge export rag` first")
        built = _write_local_views(local)
        target = f"{folder}/{EXPORT_DB_FILE}"
        with open(built, "rb") as src, fs.open_output_stream(target) as dst:
            dst.write(src.read())
    return target


def _remove_abandoned_builds(folder: Path) -> None:
    """A run killed while it built `export.duckdb` leaves its `.export-*.duckdb` (and WAL) beside
    it; the next build removes them (the export's writers hold its tables' locks, so no live run
    is building one)."""
    for leftover in folder.glob(".export-*.duckdb*"):
        leftover.unlink(missing_ok=True)


def _write_local_views(folder: str | Path) -> Path:
    folder = Path(folder)
    if not (folder / CHUNKS_FILE).is_file():
        raise FileNotFoundError(f"{folder} has no {CHUNKS_FILE}; run `corpusforge export rag` first")
    _remove_abandoned_builds(folder)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".duckdb", dir=folder)
    os.close(fd)
    os.unlink(tmp)  # duckdb wants to create the file itself
    # An old storage version, so that any DuckDB shell from 1.0 on can open it (as the catalog).
    con = duckdb.connect(tmp, config={"storage_compatibility_version": "v1.0.0"})
    try:
        con.execute(f"set file_search_path = '{_sql_string(str(folder))}'")
        for stmt in export_view_statements(folder):
            con.execute(stmt)
    finally:
        con.close()
    target = folder / EXPORT_DB_FILE
    os.replace(tmp, target)
    return target


def connect_export_views(folder: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a folder's `export.duckdb` that works from any directory."""
    folder = Path(folder)
    path = folder / EXPORT_DB_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{folder} has no {EXPORT_DB_FILE}; write it with write_export_views")
    con = duckdb.connect(str(path), read_only=True)
    con.execute(f"set file_search_path = '{_sql_string(str(folder.resolve()))}'")
    return con


def _sql_string(value: str) -> str:
    return value.replace("'", "''")
