"""The dedup stage's state kept between runs: the latest row per document of its index and of
its clusters, without reading the whole history each run.

Each run of the stage first asks for the latest `dedup_signatures` row of every document (with its
band hashes) and the latest `clusters` row of every document. Computed from the append-only
history, both are a window over every row ever written; a run that adds 500 documents to 50,000
spent a third of its time there. So a run saves that state (`_current.arrow` in the table's
folder, an Arrow IPC file the views never read, memory-mapped when read back), and the next runs
read it and only the files written since: the latest row of a document is its row in those new
files, else its row in the snapshot (`LatestRows`, a view on the run's DuckDB connection). A run
rewrites the snapshot only when it computed the state from the history or when the files
written since hold more than a tenth of its rows, so an incremental run writes nothing extra.
The index's snapshot also holds each document's shingle set: the few hundred an incremental run
verifies are read where they lie in the mapped file (by their place in the state, `ROW`), not by
a scan of the history's whole shingle column. Saving costs a run whose state came from the
history 0.30-0.34 s on 50,000 documents (the query that joins the shingle sets in, and writing
the 55 MB file); it saves each later run about 45 ms.

A snapshot is used only when every Parquet file it was computed from is still there with the
same size (file names are unique per write; files are never rewritten in place), the tables'
schemas are those it was made under, and its format is this module's. A deleted file (a
compaction), a schema change, an unreadable file: the state is computed from the history as
before, and saved by the run that does so. Writes go to the table's `_tmp` folder and are
renamed into place, so a reader never sees half a file; only the dedup stage writes them, under
its table locks.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from corpusforge.warehouse.lazy_duckdb import duckdb
from corpusforge.warehouse.store import TMP_DIR, schemas_digest

SNAPSHOT_FILE = "_current.arrow"
FORMAT_VERSION = 2  # 2: the index's snapshot holds the shingle sets too
STAMP_KEY = b"corpusforge.snapshot"
REWRITE_SHARE = 0.1  # rows in files newer than the snapshot, as a share of its rows, that make a run rewrite it
ROW = "_row"  # a row's place in the state: the snapshot's rows first, then the new files'


def snapshot_path(wh, table: str) -> str:
    return f"{wh.table_dir(table)}/{SNAPSHOT_FILE}"


def _stamp(files: list[pafs.FileInfo]) -> dict:
    return {"format": FORMAT_VERSION, "schemas": schemas_digest(), "files": [[i.base_name, i.size] for i in files]}


def read_snapshot(wh, table: str) -> tuple[pa.Table, set[str]] | None:
    """(the saved state of `table`, the names of the files it covers), or None when there is none
    that can be used now: unreadable, made under other schemas or another format, or one of its
    files is gone or not the same."""
    path = snapshot_path(wh, table)
    try:
        source = pa.memory_map(path) if wh.is_local else wh.fs.open_input_file(path)
        data = ipc.open_file(source).read_all()
        stamp = json.loads(data.schema.metadata[STAMP_KEY])
    except (OSError, pa.ArrowInvalid, KeyError, TypeError, ValueError):  # none yet, or not a whole snapshot
        return None
    now = {i.base_name: i.size for i in wh.files(table)}
    expected = _stamp([])
    if stamp.get("format") != expected["format"] or stamp.get("schemas") != expected["schemas"]:
        return None
    covered = {name: size for name, size in stamp.get("files", [])}
    if any(now.get(name) != size for name, size in covered.items()):
        return None
    return data.replace_schema_metadata(None), set(covered)


def write_snapshot(wh, table: str, data: pa.Table, files: list[pafs.FileInfo]) -> None:
    """Save `data` as the state of `table` computed from `files` (call under the table's lock)."""
    stamped = data.replace_schema_metadata({STAMP_KEY: json.dumps(_stamp(files)).encode()})
    tmp = f"{wh.table_dir(table)}/{TMP_DIR}/{SNAPSHOT_FILE}.{secrets.token_hex(4)}.tmp"
    with wh.fs.open_output_stream(tmp) as sink, ipc.new_file(sink, stamped.schema) as writer:
        writer.write_table(stamped)
    wh.fs.move(tmp, snapshot_path(wh, table))


def read_files(wh, files: list[pafs.FileInfo], columns: list[str] | None, like: pa.Table) -> pa.Table:
    """The rows of these Parquet files (the few written since the snapshot), these columns; `like`
    (empty, not schema.empty_table(), which imports pandas) when there are none."""
    if not files:
        return like
    tables = []
    for info in files:
        with wh.fs.open_input_file(info.path) as fh:
            tables.append(pq.ParquetFile(fh).read(columns=columns))
    return pa.concat_tables(tables, promote_options="permissive")


def _numbered(table: pa.Table, start: int) -> pa.Table:
    """`table` with its rows' places as the column `ROW` (built from a buffer: pa.array would
    import pandas, which the stage loads in the background meanwhile)."""
    places = np.arange(start, start + table.num_rows, dtype=np.int64)
    return table.append_column(ROW, pa.Array.from_buffers(pa.int64(), len(places), [None, pa.py_buffer(places)]))


def _list_values(column: pa.ChunkedArray, rows: np.ndarray) -> list[np.ndarray]:
    """The values of each given row (ascending) of a list column, as numpy views: no copy, the
    snapshot being memory-mapped, and only those rows read, not the whole column."""
    out: list[np.ndarray] = []
    start = 0
    for chunk in column.chunks:
        end = start + len(chunk)
        mine = rows[(rows >= start) & (rows < end)] - start
        if len(mine):
            offsets, values = chunk.offsets.to_numpy(), chunk.values.to_numpy(zero_copy_only=False)
            out.extend(values[offsets[r] : offsets[r + 1]] for r in mine.tolist())
        start = end
    return out


class LatestRows:
    """The latest row per document of one table, as the view `view` on a DuckDB connection: the
    snapshot's rows, replaced by those of the files written since (each row's place in the two
    is its `ROW`). Without a usable snapshot the state is `compute(con)` over the history.
    `columns`: those read from the new files (None: all); of them, `optional` ones only when the
    snapshot holds them too. `refresh` after the run writes to the table; `save` at the end of the run."""

    def __init__(
        self,
        wh,
        con: duckdb.DuckDBPyConnection,
        table: str,
        view: str,
        columns: list[str] | None,
        compute: Callable[[duckdb.DuckDBPyConnection], pa.Table],
        optional: tuple[str, ...] = (),
    ) -> None:
        self._wh, self._con, self._table, self._view = wh, con, table, view
        self._compute = compute
        saved = read_snapshot(wh, table)
        self._from_history = saved is None
        if saved is None:
            base = self._computed()
        else:
            base, self._covered = saved
        # `optional` columns are read from the new files only when the snapshot has them as well
        self._columns = columns and [c for c in columns if c not in optional or c in base.column_names]
        self._like = base.slice(0, 0)  # the columns of an empty state
        self._set_base(base)
        self.refresh()

    def _computed(self) -> pa.Table:
        """The state computed from the whole history, and the files it covers (listed first:
        files written meanwhile are read as new)."""
        self._covered = {i.base_name for i in self._wh.files(self._table)}
        return self._compute(self._con)

    def _set_base(self, base: pa.Table) -> None:
        self._base = _numbered(base, 0)
        self._con.register(f"{self._view}_base", self._base)

    def refresh(self) -> None:
        """Take in the files of the table that are not in the snapshot (the run's own, once written).
        A state computed from the history is computed again instead: in one query DuckDB reads a
        first run's rows faster than Arrow reads its files back and merges them."""
        files = [i for i in self._wh.files(self._table) if i.base_name not in self._covered]
        if self._from_history and files:
            self._set_base(self._computed())
            files = []
        self._new = _numbered(read_files(self._wh, files, self._columns, self._like), len(self._base))
        self._seen = self._covered | {i.base_name for i in files}
        self._con.register(f"{self._view}_new", self._new)
        self._con.execute(
            f"""
            create or replace temp view {self._view} as
            select * from {self._view}_base where doc_id not in (select doc_id from {self._view}_new)
            union all by name
            select * from {self._view}_new
            qualify row_number() over (partition by doc_id order by created_at desc) = 1
            """
        )

    def has(self, column: str) -> bool:
        """Whether every row of the state has `column` (a snapshot may hold more than the history query)."""
        return column in self._base.column_names and column in self._new.column_names

    def list_values(self, column: str, rows: np.ndarray) -> list[np.ndarray]:
        """The values of a list column at these places (`ROW`, ascending) of the state."""
        cut = int(np.searchsorted(rows, len(self._base)))
        return _list_values(self._base.column(column), rows[:cut]) + _list_values(
            self._new.column(column), rows[cut:] - len(self._base)
        )

    def save(self, query: str | None = None) -> None:
        """Write the snapshot when it was computed from the history or has fallen behind by more
        than `REWRITE_SHARE` of its rows (call under the table's lock, after the run's writes).
        `query` gives the rows to save (default: the view's)."""
        files = self._wh.files(self._table)
        if any(i.base_name not in self._seen for i in files):
            self.refresh()
        if self._from_history or len(self._new) > REWRITE_SHARE * len(self._base):
            rows = self._con.sql(query or f"select * exclude ({ROW}) from {self._view}").to_arrow_table()
            write_snapshot(self._wh, self._table, rows, files)
