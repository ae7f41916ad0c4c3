"""The numbers behind the corpus report, read from the catalog's views."""

from __future__ import annotations

import duckdb

QUERIES: dict[str, str] = {
    "docs_by_source_language": """
        select source, coalesce(language, '?') as language, count(*) as n
        from documents group by all order by n desc""",
    "word_counts": "select word_count from documents where word_count is not null",
    "quality_scores": "select quality_score from documents where quality_score is not null",
    "drop_reasons": """
        select reason, count(*) as n from (select unnest(drop_reasons) as reason from documents)
        group by reason order by n desc""",
    "cluster_sizes": """
        select cluster_size, count(*) as clusters from (
            select cluster_id, count(*) as cluster_size from clusters where not coalesce(removed, false)
            group by cluster_id)
        group by cluster_size order by cluster_size""",
    "annotation_progress": """
        select (select count(distinct doc_id) from annotation_tasks) as sent,
               (select count(distinct doc_id) from annotations) as annotated""",
    "training_examples": """
        select export_name, export_version, split, count(*) as n from training_examples
        group by all order by export_name, export_version, split""",
}

FUNNEL = [
    ("pages fetched", "select count(*) from pages where fetch_status = 'fetched'"),
    ("documents extracted", "select count(*) from documents"),
    ("kept by filters", "select count(*) from documents where kept"),
    ("cluster representatives",
     "select count(*) from clusters where is_representative and not coalesce(removed, false)"),
    ("documents chunked for RAG", "select count(distinct doc_id) from chunks"),
]


def collect_report_stats(con: duckdb.DuckDBPyConnection) -> dict:
    """Every chart's data as plain Python lists of dicts."""
    stats: dict = {}
    for name, sql in QUERIES.items():
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        stats[name] = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    stats["funnel"] = [{"step": step, "n": con.execute(sql).fetchone()[0]} for step, sql in FUNNEL]
    return stats
