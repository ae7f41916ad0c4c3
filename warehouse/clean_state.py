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

_BODIES_SQL = """
select page_id, url, final_url, source, fetched_at, content_type, body
from pages_history
where page_id in (select unnest($page_ids::varchar[]))
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


def iter_page_batches(wh, page_ids: list[str], rows_per_batch: int = 64) -> Iterator[list[dict]]:
    """The pages rows (with bodies) of `page_ids`, streamed in small batches: memory holds one
    batch of bodies at a time, however many pages are pending."""
    if not page_ids:
        return
    con = wh.connect()
    try:
        relation = con.sql(_BODIES_SQL, params={"page_ids": page_ids})
        # A relation's reader streams (DuckDB 1.x calls it record_batch, 2.x to_arrow_reader).
        to_reader = getattr(relation, "to_arrow_reader", None) or relation.record_batch
        reader: pa.RecordBatchReader = to_reader(rows_per_batch)
        for batch in reader:
            yield batch.to_pylist()
    finally:
        con.close()
