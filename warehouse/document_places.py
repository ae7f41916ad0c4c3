"""Where document versions are in the `documents` files, so that a Dask worker reads only their rows.

A worker that looks its documents up by id through the catalog reads every `documents` file's
text column for each task (the ids of a task are spread over all files): a read of the whole
corpus per task, so the work grows with the square of the corpus. Dedup signing did that (0.91x
of the default runner at 5,000 pages, 0.66x at 20,000), and so did the training export's build
(each 256-document task computed the `documents` view, bodies included, over every file).
Instead the driver reads the small columns of each file once (`locate_versions`) and hands out
places (file, row); a worker reads the row groups that hold its rows (`read_places`) and nothing else.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpusforge.warehouse.files import read_rows
from corpusforge.warehouse.lazy_duckdb import duckdb

# What locating reads of every documents file: the version's key and what picks its latest row.
_KEY_COLUMNS = ("doc_id", "content_hash", "kept", "cleaned_at")


class PlaceChanged(RuntimeError):
    """A located row is gone or holds another document (a clean or a compaction ran meanwhile)."""


def locate_versions(
    wh, versions: pa.Table, columns: tuple[str, ...] = (), kept_only: bool = False
) -> tuple[list[str], pa.Table]:
    """(files, one row per found version: file index, row, doc_id, content_hash and `columns`),
    in file order. `versions` holds doc_id and content_hash; a version's row is its latest row
    by cleaned_at (its latest kept row with `kept_only`), the row the `documents` view gives
    for a document whose latest version it is. Versions found nowhere are left out."""
    files: list[str] = []
    tables: list[pa.Table] = []
    for info in wh.files("documents"):
        parquet = pq.ParquetFile(info.path, filesystem=wh.fs)
        names = parquet.schema_arrow.names
        table = parquet.read(columns=[c for c in (*_KEY_COLUMNS, *columns) if c in names])
        if table.num_rows == 0:
            continue
        table = table.append_column("file", pa.array(np.full(table.num_rows, len(files), np.int32)))
        table = table.append_column("row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
        files.append(info.path)
        tables.append(table.filter(table["kept"]) if kept_only else table)
    if not tables:
        return files, pa.table({"file": pa.array([], pa.int32()), "row": pa.array([], pa.int64())})
    picked = ", ".join(f"h.{c}" for c in ("file", "row", "doc_id", "content_hash", *columns))
    # One join over every file's rows: a join per file hashed the wanted versions once per file
    # (205 files, 19,000 versions: 3.7 s and +470 MiB; one join: 0.6 s and +70 MiB).
    with duckdb.connect() as con:
        con.register("history", pa.concat_tables(tables, promote_options="default"))
        con.register("wanted", versions.select(["doc_id", "content_hash"]))
        located = con.sql(
            f"select {picked} from history h join wanted w "
            "on h.doc_id = w.doc_id and coalesce(h.content_hash, '') = coalesce(w.content_hash, '') "
            "qualify row_number() over (partition by h.doc_id order by h.cleaned_at desc) = 1 order by h.file, h.row"
        ).to_arrow_table()
    pa.default_memory_pool().release_unused()  # the files' columns: the driver's peak, not its size
    return files, located


def place_of_each(wh, versions: pa.Table) -> list[tuple[str, int]]:
    """(file, row) of each version in `versions` (doc_id, content_hash), in its order: its
    latest row (`locate_versions`). PlaceChanged names how many are found nowhere."""
    if versions.num_rows == 0:  # nothing pending: no file to read
        return []
    files, located = locate_versions(wh, versions)
    spots = zip(located["file"].to_pylist(), located["row"].to_pylist(), strict=True)
    place = dict(zip(located["doc_id"].to_pylist(), spots, strict=True))
    doc_ids = versions["doc_id"].to_pylist()
    gone = sum(d not in place for d in doc_ids)
    if gone:
        raise PlaceChanged(f"{gone} selected documents are gone from the documents files: run it again")
    return [(files[place[d][0]], place[d][1]) for d in doc_ids]


def read_places(wh, places: list[tuple[str, int, str]], columns: tuple[str, ...]) -> list[dict]:
    """`columns` of the rows at `places` ((file, row, doc_id) each, in any order), as one dict
    per place in the given order (a column a file lacks is None). Each file is read once, only
    in the row groups that hold its rows; PlaceChanged when a file is gone or a row holds
    another document."""
    wanted = tuple(c for c in columns if c != "doc_id")
    by_place = sorted(range(len(places)), key=lambda i: places[i][:2])
    found: dict[int, dict] = {}
    for file, group in itertools.groupby(by_place, key=lambda i: places[i][0]):
        picked = list(group)
        try:
            table = read_rows(wh.fs, file, [places[i][1] for i in picked], ("doc_id", *wanted))
        except FileNotFoundError:
            raise PlaceChanged(f"{file} is gone") from None
        if table["doc_id"].to_pylist() != [places[i][2] for i in picked]:
            raise PlaceChanged(f"the documents in {file} changed")
        found.update(zip(picked, table.to_pylist(), strict=True))
    return [{c: found[i].get(c) for c in columns} for i in range(len(places))]
