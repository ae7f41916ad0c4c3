"""Incremental state of the clean stage: which fetched pages still need a document row.

A URL needs cleaning when its latest fetched body has no document yet, when the current document
came from another body (the page changed), when it was made by another pipeline version (the
clean settings or code changed), or when the document was tombstoned and the page came back
since. Everything is derived from `pages`, `documents` and `tombstones`: no separate state
table can drift from the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from corpusforge.warehouse.files import read_rows

_PENDING_SQL = """
with versions as (
    select unnest($sources::varchar[]) as source, unnest($versions::varchar[]) as version
),
latest_page as (
    select page_id, url, source, fetched_at, body_sha256
    from pages_history
    where fetch_status = 'fetched'
    qualify row_number() over (partition by url order by fetched_at desc, page_id desc) = 1
),
current_doc as (
    select d.doc_id, d.url, d.fetched_at, d.pipeline_version, p.body_sha256
    from documents_history d left join pages_history p on p.page_id = d.page_id
    qualify row_number() over (partition by d.doc_id order by d.cleaned_at desc) = 1
)
select lp.page_id, lp.source
from latest_page lp
left join versions v on v.source = lp.source
left join current_doc cd on cd.url = lp.url
where cd.url is null
   or cd.body_sha256 is distinct from lp.body_sha256
   or cd.pipeline_version <> coalesce(v.version, $default_version)
   or exists (
        select 1 from tombstones_history t
        where t.doc_id = cd.doc_id and t.created_at >= cd.fetched_at and t.created_at <= lp.fetched_at
   )
order by lp.page_id
"""


@dataclass(frozen=True)
class PendingPages:
    page_ids: list[str]
    by_source: dict[str, int]

    def __len__(self) -> int:
        return len(self.page_ids)


def pending_pages(wh, versions: dict[str, str], default_version: str) -> PendingPages:
    """Page ids to clean, given each source's pipeline version (`default_version` for sources no
    longer in the config)."""
    con = wh.connect()
    try:
        rows = con.execute(
            _PENDING_SQL,
            {
                "sources": list(versions),
                "versions": list(versions.values()),
                "default_version": default_version,
            },
        ).fetchall()
    finally:
        con.close()
    by_source: dict[str, int] = {}
    for _, source in rows:
        by_source[source] = by_source.get(source, 0) + 1
    return PendingPages([page_id for page_id, _ in rows], by_source)


# What the driver keeps of a page (no body): enough to write the row of a page whose worker died.
PAGE_FIELDS = ("page_id", "url", "final_url", "source", "fetched_at", "content_type", "content_length")


@dataclass(frozen=True)
class PageBatch:
    """A reference to pending pages: rows of one `pages` file. Workers read the bodies
    themselves (`read_page_batch`), so the driver never holds or pickles them."""

    file: str  # path inside the warehouse's filesystem
    rows: tuple[int, ...]  # row numbers in that file, ascending
    pages: tuple[dict, ...]  # PAGE_FIELDS of each row, same order

    def __len__(self) -> int:
        return len(self.rows)

    def split(self) -> list[PageBatch]:
        """One batch per page (to give each page its own hard time limit)."""
        return [PageBatch(self.file, (row,), (page,)) for row, page in zip(self.rows, self.pages, strict=True)]


def _present(schema: pa.Schema, columns) -> list[str]:
    return [c for c in columns if c in schema.names]


def page_batches(wh, page_ids: list[str], size: int, max_bytes: int) -> Iterator[PageBatch]:
    """`page_ids` as batches of at most `size` rows and about `max_bytes` of bodies from one file,
    in file order (neighbouring rows, so a worker decompresses little it does not use). Reads
    only the small columns."""
    wanted = set(page_ids)
    for info in wh.files("pages"):
        if not wanted:
            return
        parquet = pq.ParquetFile(info.path, filesystem=wh.fs)
        if parquet.metadata.num_rows == 0:
            continue
        table = parquet.read(columns=_present(parquet.schema_arrow, PAGE_FIELDS))
        rows: list[int] = []
        pages: list[dict] = []
        for row, page in enumerate(table.to_pylist()):
            if page["page_id"] in wanted:
                wanted.discard(page["page_id"])  # a page id written twice is cleaned once
                rows.append(row)
                pages.append(page)
        yield from _cut(info.path, rows, pages, size, max_bytes)


def _cut(file: str, rows: list[int], pages: list[dict], size: int, max_bytes: int) -> Iterator[PageBatch]:
    start, weight = 0, 0
    for i, page in enumerate(pages):
        weight += page.get("content_length") or 0
        if i + 1 - start >= size or weight >= max_bytes or i + 1 == len(pages):
            yield PageBatch(file, tuple(rows[start : i + 1]), tuple(pages[start : i + 1]))
            start, weight = i + 1, 0


def read_page_batch(wh, batch: PageBatch) -> list[dict]:
    """The pages rows of `batch`, bodies included (only the row groups that hold them are read)."""
    return read_rows(wh.fs, batch.file, batch.rows, (*PAGE_FIELDS, "body")).to_pylist()
