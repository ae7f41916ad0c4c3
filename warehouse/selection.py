"""The export selection shared by both exports (fine-tuning and RAG), as one SQL query.

A document reaches an export when it is the current version of a kept document, represents its
duplicate cluster, is not labelled quality=drop by humans, is routed to that export by its `use`
label, and passes the export's source / language / quality filters. Tombstoned documents never
appear: the `documents` and `clusters` views already hide them.

Human labels, when several annotators labelled one document: each annotator's latest
(non-cancelled) annotation counts once; the document's `quality` and `use` are the majority of
those votes, and a tie goes to the most recently updated vote. So one annotator who changes
their mind replaces their own label, and a later second opinion breaks a 1:1 tie.

Every document that is left out gets one stable reason code (the first rule it fails, in the
order of `EXCLUSION_REASONS`), so `selection_report` can count why documents were left out.

With a gate (an export's `exclude`, see `processing.gates`), the clean stage's verdict is read
through it: a document is `filtered` when one of its drop reasons is one the gate keeps out for
its source's profile (`filtered_by` lists them), whatever `kept` says; duplicates stay in when
the gate does not name them. Without a gate, `kept` decides (`not_kept`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack

import pyarrow as pa

from corpusforge.warehouse.document_places import PlaceChanged, place_of_each, read_places

Target = Literal["training", "rag"]

# Order matters: a document is reported under the first rule it fails.
EXCLUSION_REASONS = (
    "not_kept",  # a quality filter of the clean stage dropped it (no gate given)
    "filtered",  # one of its drop reasons is one the export's gate keeps out
    "cluster_removed",  # dedup took it out of its cluster (no longer kept, or tombstoned)
    "duplicate",  # another document represents its duplicate cluster
    "label_drop",  # humans labelled it quality=drop
    "label_use_excludes",  # its `use` label routes it away from this export (or `neither`)
    "source_filtered",  # not one of the export's sources
    "language_filtered",  # not one of the export's languages
    "below_min_quality",  # quality_score under the export's minimum
)

# `use` labels that take a document out of each export.
EXCLUDED_USES: dict[str, tuple[str, ...]] = {
    "training": ("retrieval", "neither"),
    "rag": ("training", "neither"),
}

SELECTED_COLUMNS = (
    "doc_id",
    "content_hash",
    "url",
    "canonical_url",
    "title",
    "description",
    "text",
    "markdown",
    "language",
    "source",
    "quality_score",
    "cluster_id",
    "fetched_at",
    "word_count",
    "char_count",
    "labelled",
    "label_quality",
    "label_use",
)
# The documents' bodies, and the rest: what a selection hands to Dask workers, which read the
# bodies themselves (`with_bodies`) so that no page text passes through the driver.
BODY_COLUMNS = ("text", "markdown")
REFERENCE_COLUMNS = tuple(c for c in SELECTED_COLUMNS if c not in BODY_COLUMNS)


@dataclass(frozen=True)
class GateParams:
    """An export's gate as the query needs it: the reason codes that keep a document out, per
    source (by its profile) and for sources no longer configured; whether duplicates are out."""

    reasons_by_source: dict[str, tuple[str, ...]]
    default_reasons: tuple[str, ...]
    duplicates: bool = True
    known_reasons: tuple[str, ...] = ()

    @classmethod
    def of(cls, gate, source_profiles: dict[str, str], default_profile: str) -> GateParams:
        """From a `processing.gates.Gate` and each source's profile."""
        by_source = {source: gate.reasons(profile) for source, profile in source_profiles.items()}
        return cls(by_source, gate.reasons(default_profile), gate.duplicates, tuple(sorted(gate.known)))


_LABEL_VOTES_SQL = """
per_annotator as (
    select * from annotations
    where not coalesce(was_cancelled, false)
    qualify row_number() over (
        partition by doc_id, coalesce(annotator, 'annotation:' || annotation_id::varchar)
        order by updated_at desc, annotation_id desc) = 1
),
quality_vote as (
    select doc_id, quality from (
        select doc_id, quality, count(*) as votes, max(updated_at) as last_vote
        from per_annotator where quality is not null group by doc_id, quality)
    qualify row_number() over (partition by doc_id order by votes desc, last_vote desc, quality) = 1
),
use_vote as (
    select doc_id, "use" from (
        select doc_id, "use", count(*) as votes, max(updated_at) as last_vote
        from per_annotator where "use" is not null group by doc_id, "use")
    qualify row_number() over (partition by doc_id order by votes desc, last_vote desc, "use") = 1
),
labelled as (select distinct doc_id from per_annotator)
"""

_JUDGED_SQL = f"""
with {_LABEL_VOTES_SQL},
gate_lists as (
    select unnest($gate_sources) as source, unnest($gate_lists) as reasons
),
gated as (
    select d.doc_id,
        list_filter(
            coalesce(d.drop_reasons, []),
            lambda r: list_contains(coalesce(g.reasons, $gate_default), r)
                or (not d.kept and not list_contains($gate_known, r))
        ) as filtered_by
    from documents d left join gate_lists g on g.source = d.source
),
judged as (
    select
        d.doc_id, d.content_hash, d.url, d.canonical_url, d.title, d.description, d.text, d.markdown,
        d.language, d.source, d.quality_score,
        coalesce(c.cluster_id, d.doc_id) as cluster_id,
        d.fetched_at, d.word_count, d.char_count,
        l.doc_id is not null as labelled,
        q.quality as label_quality,
        u."use" as label_use,
        gd.filtered_by,
        case
            when not $gated and not d.kept then 'not_kept'
            when $gated and len(gd.filtered_by) > 0 then 'filtered'
            when $gated and not d.kept and len(coalesce(d.drop_reasons, [])) = 0 then 'not_kept'
            when coalesce(c.removed, false) and (d.kept or not $gated) then 'cluster_removed'
            when c.doc_id is not null and not c.is_representative and $exclude_duplicates then 'duplicate'
            when q.quality = 'drop' then 'label_drop'
            when list_contains($excluded_uses, u."use") then 'label_use_excludes'
            when len($sources) > 0 and not list_contains($sources, d.source) then 'source_filtered'
            when len($languages) > 0 and not list_contains($languages, d.language) then 'language_filtered'
            when $min_quality is not null and coalesce(d.quality_score, 0) < $min_quality then 'below_min_quality'
        end as exclusion
    from documents d
    left join clusters c on c.doc_id = d.doc_id
    left join quality_vote q on q.doc_id = d.doc_id
    left join use_vote u on u.doc_id = d.doc_id
    left join labelled l on l.doc_id = d.doc_id
    left join gated gd on gd.doc_id = d.doc_id
)
"""


class Selection(TypedDict, total=False):
    """What narrows an export's selection (every function below takes these keywords)."""

    sources: list[str] | None  # only these sources
    languages: list[str] | None  # only these languages
    min_quality: float | None  # quality_score floor
    gate: GateParams | None  # the export's gate; None: `kept` decides


def _params(
    target: Target,
    sources: list[str] | None = None,
    languages: list[str] | None = None,
    min_quality: float | None = None,
    gate: GateParams | None = None,
) -> dict:
    if target not in EXCLUDED_USES:
        raise ValueError(f"unknown export target {target!r}; use 'training' or 'rag'")
    by_source = gate.reasons_by_source if gate else {}
    return {
        "excluded_uses": list(EXCLUDED_USES[target]),
        "sources": list(sources or []),
        "languages": list(languages or []),
        "min_quality": float(min_quality) if min_quality is not None else None,
        "gated": gate is not None,
        "gate_sources": list(by_source) or [None],
        "gate_lists": [list(r) for r in by_source.values()] or [[]],
        "gate_default": list(gate.default_reasons) if gate else [],
        "gate_known": list(gate.known_reasons) if gate else [],
        "exclude_duplicates": gate.duplicates if gate else True,
    }


def _query(wh, sql: str, params: dict) -> pa.Table:
    con = wh.connect(read_only=True)
    try:
        result = con.sql(sql, params=params)
        # DuckDB 2 renamed fetch_arrow_table to to_arrow_table; accept both (pyproject allows >=1.1).
        fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
        return fetch()
    finally:
        con.close()


def select_export_documents(
    wh,
    target: Target,
    columns: tuple[str, ...] = SELECTED_COLUMNS,
    **selection: Unpack[Selection],
) -> pa.Table:
    """The documents an export should contain, one row per document, sorted by doc_id.

    Columns: `columns`, by default SELECTED_COLUMNS (`labelled` is true when a human labelled the
    document; `label_quality` / `label_use` are the resolved labels, null when unlabelled).
    """
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f"{_JUDGED_SQL} select {cols} from judged where exclusion is null order by doc_id"
    return _query(wh, sql, _params(target, **selection))


def verdict_of(wh, target: Target, doc_id: str, **selection: Unpack[Selection]) -> dict | None:
    """One current document's verdict: {"exclusion": code or None, "filtered_by": [...]}; None
    when it is not a current document."""
    sql = f"{_JUDGED_SQL} select exclusion, coalesce(filtered_by, []) as filtered_by from judged where doc_id = $doc_id"
    rows = _query(wh, sql, {**_params(target, **selection), "doc_id": doc_id}).to_pylist()
    return rows[0] if rows else None


def excluded_documents(
    wh,
    target: Target,
    **selection: Unpack[Selection],
) -> pa.Table:
    """Every current document an export leaves out, and why: doc_id, url, exclusion (one code of
    EXCLUSION_REASONS) and filtered_by (the drop reasons the gate keeps out), sorted by doc_id."""
    sql = (
        f"{_JUDGED_SQL} select doc_id, url, exclusion, coalesce(filtered_by, []) as filtered_by"
        " from judged where exclusion is not null order by doc_id"
    )
    return _query(wh, sql, _params(target, **selection))


_VERDICT_CHANGES_SQL = """
, verdicts as (
    select doc_id, url, exclusion is null as included, exclusion, coalesce(filtered_by, []) as filtered_by
    from judged
),
previous as (
    select doc_id, included, exclusion, filtered_by from export_verdicts
    where export_kind = $export_kind and export_name = $export_name
)
select v.* from verdicts v left join previous p on p.doc_id = v.doc_id
where p.doc_id is null or p.included <> v.included or p.exclusion is distinct from v.exclusion
   or p.filtered_by is distinct from v.filtered_by
order by v.doc_id
"""


def changed_verdicts(
    wh,
    target: Target,
    name: str,
    **selection: Unpack[Selection],
) -> pa.Table:
    """The export's verdict on every current document whose verdict differs from the one
    `export_verdicts` holds: doc_id, url, included, exclusion, filtered_by."""
    params = {**_params(target, **selection), "export_kind": target, "export_name": name}
    return _query(wh, _JUDGED_SQL + _VERDICT_CHANGES_SQL, params)


def record_verdicts(wh, target: Target, name: str, run_id: str, now, **selection) -> int:
    """Write the changed verdicts of one export (see `changed_verdicts`); returns how many."""
    changed = changed_verdicts(wh, target, name, **selection)
    if changed.num_rows:
        n = changed.num_rows
        changed = changed.append_column("export_kind", pa.array([target] * n, pa.string()))
        changed = changed.append_column("export_name", pa.array([name] * n, pa.string()))
        changed = changed.append_column("run_id", pa.array([run_id] * n, pa.string()))
        changed = changed.append_column("decided_at", pa.array([now] * n, pa.timestamp("us", tz="UTC")))
        wh.write("export_verdicts", changed, run_id)
    return changed.num_rows


def selection_report(
    wh,
    target: Target,
    **selection: Unpack[Selection],
) -> dict[str, int]:
    """How many current documents each exclusion rule left out (only non-zero reasons)."""
    sql = f"{_JUDGED_SQL} select exclusion, count(*) as n from judged where exclusion is not null group by 1"
    table = _query(wh, sql, _params(target, **selection))
    counts = dict(zip(table.column("exclusion").to_pylist(), table.column("n").to_pylist(), strict=True))
    return {reason: counts[reason] for reason in EXCLUSION_REASONS if reason in counts}


def human_qa_pairs(wh) -> pa.Table:
    """Human-written question/answer pairs: doc_id, annotation_id, question, answer.

    From the latest version of each annotation (the `annotations` view), not cancelled, with a
    non-blank question and answer (trimmed). The same pair given twice for a document counts once
    (the lowest annotation_id keeps it). Sorted by doc_id, annotation_id.
    """
    sql = """
        select doc_id, min(annotation_id) as annotation_id, question, answer from (
            select doc_id, annotation_id, trim(question) as question, trim(answer) as answer
            from annotations
            where not coalesce(was_cancelled, false)
              and coalesce(trim(question), '') <> '' and coalesce(trim(answer), '') <> '')
        group by doc_id, question, answer
        order by doc_id, annotation_id
    """
    return _query(wh, sql, {})


class SelectionChanged(RuntimeError):
    """A selected document's row is gone from the `documents` files (a compaction ran meanwhile)."""


# Where a selected version's row is (warehouse/document_places.py): set by `with_places` in the
# driver, read by `with_bodies` on a worker, not part of the rows an export builds from.
PLACE_COLUMNS = ("body_file", "body_row")


def with_places(wh, refs: pa.Table) -> pa.Table:
    """The selected rows `refs` (REFERENCE_COLUMNS) with the place of their version's row in the
    `documents` files (PLACE_COLUMNS), in the given order: what `with_bodies` reads."""
    try:
        spots = place_of_each(wh, refs.select(["doc_id", "content_hash"]))
    except PlaceChanged as err:
        raise SelectionChanged(str(err)) from None
    refs = refs.append_column("body_file", pa.array([f for f, _ in spots], pa.string()))
    return refs.append_column("body_row", pa.array([r for _, r in spots], pa.int64()))


def with_bodies(wh, refs: list[dict]) -> list[dict]:
    """The selected rows `refs` (REFERENCE_COLUMNS and PLACE_COLUMNS, from `with_places`) with
    their text and markdown read from their rows, in the given order: the same rows the full
    selection gives."""
    places = [(r["body_file"], r["body_row"], r["doc_id"]) for r in refs]
    try:
        bodies = read_places(wh, places, BODY_COLUMNS)
    except PlaceChanged as err:
        raise SelectionChanged(f"{err} since the export selected its documents: run it again") from None
    unplaced = ({k: v for k, v in ref.items() if k not in PLACE_COLUMNS} for ref in refs)
    return [{**ref, **body} for ref, body in zip(unplaced, bodies, strict=True)]
