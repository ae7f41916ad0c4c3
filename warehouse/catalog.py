"""The DuckDB catalog: `corpus.duckdb` beside the tables, one view per table.

Views read the Parquet files through absolute paths, so `duckdb /path/to/data/corpus.duckdb`
answers from any working directory with no setup (DuckDB resolves a relative path in a view
against the current directory, not against the database file, and a view cannot compute its
path from the database's location: table function arguments must be constants). The absolute
root is part of the catalog's digest, so after the warehouse folder is moved the next
corpusforge command (any `connect`) rebuilds the catalog for the new place.

For each table there is `<table>_history` (every row ever written) and `<table>`: for tables
with a key, the latest row per key, without rows of tombstoned documents.
Stages may add views of their own with `register_view` (e.g. `crawl_state`).
"""

from __future__ import annotations

import os
import tempfile

from corpusforge.schemas import TABLES, TableSpec
from corpusforge.warehouse.export_views import RAG_CHUNKS_SQL
from corpusforge.warehouse.lazy_duckdb import duckdb

# rag_chunks always: the chunks' vectors live in the embeddings cache, this view joins them in as FLOAT[384].
EXTRA_VIEWS: dict[str, str] = {"rag_chunks": RAG_CHUNKS_SQL}


def register_view(name: str, sql: str) -> None:
    """Add a view defined over the table views (`sql` is the SELECT)."""
    EXTRA_VIEWS[name] = sql


def _history_source(wh, table: str) -> str:
    if wh.is_local:
        glob = f"{wh.root}/{table}/*.parquet"
    else:
        glob = f"{wh.root_url.rstrip('/')}/{table}/*.parquet"
    return f"read_parquet({_sql_string(glob)}, union_by_name = true)"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _current_view_sql(spec: TableSpec) -> str:
    history = f"{spec.name}_history"
    if not spec.key:
        return f"select * from {history}"
    keys = ", ".join(spec.key)
    sql = f"select * from {history} h qualify row_number() over (partition by {keys} order by {spec.order_by} desc) = 1"
    return without_tombstoned(spec, sql)


def without_tombstoned(spec: TableSpec, latest_sql: str) -> str:
    """The latest rows `latest_sql` gives of a table, without those its view hides: rows of
    documents tombstoned since (`hide_tombstoned_by`). The dedup stage asks its own latest rows
    the same way (warehouse/dedup_clusters.py)."""
    if not spec.hide_tombstoned_by:
        return latest_sql
    # An ANTI JOIN, not NOT EXISTS: DuckDB plans the correlated subquery as a delim join, about
    # 8x slower on 50,000 documents (0.5 s against 0.07 s); the rows kept are the same.
    return (
        f"select cur.* from ({latest_sql}) cur anti join tombstones t "
        f"on t.doc_id = cur.doc_id and t.created_at >= cur.{spec.hide_tombstoned_by}"
    )


def view_statements(wh, history_from_arrow: bool = False) -> list[str]:
    stmts = []
    if not history_from_arrow:
        for name in TABLES:
            stmts.append(f"create or replace view {name}_history as select * from {_history_source(wh, name)}")
    # Views that hide tombstoned rows read the tombstones view, so they come after it.
    for name, spec in sorted(TABLES.items(), key=lambda kv: kv[1].hide_tombstoned_by is not None):
        stmts.append(f"create or replace view {name} as {_current_view_sql(spec)}")
    for name, sql in EXTRA_VIEWS.items():
        stmts.append(f"create or replace view {name} as {sql}")
    return stmts


def _catalog_digest(wh) -> str:
    import hashlib

    return hashlib.sha256("\n".join(view_statements(wh)).encode()).hexdigest()


def write_catalog(wh) -> None:
    """(Re)build corpus.duckdb atomically: build a new file, then rename it over the old one,
    so a shell that has the old one open keeps working. Skipped when the views are unchanged
    (the digest of their SQL is kept beside the catalog)."""
    digest = _catalog_digest(wh)
    digest_path = wh.catalog_path + ".sha256"
    if os.path.exists(wh.catalog_path) and os.path.exists(digest_path):
        with open(digest_path) as fh:
            if fh.read().strip() == digest:
                return
    for name in TABLES:  # a table added since the warehouse was made gets its (empty) folder
        wh._ensure_table(name)
    _build_catalog(wh)
    with open(digest_path + ".tmp", "w") as fh:
        fh.write(digest)
    os.replace(digest_path + ".tmp", digest_path)


def _build_catalog(wh) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".corpus-", suffix=".duckdb", dir=wh.root)
    os.close(fd)
    os.unlink(tmp)  # duckdb wants to create the file itself
    # An old storage version, so that any DuckDB shell from 1.0 on can open the catalog.
    con = duckdb.connect(tmp, config={"storage_compatibility_version": "v1.0.0"})
    try:
        for stmt in view_statements(wh):
            con.execute(stmt)
    finally:
        con.close()
    os.replace(tmp, wh.catalog_path)
    wal = tmp + ".wal"
    if os.path.exists(wal):
        os.unlink(wal)


def connect(wh, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection with every view defined, working from any current directory. A local
    catalog is rebuilt first when its views are stale (the warehouse moved, views were added)."""
    if wh.is_local:
        if not os.path.exists(wh.catalog_path):
            wh.init()
        try:
            write_catalog(wh)
        except OSError:  # a read-only warehouse that moved: views in memory, the file stays as it is
            return _in_memory_views(wh, history_from_arrow=False)
        return duckdb.connect(wh.catalog_path, read_only=read_only)
    return _in_memory_views(wh, history_from_arrow=True)


def see_new_files(wh, con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> None:
    """Make a connection see the files written to `tables` since it was opened. A local
    catalog's views glob the table folders at each query (nothing to do); on a remote root the
    connection's `<table>_history` are Arrow datasets of the files listed when it was opened,
    registered again here (the views over them resolve the name at each query)."""
    if not wh.is_local:
        for name in tables:
            con.register(f"{name}_history", wh.dataset(name))


def _in_memory_views(wh, history_from_arrow: bool) -> duckdb.DuckDBPyConnection:
    # Remote roots: register the tables as Arrow datasets (no DuckDB extension needed).
    con = duckdb.connect()
    if history_from_arrow:
        for name in TABLES:
            con.register(f"{name}_history", wh.dataset(name))
    for stmt in view_statements(wh, history_from_arrow=history_from_arrow):
        con.execute(stmt)
    return con
