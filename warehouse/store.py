"""The warehouse: Parquet files per table under a root (local path or any pyarrow/fsspec URL).

Layout: `<root>/<table>/<run_id>-<seq>.parquet`, append-only, one or more files per run.
Every table also holds a zero-row `00000000-schema.parquet` so that a fresh table can be
queried (DuckDB refuses a glob that matches nothing). Writes go to `<table>/_tmp/*.tmp` and
are renamed into place, so a reader never sees half a file and a killed run leaves only
a stray temp file that the next write of that table sweeps away.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from corpusforge.schemas import CORE_TABLES, TABLES, conform, schema_of
from corpusforge.warehouse.lock import TableLock, lock_file_for
from corpusforge.warehouse.lock_lease import raise_if_lost

if TYPE_CHECKING:
    import pyarrow.dataset as ds

ROW_GROUP_ROWS = 10_000  # bounded row groups: readers can stream a file in slices
# A clean worker reads its batch of pages (16 rows, flows/clean.py) from one file; Parquet can only
# skip whole row groups, so with small groups it decompresses the bodies it cleans and not the rest
# of the file (measured: 0.5 -> 0.11 ms a page on the sample site, 2.6 -> 0.45 on Python's docs).
ROW_GROUP_ROWS_OF = {"pages": 16}


def row_group_rows(table: str) -> int:
    return ROW_GROUP_ROWS_OF.get(table, ROW_GROUP_ROWS)


SCHEMA_FILE = "00000000-schema.parquet"
TMP_DIR = "_tmp"
# At the root: the digest of the table schemas every schema file was last checked against. While
# it matches the code's, a new process skips reading each table's schema file back (17 reads and
# Parquet round trips of the expected schemas, 0.1-0.15 s: a tenth of an incremental dedup).
SCHEMAS_MARK = "_schemas.sha256"


class WarehouseError(RuntimeError):
    """A problem with the warehouse itself (unreachable root, unknown table, unreadable file, ...)."""


def unreadable_file_error(table: str, path: str, exc: BaseException) -> WarehouseError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return WarehouseError(
        f"table '{table}': file {path} is not readable Parquet ({first}); "
        "move it aside and re-run the stage that wrote it"
    )


def new_run_id(stage: str) -> str:
    """Sortable, unique run id: files named by run sort by time."""
    now = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{now}-{stage}-{secrets.token_hex(3)}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _filesystem_for(root: str) -> tuple[pafs.FileSystem, str, bool]:
    """Return (filesystem, path inside it, is_local) for a root path or URL."""
    if "://" not in root or root.startswith("file://"):
        path = os.path.abspath(root.removeprefix("file://"))
        return pafs.LocalFileSystem(), path, True
    try:
        fs, path = pafs.FileSystem.from_uri(root)
        return fs, path.rstrip("/"), False
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        import fsspec  # any fsspec protocol (memory://, gcs://, ...) through pyarrow's adapter

        fsspec_fs, path = fsspec.core.url_to_fs(root)
        return pafs.PyFileSystem(pafs.FSSpecHandler(fsspec_fs)), path.rstrip("/"), False


def _empty(table: str) -> pa.Table:
    # Not Schema.empty_table(): that imports pandas (0.6-1 s on 2 busy cores), and init checks every table.
    return pa.Table.from_batches([], schema=schema_of(table))


@functools.cache
def schemas_digest() -> str:
    """The digest of every table's schema (and of the pyarrow that writes them)."""
    digest = hashlib.sha256(pa.__version__.encode())
    for name in sorted(TABLES):
        digest.update(name.encode())
        digest.update(schema_of(name).serialize().to_pybytes())
    return digest.hexdigest()


@functools.cache
def _as_read_back(table: str) -> pa.Schema:
    """The table's schema as Parquet gives it back (nested fields renamed: list<item> is read as
    list<element>), so that an up-to-date schema file compares equal and is not rewritten on
    every write."""
    buf = pa.BufferOutputStream()
    pq.write_table(_empty(table), buf)
    return pq.read_schema(pa.BufferReader(buf.getvalue()))


@dataclass(frozen=True)
class TableStats:
    name: str
    files: int
    rows: int
    bytes: int


class Warehouse:
    """Parquet tables under one root; the DuckDB catalog lives beside them (local roots)."""

    def __init__(self, root: str = "./data"):
        self.root_url = root
        self.fs, self.root, self.is_local = _filesystem_for(root)
        self._seq_lock = threading.Lock()
        self._seq = 0
        self._schemas_checked = False  # every schema file matches the code's schemas (see SCHEMAS_MARK)

    # ---- layout -------------------------------------------------------------------------
    def table_dir(self, table: str) -> str:
        if table not in TABLES:
            raise WarehouseError(f"unknown table {table!r}; known tables: {', '.join(sorted(TABLES))}")
        return f"{self.root}/{table}"

    def location(self, path: str) -> str:
        """A path of this warehouse's filesystem as a user would name it: the path on a local
        disk, else a URL (s3://bucket/...), for messages and summaries."""
        return path if self.is_local else f"{self.root_url.split('://', 1)[0]}://{path}"

    @property
    def catalog_path(self) -> str:
        return f"{self.root}/corpus.duckdb"

    def init(self, tables: Iterable[str] | None = None) -> None:
        """Create the table folders with their zero-row schema files, and the catalog."""
        names = list(tables) if tables is not None else list(TABLES)
        self._schemas_checked = self._schemas_checked or self._read_schemas_mark() == schemas_digest()
        for name in names:
            self._ensure_table(name)
        if tables is None and not self._schemas_checked:
            self._write_schemas_mark()
        if self.is_local:
            from corpusforge.warehouse.catalog import write_catalog

            write_catalog(self)

    def _ensure_table(self, table: str) -> None:
        tdir = self.table_dir(table)
        self.fs.create_dir(f"{tdir}/{TMP_DIR}", recursive=True)
        schema_path = f"{tdir}/{SCHEMA_FILE}"
        info = self.fs.get_file_info(schema_path)
        if info.type == pafs.FileType.NotFound or (
            not self._schemas_checked and self._schema_file_outdated(schema_path, table)
        ):
            self._atomic_write_table(table, _empty(table), SCHEMA_FILE)

    def _read_schemas_mark(self) -> str | None:
        try:
            with self.fs.open_input_stream(f"{self.root}/{SCHEMAS_MARK}") as fh:
                return fh.read().decode().strip()
        except (OSError, UnicodeDecodeError):  # none yet (an older warehouse): checked the long way
            return None

    def _write_schemas_mark(self) -> None:
        """Every schema file was just checked (and rewritten where outdated): say so, atomically."""
        tmp = f"{self.root}/{SCHEMAS_MARK}.{secrets.token_hex(4)}.tmp"
        with self.fs.open_output_stream(tmp) as fh:
            fh.write(schemas_digest().encode())
        self.fs.move(tmp, f"{self.root}/{SCHEMAS_MARK}")
        self._schemas_checked = True

    def _schema_file_outdated(self, path: str, table: str) -> bool:
        with contextlib.suppress(Exception):
            return not pq.read_schema(path, filesystem=self.fs).equals(_as_read_back(table), check_metadata=True)
        return True

    # ---- writing ------------------------------------------------------------------------
    def _next_name(self, run_id: str) -> str:
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        return f"{run_id}-{seq:05d}-{secrets.token_hex(4)}.parquet"

    def _atomic_write_table(self, table: str, data: pa.Table, name: str) -> str:
        tdir = self.table_dir(table)
        # A unique temp name: two threads writing the same file name (the schema file) must not
        # rename each other's temp file away.
        tmp = f"{tdir}/{TMP_DIR}/{name}.{secrets.token_hex(4)}.tmp"
        final = f"{tdir}/{name}"
        self.fs.create_dir(f"{tdir}/{TMP_DIR}", recursive=True)
        pq.write_table(data, tmp, filesystem=self.fs, compression="zstd", row_group_size=row_group_rows(table))
        self.fs.move(tmp, final)
        return final

    def write(self, table: str, data: pa.Table | list[dict], run_id: str) -> str | None:
        """Validate and write one batch as a new file; returns its path (None for no rows)."""
        conformed = conform(table, data)
        if conformed.num_rows == 0:
            return None
        self._ensure_table(table)
        raise_if_lost(run_id)  # a run whose lock was taken over commits nothing more
        return self._atomic_write_table(table, conformed, self._next_name(run_id))

    @contextlib.contextmanager
    def writer(self, table: str, run_id: str, max_rows_per_file: int = 100_000) -> Iterator[TableWriter]:
        """Stream batches into files of bounded size; each file appears atomically when full or
        when the block ends, so a killed run keeps every file it finished."""
        self._ensure_table(table)
        w = TableWriter(self, table, run_id, max_rows_per_file)
        try:
            yield w
        finally:
            w.close()

    def lock(self, table: str, run_id: str, wait: float = 0.0) -> TableLock:
        """Exclusive write lock for a table: `with wh.lock("pages", run_id): ...`; with `wait`,
        a busy table is retried for that many seconds before the clear error."""
        self._ensure_table(table)
        path = f"{self.table_dir(table)}/_lock"
        return TableLock(lock_file_for(self.fs, path, self.root_url, self.is_local), path, table, run_id, wait)

    @contextlib.contextmanager
    def locks(self, tables: Iterable[str], run_id: str, wait: float = 0.0) -> Iterator[None]:
        """The write locks of several tables, taken in order and all released at the end (also
        when taking a later one fails)."""
        with contextlib.ExitStack() as stack:
            for table in tables:
                stack.enter_context(self.lock(table, run_id, wait=wait))
            yield

    def sweep_temp_files(self, table: str) -> int:
        """Remove temp files left by killed writers (call only while holding the table lock)."""
        selector = pafs.FileSelector(f"{self.table_dir(table)}/{TMP_DIR}", allow_not_found=True)
        stale = [i.path for i in self.fs.get_file_info(selector) if i.path.endswith(".tmp")]
        for path in stale:
            self.fs.delete_file(path)
        return len(stale)

    # ---- reading ------------------------------------------------------------------------
    def files(self, table: str) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(self.table_dir(table), allow_not_found=True)
        infos = [
            i
            for i in self.fs.get_file_info(selector)
            if i.type == pafs.FileType.File and i.base_name.endswith(".parquet")
        ]
        return sorted(infos, key=lambda i: i.base_name)

    def dataset(self, table: str) -> ds.Dataset:
        import pyarrow.dataset as ds  # brings pandas along: only when a dataset is asked for (CLI start-up)

        paths = [i.path for i in self.files(table)]
        if not paths:
            return ds.dataset(schema_of(table).empty_table())
        return ds.dataset(paths, schema=schema_of(table), format="parquet", filesystem=self.fs)

    def read(self, table: str, columns: list[str] | None = None, filter=None) -> pa.Table:
        try:
            return self.dataset(table).to_table(columns=columns, filter=filter)
        except (pa.ArrowException, OSError) as exc:
            raise self.explain_read_error(exc, [table]) from None

    def explain_read_error(self, exc: BaseException, tables: Iterable[str]) -> Exception:
        """An error that names the table and the file, when a file of `tables` cannot be read
        (the reader's own message often names neither); else `exc` itself."""
        for table in tables:
            bad = self.first_unreadable_file(table)
            if bad is not None:
                return unreadable_file_error(table, *bad)
        return exc

    def first_unreadable_file(self, table: str) -> tuple[str, BaseException] | None:
        """(path, error) of the first file of the table that cannot be read through, else None.
        Reads every file in bounded batches: for error paths, not for every read."""
        for info in self.files(table):
            try:
                with self.fs.open_input_file(info.path) as fh:
                    for _ in pq.ParquetFile(fh).iter_batches(batch_size=ROW_GROUP_ROWS):
                        pass
            except Exception as exc:  # pyarrow raises OSError, ArrowInvalid, and others for bad bytes
                return info.path, exc
        return None

    def stats(self, table: str) -> TableStats:
        infos = self.files(table)
        rows = 0
        for info in infos:
            try:
                with self.fs.open_input_file(info.path) as fh:
                    rows += pq.ParquetFile(fh).metadata.num_rows
            except (pa.ArrowException, OSError) as exc:
                raise unreadable_file_error(table, info.path, exc) from None
        data_files = sum(1 for i in infos if i.base_name != SCHEMA_FILE)
        return TableStats(table, data_files, rows, sum(i.size for i in infos))

    def snapshot(self, tables: Iterable[str] = CORE_TABLES) -> dict:
        """The exact set of files a reader sees now, and a hash of it (for export manifests)."""
        files = {t: [(i.base_name, i.size) for i in self.files(t)] for t in tables}
        digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:16]
        return {"snapshot_id": digest, "files": files}

    # ---- querying ----------------------------------------------------------------------
    def connect(self, read_only: bool = True):
        """A DuckDB connection on which every table and view of the catalog is defined."""
        from corpusforge.warehouse.catalog import connect

        return connect(self, read_only=read_only)

    def see_new_files(self, con, tables: tuple[str, ...]) -> None:
        """`con` (from `connect`) sees what was written to `tables` since it was opened."""
        from corpusforge.warehouse.catalog import see_new_files

        see_new_files(self, con, tables)


class TableWriter:
    """Accumulates batches and flushes them as atomically renamed Parquet files."""

    def __init__(self, wh: Warehouse, table: str, run_id: str, max_rows_per_file: int):
        self.wh, self.table, self.run_id, self.max_rows = wh, table, run_id, max_rows_per_file
        self._writer: pq.ParquetWriter | None = None
        self._tmp: str | None = None
        self._name: str | None = None
        self._rows_in_file = 0
        self.rows_written = 0
        self.paths: list[str] = []

    def write(self, data: pa.Table | list[dict]) -> None:
        batch = conform(self.table, data)
        if batch.num_rows == 0:
            return
        if self._writer is None:
            self._name = self.wh._next_name(self.run_id)
            self._tmp = f"{self.wh.table_dir(self.table)}/{TMP_DIR}/{self._name}.tmp"
            sink = self.wh.fs.open_output_stream(self._tmp)
            self._writer = pq.ParquetWriter(sink, schema_of(self.table), compression="zstd")
            self._sink = sink
        self._writer.write_table(batch, row_group_size=row_group_rows(self.table))
        self._rows_in_file += batch.num_rows
        self.rows_written += batch.num_rows
        if self._rows_in_file >= self.max_rows:
            self.flush()

    def flush(self) -> None:
        """Finish the current file and make it visible."""
        if self._writer is None:
            return
        self._writer.close()
        self._sink.close()
        final = f"{self.wh.table_dir(self.table)}/{self._name}"
        raise_if_lost(self.run_id)  # a run whose lock was taken over commits nothing more
        self.wh.fs.move(self._tmp, final)
        self.paths.append(final)
        self._writer, self._rows_in_file = None, 0

    def close(self) -> None:
        self.flush()
