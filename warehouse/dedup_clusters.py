"""The `clusters` table as the dedup stage reads it: each document's latest row (removed rows
and rows of tombstoned documents included, the `clusters_latest` view), read once per run (or
from the snapshot a run saved and the files since, warehouse/dedup_snapshot.py) as the view
`_dedup_clustered`, which the plan, the cluster step and the summary ask; the run's own file is
taken in rather than everything read again. Also the summary's figures over the current clusters.
`DedupIndex` (warehouse/dedup_index.py) calls these on its connection."""

from __future__ import annotations

import pyarrow as pa

from corpusforge.schemas import TABLES
from corpusforge.warehouse.catalog import register_view, without_tombstoned
from corpusforge.warehouse.lazy_duckdb import duckdb

# Latest clusters row per document, including removed rows and rows of tombstoned documents
# (the plain `clusters` view hides those; dedup must see them to know what to take out).
LATEST_CLUSTERS_SQL = """
select * from clusters_history
qualify row_number() over (partition by doc_id order by created_at desc) = 1
"""
register_view("clusters_latest", LATEST_CLUSTERS_SQL)


def id_table(values, name: str = "doc_id") -> pa.Table:
    """One sorted string column, to join a query against (registered on the connection)."""
    return pa.table({name: pa.array(sorted(values), pa.string())})


def latest_clusters_rows(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The latest clusters row of each document: `DedupIndex`'s `_dedup_clustered` when no
    snapshot can be used. The plan's questions, the cluster step's and the summary's read it."""
    return con.sql("select * from clusters_latest").to_arrow_table()


def cluster_mates(con: duckdb.DuckDBPyConnection, doc_ids: list[str]) -> list[str]:
    """Every document whose latest clusters row (`_dedup_clustered`) shares a cluster with one
    of the given documents."""
    con.register("_dedup_docs", id_table(doc_ids))
    try:
        rows = con.sql(
            """
            with lc as (select doc_id, cluster_id from _dedup_clustered where not coalesce(removed, false))
            select distinct lc.doc_id from lc
            where lc.cluster_id in (select l.cluster_id from _dedup_clustered l join _dedup_docs using (doc_id))
            """
        ).fetchall()
    finally:
        con.unregister("_dedup_docs")
    return [r[0] for r in rows]


def latest_cluster_rows(con: duckdb.DuckDBPyConnection, doc_ids: list[str]) -> dict[str, dict]:
    """The latest clusters row (`_dedup_clustered`) of each given document that has one."""
    con.register("_dedup_docs", id_table(doc_ids))
    try:
        rows = con.sql("select l.* from _dedup_clustered l join _dedup_docs using (doc_id)").to_arrow_table()
    finally:
        con.unregister("_dedup_docs")
    return {r["doc_id"]: r for r in rows.to_pylist()}


def cluster_overview(con: duckdb.DuckDBPyConnection, limit: int = 5) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """(current number of clusters, of clusters with duplicates, and of exact/near duplicates;
    (cluster_id, size) of the largest clusters), over `_dedup_clustered` as the `clusters` view
    shows it: removed rows and rows of documents tombstoned since left out."""
    shown = without_tombstoned(TABLES["clusters"], "select * from _dedup_clustered")
    con.execute(
        "create or replace temp table _dedup_now as "
        f"select cluster_id, cluster_size, reason from ({shown}) where not coalesce(removed, false)"
    )
    try:
        row = con.sql(
            """
            select count(distinct cluster_id),
                   count(distinct cluster_id) filter (where cluster_size > 1),
                   count(*) filter (where reason = 'exact_duplicate_of'),
                   count(*) filter (where reason = 'near_duplicate_of')
            from _dedup_now
            """
        ).fetchall()[0]
        largest = con.sql(
            "select cluster_id, count(*) as n from _dedup_now "
            f"group by cluster_id having n > 1 order by n desc, cluster_id limit {int(limit)}"
        ).fetchall()
    finally:
        con.execute("drop table _dedup_now")
    totals = {"clusters": int(row[0]), "multi": int(row[1]), "exact": int(row[2]), "near": int(row[3])}
    return totals, [(cid, int(n)) for cid, n in largest]
