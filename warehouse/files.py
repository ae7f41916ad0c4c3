"""Small helpers over a pyarrow filesystem ('/'-separated paths, local or object storage): the
export writers read, list, hash and remove files through these, whatever the warehouse's root."""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq


def is_file(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pafs.FileType.File


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes:
    with fs.open_input_stream(path) as fh:
        return fh.read()


def read_json(fs: pafs.FileSystem, path: str) -> dict | None:
    return json.loads(read_bytes(fs, path)) if is_file(fs, path) else None


def children(fs: pafs.FileSystem, folder: str, recursive: bool = False) -> list[pafs.FileInfo]:
    selector = pafs.FileSelector(folder, allow_not_found=True, recursive=recursive)
    return sorted(fs.get_file_info(selector), key=lambda i: i.path)


def files_under(fs: pafs.FileSystem, folder: str) -> list[str]:
    """Relative paths of the files under `folder`."""
    return [
        posixpath.relpath(i.path, folder) for i in children(fs, folder, recursive=True) if i.type == pafs.FileType.File
    ]


def remove_tree(fs: pafs.FileSystem, folder: str) -> None:
    with contextlib.suppress(OSError):
        fs.delete_dir(folder)


def remove_file(fs: pafs.FileSystem, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        fs.delete_file(path)


def sha256(fs: pafs.FileSystem, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open_input_stream(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(fs: pafs.FileSystem, path: str) -> dict:
    return {"sha256": sha256(fs, path), "bytes": fs.get_file_info(path).size}


def read_rows(
    fs: pafs.FileSystem, path: str, rows: Sequence[int], columns: Sequence[str], slice_rows: int = 16
) -> pa.Table:
    """Rows `rows` (row numbers, ascending) of a Parquet file, with those of `columns` it has: only
    the row groups that hold them are read, in slices of `slice_rows`, and reading stops after the
    last one. How a worker reads the bodies or texts it was given by reference."""
    parquet = pq.ParquetFile(path, filesystem=fs)
    present = [c for c in columns if c in parquet.schema_arrow.names]
    first, last = rows[0], rows[-1]
    wanted = set(rows)
    groups, offset, start = [], 0, None
    for g in range(parquet.num_row_groups):
        n = parquet.metadata.row_group(g).num_rows
        if offset + n > first and offset <= last:
            groups.append(g)
            start = offset if start is None else start
        offset += n
    found: list[pa.RecordBatch] = []
    row = start or 0
    for record_batch in parquet.iter_batches(batch_size=slice_rows, row_groups=groups, columns=present):
        picked = [i for i in range(record_batch.num_rows) if row + i in wanted]
        if picked:
            found.append(record_batch.take(picked))
        row += record_batch.num_rows
        if row > last:
            break
    schema = pa.schema([parquet.schema_arrow.field(c) for c in present])
    return pa.Table.from_batches(found, schema=schema)
