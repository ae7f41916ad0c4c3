"""The numbers behind the corpus report, read from the catalog's views.

Only the current version of each training export counts (the latest one built), so an old
export's rows do not inflate the sizes. Lists that grow with the corpus are capped: the charts
need a distribution, not every row.
"""

from __future__ import annotations

import duckdb

# Values per signal histogram and per kept/dropped histogram: enough for the shape.
SAMPLE_CAP = 20_000
EXAMPLES_PER_REASON = 3
SNIPPET_CHARS = 240

CURRENT_TRAINING = """
    select t.* from training_examples t join (
        select export_name, arg_max(export_version, created_at) as export_version
        from training_examples group by export_name) cur using (export_name, export_version)"""

QUERIES: dict[str, str] = {
    "docs_by_source_language": """
        select source, coalesce(language, '?') as language, count(*) as n
        from documents group by all order by n desc""",
    "kept_vs_dropped": f"""
        select kept, word_count, quality_score from documents
        qualify row_number() over (partition by kept order by hash(doc_id)) <= {SAMPLE_CAP}""",
    "kept_vs_dropped_summary": """
        select kept, count(*) as documents, median(word_count) as median_words,
               median(quality_score) as median_quality, avg(language_score) as mean_language_score
        from documents group by kept order by kept desc""",
    "drop_reasons": """
        select reason, count(*) as n from (select unnest(drop_reasons) as reason from documents)
        group by reason order by n desc, reason""",
    # Three documents per drop reason, with the value of the signal that decided it.
    "drop_examples": f"""
        with dropped as (
            select doc_id, title, url, text, decisions, unnest(drop_reasons) as reason from documents),
        ranked as (
            select *, row_number() over (partition by reason order by hash(doc_id)) as rank from dropped)
        select reason, title, url, left(coalesce(text, ''), {SNIPPET_CHARS}) as snippet,
               [d for d in decisions if d.reason = reason][1] as decision
        from ranked where rank <= {EXAMPLES_PER_REASON} order by reason, rank""",
    "signal_values": f"""
        select d.filter as filter, d.value as value, d.threshold as threshold, d.kept as kept
        from (select doc_id, unnest(decisions) as d from documents)
        where d.value is not null and d.threshold is not null
        qualify row_number() over (partition by d.filter order by hash(doc_id)) <= {SAMPLE_CAP}""",
    "cluster_sizes": """
        select cluster_size, count(*) as clusters from (
            select cluster_id, count(*) as cluster_size from clusters where not coalesce(removed, false)
            group by cluster_id)
        group by cluster_size order by cluster_size""",
    "annotation_progress": """
        select (select count(distinct doc_id) from annotation_tasks) as sent,
               (select count(distinct doc_id) from annotations) as annotated,
               (select count(*) from annotations where not coalesce(was_cancelled, false)) as labels""",
    "training_examples": f"""
        select export_name, export_version, split, count(*) as n, sum(token_count) as tokens
        from ({CURRENT_TRAINING}) group by all order by export_name, split""",
    "rag_chunks": """
        select count(*) as chunks, count(distinct doc_id) as documents, sum(token_count) as tokens
        from chunks""",
    "source_funnel": f"""
        with fetched as (select source, count(*) as n from pages where fetch_status = 'fetched' group by 1),
        docs as (select source, count(*) as extracted, count(*) filter (where kept) as kept
                 from documents group by 1),
        reps as (select d.source, count(*) as n from clusters c join documents d using (doc_id)
                 where c.is_representative and not coalesce(c.removed, false) group by 1),
        trained as (select source, count(distinct doc_id) as n from ({CURRENT_TRAINING}) group by 1),
        chunked as (select d.source, count(distinct c.doc_id) as n from chunks c join documents d using (doc_id)
                    group by 1),
        sources as (select source from fetched union select source from docs)
        select s.source, coalesce(fetched.n, 0) as fetched, coalesce(docs.extracted, 0) as extracted,
               coalesce(docs.kept, 0) as kept, coalesce(reps.n, 0) as representatives,
               coalesce(trained.n, 0) as in_training, coalesce(chunked.n, 0) as chunked
        from sources s left join fetched using (source) left join docs using (source) left join reps using (source)
        left join trained using (source) left join chunked using (source)
        order by s.source""",
}

FUNNEL = [
    ("pages fetched", "select count(*) from pages where fetch_status = 'fetched'"),
    ("documents extracted", "select count(*) from documents"),
    ("kept by filters", "select count(*) from documents where kept"),
    ("cluster representatives",
     "select count(*) from clusters where is_representative and not coalesce(removed, false)"),
    ("documents in the training export", f"select count(distinct doc_id) from ({CURRENT_TRAINING})"),
    ("documents chunked for RAG", "select count(distinct doc_id) from chunks"),
]  # fmt: skip


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def collect_report_stats(con: duckdb.DuckDBPyConnection) -> dict:
    """Every chart's and table's data as plain Python lists of dicts."""
    stats = {name: _rows(con, sql) for name, sql in QUERIES.items()}
    stats["funnel"] = [{"step": step, "n": con.execute(sql).fetchone()[0]} for step, sql in FUNNEL]
    return stats
