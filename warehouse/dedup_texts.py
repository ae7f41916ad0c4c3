"""The texts of the documents to sign. The default runner streams them with one query
(`iter_texts`). On Dask a worker reads only its batch's rows (warehouse/document_places.py says
why): the driver locates the planned versions and cuts batches in file order; a worker reads
the text column of the row groups that hold its rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from corpusforge.warehouse.document_places import PlaceChanged, locate_versions, read_places
from corpusforge.warehouse.lazy_duckdb import duckdb


class TextsChanged(RuntimeError):
    """Documents planned for signing are not where they were (a clean or a compaction ran meanwhile)."""


@dataclass(frozen=True)
class TextRefs:
    """A batch of document versions by place: (file, row numbers ascending, their doc ids) per file."""

    parts: tuple[tuple[str, tuple[int, ...], tuple[str, ...]], ...]

    @property
    def doc_ids(self) -> list[str]:
        return [doc_id for _, _, ids in self.parts for doc_id in ids]


def iter_texts(con: duckdb.DuckDBPyConnection, wanted: pa.Table, batch_rows: int = 1000) -> Iterator[pa.RecordBatch]:
    """The planned version (doc_id and content_hash in `wanted`) of the given documents: id,
    content hash, ranking fields and text, streamed in batches so that texts never all sit in
    memory. Read from the history by (doc_id, content_hash): the `documents` view would be
    computed for every document to give these few."""
    con.register("_dedup_wanted", wanted)
    reader = con.sql(
        """
        select h.doc_id, h.content_hash, h.quality_score, h.fetched_at, h.text
        from documents_history h join _dedup_wanted w on h.doc_id = w.doc_id and h.content_hash = w.content_hash
        where h.kept
        qualify row_number() over (partition by h.doc_id order by h.cleaned_at desc) = 1
        order by h.doc_id
        """
    ).to_arrow_reader(batch_rows)
    yield from reader
    con.unregister("_dedup_wanted")


def locate_planned(wh, to_sign: list[tuple[str, str]]) -> tuple[list[str], pa.Table]:
    """(files, one row per planned version: file index, row, doc_id, content_hash, quality_score,
    fetched_at), in file order. A version's row is its latest kept row in `documents`, as the
    default runner's text query (`iter_texts`) picks it."""
    wanted = pa.table(
        {"doc_id": pa.array([d for d, _ in to_sign], pa.string()),
         "content_hash": pa.array([c for _, c in to_sign], pa.string())}
    )  # fmt: skip
    return locate_versions(wh, wanted, ("quality_score", "fetched_at"), kept_only=True)


def text_batches(files: list[str], located: pa.Table, size: int) -> Iterator[TextRefs]:
    """The located rows as batches of at most `size` documents, in file order."""
    for start in range(0, located.num_rows, size):
        chunk = located.slice(start, size)
        places = zip(chunk["file"].to_pylist(), chunk["row"].to_pylist(), chunk["doc_id"].to_pylist(), strict=True)
        parts = []
        for file, group in itertools.groupby(places, key=lambda place: place[0]):
            rows = list(group)
            parts.append((files[file], tuple(r for _, r, _ in rows), tuple(d for _, _, d in rows)))
        yield TextRefs(tuple(parts))


def read_texts(wh, refs: TextRefs) -> list[str]:
    """The texts of a batch, in its documents' order (TextsChanged when a row holds another document)."""
    places = [(file, row, doc) for file, rows, docs in refs.parts for row, doc in zip(rows, docs, strict=True)]
    try:
        return [r["text"] or "" for r in read_places(wh, places, ("text",))]
    except PlaceChanged as err:
        raise TextsChanged(f"{err} since dedup planned: run it again") from None
