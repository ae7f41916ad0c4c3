"""The dedup stage's storage: its MinHash index (signatures + band hashes) and the SQL over it.

All grouping of band hashes happens in DuckDB over the Parquet files, so candidate generation
works out of core; Python only sees the candidate pairs and the documents they touch.
`DedupIndex` is what the stage uses: it owns one DuckDB connection over the catalog and answers
in Python records; the module-level functions are its SQL, each on an open connection.
The row builders at the end shape what the stage writes to `dedup_signatures` / `dedup_bands`.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa

from corpusforge.warehouse.catalog import register_view

# Latest clusters row per document, including removed rows and rows of tombstoned documents
# (the plain `clusters` view hides those; dedup must see them to know what to take out).
LATEST_CLUSTERS_SQL = """
select * from clusters_history
qualify row_number() over (partition by doc_id order by created_at desc) = 1
"""
register_view("clusters_latest", LATEST_CLUSTERS_SQL)

# The current band index: band rows of each document's current, non-removed signature that
# was made with the given parameters.
_CURRENT_BANDS = """
cur_bands as (
    select b.doc_id, b.exact_hash, b.band, b.band_hash
    from dedup_bands b
    join dedup_signatures s on s.doc_id = b.doc_id and s.run_id = b.run_id
    where not s.removed and s.params = $params
)
"""


def active_documents(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The documents dedup covers: the current version of every kept document."""
    return con.sql(
        "select doc_id, content_hash, quality_score, fetched_at from documents where kept order by doc_id"
    ).to_arrow_table()


def current_index(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The latest signature row of every document ever signed (without the signatures)."""
    return con.sql(
        "select doc_id, content_hash, exact_hash, quality_score, fetched_at, params, removed, run_id "
        "from dedup_signatures"
    ).to_arrow_table()


def latest_clusters(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The latest clusters row of every document ever clustered."""
    return con.sql("select * from clusters_latest").to_arrow_table()


def iter_texts(con: duckdb.DuckDBPyConnection, doc_ids: list[str], batch_rows: int = 1000) -> Iterator[pa.RecordBatch]:
    """The current version (id, content hash, ranking fields, text) of the given documents,
    streamed in batches so that texts never all sit in memory."""
    con.register("_dedup_wanted", pa.table({"doc_id": pa.array(doc_ids, pa.string())}))
    reader = con.sql(
        "select d.doc_id, d.content_hash, d.quality_score, d.fetched_at, d.text "
        "from documents d join _dedup_wanted w using (doc_id) order by d.doc_id"
    ).to_arrow_reader(batch_rows)
    yield from reader
    con.unregister("_dedup_wanted")


def partner_exact_hashes(con: duckdb.DuckDBPyConnection, seed_doc_ids: list[str], params: str) -> pa.Table:
    """Exact hashes of every indexed document that shares a band hash with a seed document:
    candidate partners of the seeds (one column, `exact_hash`)."""
    con.register("_dedup_seeds", pa.table({"doc_id": pa.array(seed_doc_ids, pa.string())}))
    try:
        return con.sql(
            f"""
            with {_CURRENT_BANDS},
            seed_bands as (
                select distinct c.band, c.band_hash, c.exact_hash
                from cur_bands c join _dedup_seeds s using (doc_id)
            )
            select distinct c.exact_hash
            from cur_bands c join seed_bands s on c.band = s.band and c.band_hash = s.band_hash
            where c.exact_hash <> s.exact_hash
            """,
            params={"params": params},
        ).to_arrow_table()
    finally:
        con.unregister("_dedup_seeds")


def affected_doc_ids(
    con: duckdb.DuckDBPyConnection, seed_doc_ids: list[str], exact_hashes: list[str], params: str
) -> pa.Table:
    """Documents whose cluster may change: the seeds, every indexed document in one of the
    given exact groups, and every member of the clusters those documents were in."""
    con.register("_dedup_seeds", pa.table({"doc_id": pa.array(seed_doc_ids, pa.string())}))
    con.register("_dedup_exact", pa.table({"exact_hash": pa.array(exact_hashes, pa.string())}))
    try:
        return con.sql(
            """
            with in_groups as (
                select s.doc_id from dedup_signatures s join _dedup_exact e using (exact_hash)
                where not s.removed and s.params = $params
            ),
            touched as (select doc_id from in_groups union select doc_id from _dedup_seeds),
            touched_clusters as (
                select distinct l.cluster_id from clusters_latest l join touched t using (doc_id)
                where not coalesce(l.removed, false)
            )
            select doc_id from touched
            union
            select l.doc_id from clusters_latest l join touched_clusters c using (cluster_id)
            where not coalesce(l.removed, false)
            order by doc_id
            """,
            params={"params": params},
        ).to_arrow_table()
    finally:
        con.unregister("_dedup_seeds")
        con.unregister("_dedup_exact")


def index_members(con: duckdb.DuckDBPyConnection, doc_ids: list[str], params: str) -> pa.Table:
    """Current signature rows (ranking fields, exact hash) of the given documents."""
    con.register("_dedup_members", pa.table({"doc_id": pa.array(doc_ids, pa.string())}))
    try:
        return con.sql(
            "select s.doc_id, s.content_hash, s.exact_hash, s.quality_score, s.fetched_at "
            "from dedup_signatures s join _dedup_members using (doc_id) "
            "where not s.removed and s.params = $params order by s.doc_id",
            params={"params": params},
        ).to_arrow_table()
    finally:
        con.unregister("_dedup_members")


def candidate_pairs_within(con: duckdb.DuckDBPyConnection, doc_ids: list[str], params: str) -> pa.Table:
    """Pairs of exact hashes (a < b) of the given documents that collide in at least one band:
    band rows grouped by (band, band_hash) in DuckDB, one pair per pair of exact groups."""
    con.register("_dedup_scope", pa.table({"doc_id": pa.array(doc_ids, pa.string())}))
    try:
        return con.sql(
            f"""
            with {_CURRENT_BANDS},
            scoped as (
                select distinct c.exact_hash, c.band, c.band_hash
                from cur_bands c join _dedup_scope using (doc_id)
            )
            select distinct x.exact_hash as a, y.exact_hash as b
            from scoped x join scoped y
              on x.band = y.band and x.band_hash = y.band_hash and x.exact_hash < y.exact_hash
            order by a, b
            """,
            params={"params": params},
        ).to_arrow_table()
    finally:
        con.unregister("_dedup_scope")


def signatures_by_exact_hash(con: duckdb.DuckDBPyConnection, exact_hashes: list[str], params: str) -> pa.Table:
    """One stored signature per exact hash (documents of an exact group share it)."""
    con.register("_dedup_exact", pa.table({"exact_hash": pa.array(exact_hashes, pa.string())}))
    try:
        return con.sql(
            "select s.exact_hash, any_value(s.signature) as signature "
            "from dedup_signatures s join _dedup_exact using (exact_hash) "
            "where not s.removed and s.params = $params group by s.exact_hash",
            params={"params": params},
        ).to_arrow_table()
    finally:
        con.unregister("_dedup_exact")


def largest_clusters(con: duckdb.DuckDBPyConnection, limit: int = 5) -> list[tuple[str, int]]:
    """(cluster_id, size) of the largest current clusters."""
    rows = con.sql(
        "select cluster_id, count(*) as n from clusters where not coalesce(removed, false) "
        f"group by cluster_id having n > 1 order by n desc, cluster_id limit {int(limit)}"
    ).fetchall()
    return [(cid, int(n)) for cid, n in rows]


def cluster_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Current number of clusters, of clusters with duplicates, and of exact/near duplicates."""
    row = con.sql(
        """
        select count(distinct cluster_id),
               count(distinct cluster_id) filter (where cluster_size > 1),
               count(*) filter (where reason = 'exact_duplicate_of'),
               count(*) filter (where reason = 'near_duplicate_of')
        from clusters where not coalesce(removed, false)
        """
    ).fetchall()[0]
    return {"clusters": int(row[0]), "multi": int(row[1]), "exact": int(row[2]), "near": int(row[3])}


class DedupIndex:
    """The MinHash index and the clusters of a warehouse, read through one DuckDB connection that
    this object opens and closes (use it as a context manager). `params` is the MinHash
    parameters' key: signatures under other parameters are not comparable and are ignored."""

    def __init__(self, wh, params: str) -> None:
        self.params = params
        self._con = wh.connect()

    def __enter__(self) -> DedupIndex:
        return self

    def __exit__(self, *exc) -> None:
        self._con.close()

    def active_documents(self) -> list[dict]:
        return active_documents(self._con).to_pylist()

    def current_index(self) -> dict[str, dict]:
        return {r["doc_id"]: r for r in current_index(self._con).to_pylist()}

    def latest_clusters(self) -> dict[str, dict]:
        return {r["doc_id"]: r for r in latest_clusters(self._con).to_pylist()}

    def texts(self, doc_ids: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
        return iter_texts(self._con, doc_ids, batch_rows)

    def affected_by(self, seeds: list[str], active_ids: set[str]) -> list[str]:
        """The active documents whose cluster may change: the seeds, the documents sharing an
        exact hash with them, and those sharing a band with any of these."""
        live = [d for d in seeds if d in active_ids]
        seed_exact = [r["exact_hash"] for r in index_members(self._con, live, self.params).to_pylist()]
        partners = partner_exact_hashes(self._con, live, self.params).column("exact_hash").to_pylist()
        candidates = affected_doc_ids(self._con, seeds, sorted(set(seed_exact) | set(partners)), self.params)
        return [d for d in candidates.column("doc_id").to_pylist() if d in active_ids]

    def members(self, doc_ids: list[str]) -> list[dict]:
        return index_members(self._con, doc_ids, self.params).to_pylist()

    def candidate_pairs(self, doc_ids: list[str]) -> list[tuple[str, str]]:
        pairs = candidate_pairs_within(self._con, doc_ids, self.params)
        return list(zip(pairs.column("a").to_pylist(), pairs.column("b").to_pylist(), strict=True))

    def signatures(self, exact_hashes: list[str]) -> dict[str, bytes]:
        """exact hash -> stored signature bytes."""
        table = signatures_by_exact_hash(self._con, exact_hashes, self.params)
        return dict(zip(table.column("exact_hash").to_pylist(), table.column("signature").to_pylist(), strict=True))

    def cluster_totals(self) -> dict[str, int]:
        return cluster_totals(self._con)

    def largest_clusters(self, limit: int = 5) -> list[tuple[str, int]]:
        return largest_clusters(self._con, limit)


# ---- rows the stage writes -------------------------------------------------------------------
def signature_rows(doc_ids, exact, signatures: list[bytes], ranking, params: str, run_id: str, now) -> list[dict]:
    """`dedup_signatures` rows; `ranking[doc_id]` is (content_hash, quality_score, fetched_at)."""
    out = []
    for doc_id, exact_hash, signature in zip(doc_ids, exact, signatures, strict=True):
        content_hash, quality, fetched = ranking[doc_id]
        out.append(
            {
                "doc_id": doc_id,
                "content_hash": content_hash,
                "exact_hash": exact_hash,
                "quality_score": quality,
                "fetched_at": fetched,
                "params": params,
                "signature": signature,
                "removed": False,
                "run_id": run_id,
                "created_at": now,
            }
        )
    return out


def band_rows(doc_ids, exact, hashes, run_id: str) -> pa.Table:
    """`dedup_bands` rows: one per document and band, from the (documents, bands) hash matrix."""
    n_docs, n_bands = hashes.shape
    return pa.table(
        {
            "doc_id": pa.array([d for d in doc_ids for _ in range(n_bands)], pa.string()),
            "exact_hash": pa.array([e for e in exact for _ in range(n_bands)], pa.string()),
            "band": pa.array(list(range(n_bands)) * n_docs, pa.int16()),
            "band_hash": pa.array(hashes.reshape(-1), pa.int64()),
            "run_id": pa.array([run_id] * (n_docs * n_bands), pa.string()),
        }
    )


def unindex_rows(doc_ids, index: dict[str, dict], params: str, run_id: str, now) -> list[dict]:
    """`dedup_signatures` rows that take documents out of the index."""
    return [
        {
            "doc_id": d,
            "content_hash": index[d].get("content_hash"),
            "exact_hash": index[d]["exact_hash"],
            "params": params,
            "removed": True,
            "run_id": run_id,
            "created_at": now,
        }
        for d in doc_ids
    ]
