"""SQL of the annotate stage: which documents may be sampled, which were already sent, and
writing `annotation_tasks` / `annotations`.

Writers take the table's lock themselves (`with wh.lock(...)`) around a whole run; the
functions here only read, or write one batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa

from corpusforge.warehouse.store import Warehouse

# Current documents with text, minus duplicates that dedup folded into another document
# (a kept document without a clusters row yet is its own representative). Text is not read:
# candidates may be many, and sampling needs only these columns.
_CANDIDATES_SQL = """
select d.doc_id, d.source, d.language, d.quality_score, d.kept, d.decisions
from documents d
left join clusters c on c.doc_id = d.doc_id
where d.text is not null and d.error is null
  and (c.doc_id is null or c.is_representative or coalesce(c.removed, false))
"""

_SENT_SQL = "select distinct doc_id from annotation_tasks_history where project_id = ?"

_DOCUMENTS_SQL = """
select doc_id, content_hash, url, title, text, source, language, kept, decisions, quality_score,
       pii_counts, pipeline_version
from documents where doc_id in (select unnest(?::varchar[]))
order by doc_id
"""

# epoch microseconds: an exact key for "this version of this annotation is already stored".
_ANNOTATION_VERSIONS_SQL = "select annotation_id, epoch_us(updated_at) from annotations_history"

# The human verdict of a document, by the rule the exports apply (warehouse/selection.py): each
# annotator's latest non-cancelled label counts once, the majority wins, a tie goes to the most
# recent vote. The documents view gives the filters' current verdicts.
_LABELLED_DOCUMENTS_SQL = """
with per_annotator as (
    select * from annotations
    where not coalesce(was_cancelled, false)
    qualify row_number() over (
        partition by doc_id, coalesce(annotator, 'annotation:' || annotation_id::varchar)
        order by updated_at desc, annotation_id desc) = 1
),
verdict as (
    select doc_id, quality from (
        select doc_id, quality, count(*) as votes, max(updated_at) as last_vote
        from per_annotator where quality in ('keep', 'drop') group by doc_id, quality)
    qualify row_number() over (partition by doc_id order by votes desc, last_vote desc, quality) = 1
)
select d.doc_id, d.decisions, d.kept, verdict.quality
from verdict join documents d on d.doc_id = verdict.doc_id
order by d.doc_id
"""

_ANNOTATOR_LABELS_SQL = """
select task_id, coalesce(annotator, '?') as annotator, quality, use, personal_data
from annotations
where not coalesce(was_cancelled, false)
order by task_id, updated_at, annotation_id
"""


def _rows(wh: Warehouse, sql: str, params: Sequence | None = None) -> list[dict]:
    con = wh.connect(read_only=True)
    try:
        # Plain rows (lists, structs as dicts, maps as dicts): stable across DuckDB versions.
        cursor = con.execute(sql, params or [])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def sampling_candidates(wh: Warehouse) -> list[dict]:
    """doc_id, source, language, quality_score, kept, decisions of every sampleable document."""
    return _rows(wh, _CANDIDATES_SQL)


def sent_doc_ids(wh: Warehouse, project_id: int) -> set[str]:
    """Documents recorded as sent to this project (in any run, any version)."""
    return {row["doc_id"] for row in _rows(wh, _SENT_SQL, [project_id])}


def documents_by_id(wh: Warehouse, doc_ids: Iterable[str]) -> list[dict]:
    """Current versions of these documents, with what a task shows (text, title, verdicts)."""
    ids = sorted(set(doc_ids))
    return _rows(wh, _DOCUMENTS_SQL, [ids]) if ids else []


def record_tasks(wh: Warehouse, rows: list[dict], run_id: str) -> str | None:
    """Write annotation_tasks rows (caller holds the table's lock)."""
    return wh.write("annotation_tasks", rows, run_id)


def stored_annotation_versions(wh: Warehouse) -> set[tuple[int, int]]:
    """(annotation_id, updated_at in epoch microseconds) of every stored annotation version."""
    con = wh.connect(read_only=True)
    try:
        return {(int(a), int(u)) for a, u in con.execute(_ANNOTATION_VERSIONS_SQL).fetchall()}
    finally:
        con.close()


def record_annotations(wh: Warehouse, rows: list[dict], run_id: str) -> str | None:
    """Write annotations rows (caller holds the table's lock)."""
    return wh.write("annotations", rows, run_id)


def labelled_documents(wh: Warehouse) -> list[dict]:
    """doc_id, decisions, kept and the human quality label of every labelled document."""
    return _rows(wh, _LABELLED_DOCUMENTS_SQL)


def annotator_labels(wh: Warehouse) -> list[dict]:
    """task_id, annotator, quality, use, personal_data of the current annotations."""
    return _rows(wh, _ANNOTATOR_LABELS_SQL)


def epoch_us(ts) -> int:
    """A timestamp as epoch microseconds, the way `stored_annotation_versions` keys it."""
    return int(pa.scalar(ts, type=pa.timestamp("us", tz="UTC")).value)
