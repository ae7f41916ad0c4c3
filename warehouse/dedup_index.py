"""The dedup stage's storage: its MinHash index (signatures, shingle sets, band hashes) and the SQL over it.

A first run groups all band hashes in DuckDB over the Parquet files, so its candidate generation
works out of core; an incremental run searches the current band hashes in memory (`BandIndex`)
for the partners of the groups it reclusters. Python only sees the candidate pairs and the
documents they touch.
`DedupIndex` is what the stage uses: it owns one DuckDB connection over the catalog and answers
in Python records; the module-level functions are its SQL, each on an open connection. One
`DedupIndex` serves a whole run (plan, signing, clustering, summary): the current index and the
latest clusters rows are read once (from the snapshot the previous run saved, when it matches the
files, and the files written since: warehouse/dedup_snapshot.py), the run's own files are taken in
(`signed`, `clustered`) rather than everything read again, and the run saves them when due (`save`).
`DedupIndex.near_closure` is the loop between the index and the pure verification step: it
grows the set of exact groups to recluster along verified pairs until no new group is reached.
The rows the stage writes to `dedup_signatures` / `dedup_bands` are shaped in `dedup_rows`;
its questions to the `clusters` table (latest rows, cluster mates, the summary) are in `dedup_clusters`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpusforge.processing.dedup import BandIndex, verified_pairs
from corpusforge.warehouse.dedup_clusters import (
    cluster_mates,
    cluster_overview,
    id_table,
    latest_cluster_rows,
    latest_clusters_rows,
)
from corpusforge.warehouse.dedup_snapshot import ROW, LatestRows
from corpusforge.warehouse.dedup_texts import iter_texts
from corpusforge.warehouse.lazy_duckdb import duckdb

# The current index: the latest signature row of each document, when it is not a removal; its
# small columns and band hashes (the shingle sets are read per group). `DedupIndex` has the
# latest rows, removals included, as the view `_dedup_latest` (warehouse/dedup_snapshot.py's
# `LatestRows`: a saved snapshot and the files since, or `current_index_rows`): every question
# below asks it.
_CURRENT = """
cur as (select * from _dedup_latest where params = $params and not removed)
"""
# The band rows of the current index, one per (exact group, band).
_CURRENT_BANDS = """
cur_bands as (
    select distinct b.exact_hash, b.band, b.band_hash
    from dedup_bands b join cur s on s.doc_id = b.doc_id and s.run_id = b.run_id
)
"""


LATEST_COLUMNS = [
    "doc_id", "run_id", "exact_hash", "content_hash", "quality_score", "fetched_at", "params", "created_at", "removed",
    "bands",
]  # fmt: skip
# The index's snapshot holds the shingle sets as well: an incremental run reads the few hundred it
# verifies from the memory-mapped file instead of scanning the whole shingle column of the history
# (45 ms of a 0.45 s run on 50,000 documents). Computed from the history the state has none (a
# first run reads them all anyway); the run that saves it joins them in.
SNAPSHOT_INDEX_SQL = f"""
select {", ".join("v." + c for c in LATEST_COLUMNS)}, h.shingles
from _dedup_latest v left join dedup_signatures_history h on h.doc_id = v.doc_id and h.run_id = v.run_id
"""


def current_index_rows(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The latest signature row of each document (removals included), small columns and band
    hashes: what `DedupIndex` registers as `_dedup_latest` when no snapshot matches."""
    return con.sql(
        f"select {', '.join(LATEST_COLUMNS)} from dedup_signatures_history "
        "qualify row_number() over (partition by doc_id order by created_at desc) = 1"
    ).to_arrow_table()


def load_kept_documents(con: duckdb.DuckDBPyConnection) -> None:
    """The kept documents' small columns as the connection's temp table `_dedup_kept`: the
    `documents` view (latest row per document, tombstones hidden) is computed once per plan,
    not once per question."""
    con.execute(
        "create or replace temp table _dedup_kept as "
        "select doc_id, content_hash, quality_score, fetched_at from documents where kept"
    )


def documents_to_sign(con: duckdb.DuckDBPyConnection, params: str) -> list[tuple[str, str]]:
    """Kept documents whose signature is missing or stale: new, changed content, changed ranking
    fields (quality_score, fetched_at), removed earlier, or signed with other parameters."""
    rows = con.sql(
        """
        select a.doc_id, a.content_hash
        from _dedup_kept a
        left join _dedup_latest i using (doc_id)
        where i.doc_id is null or i.removed or i.params is distinct from $params
           or i.content_hash is distinct from a.content_hash or i.quality_score is distinct from a.quality_score
           or i.fetched_at is distinct from a.fetched_at
        order by a.doc_id
        """,
        params={"params": params},
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def documents_to_unindex(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Indexed documents that are no longer kept (tombstoned, or dropped by a re-clean)."""
    return (
        con.sql(
            """
        select doc_id, content_hash, exact_hash from _dedup_latest
        where not removed and doc_id not in (select doc_id from _dedup_kept)
        order by doc_id
        """
        )
        .to_arrow_table()
        .to_pylist()
    )


def clusters_to_redo(con: duckdb.DuckDBPyConnection, params: str) -> tuple[list[str], list[dict]]:
    """(stale, gone): indexed kept documents whose latest clusters row is missing, removed, of
    another content, or older than their current signature (a run stopped between signing and
    clustering); and the clustered documents that are no longer kept (with their latest row).
    Asked before signing: the documents about to be signed are stale as well. Reads the latest
    clusters rows from `_dedup_clustered`."""
    stale = con.sql(
        f"""
        with {_CURRENT}
        select s.doc_id from cur s
        join _dedup_kept a using (doc_id)
        left join _dedup_clustered l using (doc_id)
        where l.doc_id is null or coalesce(l.removed, false) or l.content_hash is distinct from a.content_hash
           or l.created_at < s.created_at
        order by s.doc_id
        """,
        params={"params": params},
    ).fetchall()
    gone = con.sql(
        """
        select doc_id, cluster_id, content_hash from _dedup_clustered
        where not coalesce(removed, false) and doc_id not in (select doc_id from _dedup_kept)
        order by doc_id
        """
    ).to_arrow_table()
    return [r[0] for r in stale], gone.to_pylist()


def index_size(con: duckdb.DuckDBPyConnection, params: str) -> int:
    """Number of documents in the current index."""
    return con.sql(f"with {_CURRENT} select count(*) from cur", params={"params": params}).fetchall()[0][0]


def exact_hashes_of(con: duckdb.DuckDBPyConnection, doc_ids: list[str] | None, params: str) -> set[str]:
    """Current exact hashes of the given documents (None: of every indexed document)."""
    if doc_ids is None:
        rows = con.sql(f"with {_CURRENT} select distinct exact_hash from cur", params={"params": params}).fetchall()
        return {r[0] for r in rows}
    con.register("_dedup_docs", id_table(doc_ids))
    try:
        rows = con.sql(
            f"with {_CURRENT} select distinct exact_hash from cur join _dedup_docs using (doc_id)",
            params={"params": params},
        ).fetchall()
    finally:
        con.unregister("_dedup_docs")
    return {r[0] for r in rows}


def band_partners(con: duckdb.DuckDBPyConnection, exact_hashes: set[str], params: str) -> list[tuple[str, str]]:
    """Pairs (a < b) of exact groups sharing a band hash, at least one of them in `exact_hashes`:
    band rows grouped by (band, band_hash) in DuckDB."""
    con.register("_dedup_groups", id_table(exact_hashes, "exact_hash"))
    try:
        rows = con.sql(
            f"""
            with {_CURRENT}, {_CURRENT_BANDS},
            f as (select c.* from cur_bands c join _dedup_groups using (exact_hash))
            select distinct least(f.exact_hash, c.exact_hash), greatest(f.exact_hash, c.exact_hash)
            from f join cur_bands c on c.band = f.band and c.band_hash = f.band_hash and c.exact_hash <> f.exact_hash
            """,
            params={"params": params},
        ).fetchall()
    finally:
        con.unregister("_dedup_groups")
    return rows


def band_index(con: duckdb.DuckDBPyConnection, params: str) -> BandIndex:
    """The band hashes of every current document, from `_dedup_latest` (the documents of an
    exact group have the same ones: `BandIndex` pairs groups, not rows)."""
    table = con.sql(f"with {_CURRENT} select exact_hash, bands from cur", params={"params": params}).to_arrow_table()
    groups = table.column("exact_hash").to_pylist()
    bands = table.column("bands").combine_chunks()
    width = len(bands[0]) if len(bands) else 0
    return BandIndex(groups, bands.values.to_numpy().reshape(len(groups), width))


def shingle_sets(con: duckdb.DuckDBPyConnection, exact_hashes: set[str], params: str) -> dict[str, np.ndarray]:
    """The stored shingle-hash set of each given exact group (its documents share it)."""
    con.register("_dedup_groups", id_table(exact_hashes, "exact_hash"))
    try:
        table = con.sql(
            f"""
            with {_CURRENT},
            one as (
                select min(doc_id) as doc_id, exact_hash from cur join _dedup_groups using (exact_hash)
                group by exact_hash
            ),
            picked as (select s.doc_id, s.run_id, one.exact_hash from one join cur s using (doc_id))
            select p.exact_hash, h.shingles
            from dedup_signatures_history h join picked p on h.doc_id = p.doc_id and h.run_id = p.run_id
            where h.doc_id in (select doc_id from one)
            """,
            params={"params": params},
        ).to_arrow_table()
    finally:
        con.unregister("_dedup_groups")
    out: dict[str, np.ndarray] = {}
    for hashes, lists in zip(table.column("exact_hash").chunks, table.column("shingles").chunks, strict=True):
        values, offsets = lists.values.to_numpy(zero_copy_only=False), lists.offsets.to_numpy()
        for i, h in enumerate(hashes.to_pylist()):
            out[h] = values[offsets[i] : offsets[i + 1]]
    return out


def shingle_places(con: duckdb.DuckDBPyConnection, exact_hashes: set[str], params: str) -> tuple[list[str], np.ndarray]:
    """(groups, their places in `_dedup_latest`, ascending): one document of each given exact
    group, the one `shingle_sets` reads (the smallest doc_id)."""
    con.register("_dedup_groups", id_table(exact_hashes, "exact_hash"))
    try:
        rows = con.sql(
            f"""
            with {_CURRENT}
            select exact_hash, arg_min({ROW}, doc_id) as place from cur join _dedup_groups using (exact_hash)
            group by exact_hash order by place
            """,
            params={"params": params},
        ).fetchall()
    finally:
        con.unregister("_dedup_groups")
    return [r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.int64)


def index_members(con: duckdb.DuckDBPyConnection, exact_hashes: set[str], params: str) -> pa.Table:
    """Current index rows (ranking fields, exact hash) of every document in the given exact groups."""
    con.register("_dedup_groups", id_table(exact_hashes, "exact_hash"))
    try:
        return con.sql(
            f"""
            with {_CURRENT}
            select doc_id, content_hash, exact_hash, quality_score, fetched_at
            from cur join _dedup_groups using (exact_hash) order by doc_id
            """,
            params={"params": params},
        ).to_arrow_table()
    finally:
        con.unregister("_dedup_groups")


class DedupIndex:
    """The MinHash index and the clusters of a warehouse, read through one DuckDB connection that
    this object opens and closes (use it as a context manager). `params` is the MinHash
    parameters' key: signatures under other parameters are not comparable and are ignored."""

    def __init__(self, wh, params: str) -> None:
        self.params = params
        self._wh = wh
        self._con = wh.connect()
        self._index: LatestRows | None = None
        self._clusters: LatestRows | None = None

    def _current(self) -> duckdb.DuckDBPyConnection:
        """The connection, with the current index as the view `_dedup_latest` (read once)."""
        if self._index is None:
            columns = [*LATEST_COLUMNS, "shingles"]  # the shingle sets when the snapshot holds them
            self._index = LatestRows(
                self._wh, self._con, "dedup_signatures", "_dedup_latest", columns, current_index_rows, ("shingles",)
            )
        return self._con

    def _latest_clusters(self) -> duckdb.DuckDBPyConnection:
        """The connection, with the latest clusters rows as the view `_dedup_clustered` (read once)."""
        if self._clusters is None:
            self._clusters = LatestRows(self._wh, self._con, "clusters", "_dedup_clustered", None, latest_clusters_rows)
        return self._con

    def __enter__(self) -> DedupIndex:
        return self

    def __exit__(self, *exc) -> None:
        self._con.close()

    def signed(self) -> None:
        """The run wrote signatures: the loaded index takes in its files, without reading the rest again."""
        self._wh.see_new_files(self._con, ("dedup_signatures", "dedup_bands"))
        if self._index is not None:
            self._index.refresh()

    def clustered(self) -> None:
        """The run wrote clusters rows: the loaded ones take them in (the summary asks them)."""
        self._wh.see_new_files(self._con, ("clusters",))
        if self._clusters is not None:
            self._clusters.refresh()

    def save(self) -> None:
        """Save the state for the next run where it is due (warehouse/dedup_snapshot.py). Call
        under the stage's table locks, after its writes."""
        if self._index is not None:
            self._index.save(None if self._index.has("shingles") else SNAPSHOT_INDEX_SQL)
        if self._clusters is not None:
            self._clusters.save()

    def _shingle_sets(self, exact_hashes: set[str]) -> dict[str, np.ndarray]:
        """The shingle set of each given exact group: from the snapshot and the new files when
        they hold them, else from the history (`shingle_sets`)."""
        con = self._current()
        if self._index.has("shingles"):
            groups, places = shingle_places(con, exact_hashes, self.params)
            return dict(zip(groups, self._index.list_values("shingles", places), strict=True))
        return shingle_sets(con, exact_hashes, self.params)

    def plan(self) -> tuple[int, list[tuple[str, str]], list[dict], list[str], list[dict]]:
        """(kept documents, to sign as (doc_id, content_hash), to take out of the index, stale,
        gone): see `documents_to_sign`, `documents_to_unindex`, `clusters_to_redo`."""
        con = self._current()
        load_kept_documents(con)
        kept = con.sql("select count(*) from _dedup_kept").fetchall()[0][0]
        to_sign = documents_to_sign(con, self.params)
        stale, gone = clusters_to_redo(self._latest_clusters(), self.params)
        return kept, to_sign, documents_to_unindex(con), stale, gone

    def texts(self, to_sign: list[tuple[str, str]], batch_rows: int):
        """`iter_texts` of these (doc_id, content_hash) versions."""
        ids, hashes = [d for d, _ in to_sign], [c for _, c in to_sign]
        wanted = pa.table({"doc_id": pa.array(ids, pa.string()), "content_hash": pa.array(hashes, pa.string())})
        return iter_texts(self._con, wanted, batch_rows)

    def start_groups(self, stale: list[str], gone: list[str]) -> tuple[set[str], bool]:
        """(groups, everything): the exact groups whose clusters must be recomputed, those of
        the stale documents and of every document that shared a cluster with a stale or gone
        one. When most of the index is stale (a first run, a new stage version) that is every
        group, taken at once (everything=True)."""
        con = self._current()
        if 2 * len(stale) > index_size(con, self.params):
            return exact_hashes_of(con, None, self.params), True
        docs = set(stale) | set(cluster_mates(self._latest_clusters(), sorted(set(stale) | set(gone))))
        return exact_hashes_of(con, sorted(docs), self.params), False

    def near_closure(
        self, start: set[str], threshold: float, verify: bool = True, everything: bool = False
    ) -> tuple[set[str], list[tuple[str, str, float]]]:
        """(groups, verified pairs): the exact groups reachable from `start` along verified
        near-duplicate pairs, and every verified pair among them. A cluster is a representative
        and its verified neighbours, so these groups are whole components of the pair graph:
        reclustering them gives what a full run gives them. With `everything` (start is every
        group), the pairs come from grouping all band rows in DuckDB; else from an in-memory
        `BandIndex` of the current signatures' band hashes, searched per frontier."""
        con = self._current()
        reached, frontier = set(start), set(start)
        checked: set[tuple[str, str]] = set()
        shingles: dict[str, np.ndarray] = {}
        edges: list[tuple[str, str, float]] = []
        lookup = None if everything else band_index(con, self.params)
        while frontier:
            found = band_partners(con, frontier, self.params) if lookup is None else lookup.partners(frontier)
            pairs = sorted(set(found) - checked)
            checked.update(pairs)
            missing = {h for pair in pairs for h in pair if h not in shingles}
            if missing and lookup is not None:  # read ahead: the next rounds pair these groups' partners
                missing |= {h for pair in lookup.partners(missing) for h in pair} - shingles.keys()
            if missing:  # one wide read, not one per round (from the history it is a scan of the whole column)
                shingles.update(self._shingle_sets(missing))
            verified = verified_pairs(pairs, shingles, threshold, verify)
            edges.extend(verified)
            frontier = {h for a, b, _ in verified for h in (a, b)} - reached
            reached |= frontier
        return reached, edges

    def members(self, exact_hashes: set[str]) -> list[dict]:
        return index_members(self._current(), exact_hashes, self.params).to_pylist()

    def latest_rows(self, doc_ids: list[str]) -> dict[str, dict]:
        return latest_cluster_rows(self._latest_clusters(), doc_ids)

    def cluster_overview(self, limit: int = 5) -> tuple[dict[str, int], list[tuple[str, int]]]:
        return cluster_overview(self._latest_clusters(), limit)
