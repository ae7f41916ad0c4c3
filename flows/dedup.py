"""The dedup stage: cluster the kept documents into exact and near duplicates.

Steps (each a plain function, wrapped as a Prefect task by the flow `dedup`):

1. `plan`: compare the current kept documents with the persisted MinHash index and the latest
   clusters rows: what to sign, what to take out of the index, which clusters to recompute.
2. `sign`: MinHash signatures of new/changed documents on every core; written with their
   band hashes to the index (`dedup_signatures`, `dedup_bands`).
3. `cluster`: candidate pairs from band collisions (grouped in DuckDB) of the affected
   documents only, verified by estimated Jaccard, connected components, representatives, and
   `clusters` rows for the documents whose assignment changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from corpusforge.flows.configs import minhash_params
from corpusforge.flows.runtime import default_workers, map_with_time_limit, submit_bounded
from corpusforge.flows.stage import Progress, StageSummary, on_dask_task_runner, timed
from corpusforge.processing.dedup import (
    SERIAL_BELOW,
    MinHashParams,
    band_hashes,
    signature_batch,
    signature_from_bytes,
    signature_to_bytes,
    verified_pairs,
)
from corpusforge.processing.dedup_clusters import (
    Member,
    assignment_changed,
    cluster_assignments,
    documents_to_sign,
    documents_to_unindex,
    removed_row,
    seed_documents,
)
from corpusforge.schemas.config import DedupSettings, Settings
from corpusforge.warehouse import Warehouse, new_run_id, utc_now
from corpusforge.warehouse.dedup_index import DedupIndex, band_rows, signature_rows, unindex_rows

WRITTEN_TABLES = ("dedup_signatures", "dedup_bands", "clusters")
PROGRESS_LABEL = "signing documents"


@dataclass
class DedupPlan:
    active: list[dict]
    index: dict[str, dict]
    latest: dict[str, dict]
    to_sign: list[str]
    to_unindex: list[str]
    counts: dict[str, int] = field(default_factory=dict)


def plan(wh: Warehouse, cfg: DedupSettings) -> DedupPlan:
    params = minhash_params(cfg)
    with DedupIndex(wh, params.key) as stored:
        active, index, latest = stored.active_documents(), stored.current_index(), stored.latest_clusters()
    active_ids = {d["doc_id"] for d in active}
    return DedupPlan(
        active=active,
        index=index,
        latest=latest,
        to_sign=documents_to_sign(active, index, params.key),
        to_unindex=documents_to_unindex(active_ids, index),
    )


def sign(
    wh: Warehouse,
    cfg: DedupSettings,
    the_plan: DedupPlan,
    run_id: str,
    progress: Progress | None = None,
    compute: Callable | None = None,
) -> int:
    """Sign the planned documents and add them (and the removals) to the index.

    `compute` turns (doc_ids, texts) batches into (doc_ids, exact, signatures) batches: by
    default the runtime's process pool; on a Dask task runner, one Prefect task per batch."""
    params = minhash_params(cfg)
    bands, rows = params.bands_rows
    now = utc_now()
    signed = 0
    with DedupIndex(wh, params.key) as stored:
        texts = stored.texts(the_plan.to_sign, cfg.batch_size)
        ranking: dict[str, tuple] = {}

        def batches():
            for batch in texts:
                cols = batch.to_pydict()
                for doc_id, content_hash, quality, fetched in zip(
                    cols["doc_id"], cols["content_hash"], cols["quality_score"], cols["fetched_at"], strict=True
                ):
                    ranking[doc_id] = (content_hash, quality, fetched)
                yield cols["doc_id"], [t or "" for t in cols["text"]]

        with wh.writer("dedup_signatures", run_id) as sig_out, wh.writer("dedup_bands", run_id) as band_out:
            computed = (
                compute(batches(), params)
                if compute is not None
                else signatures_on_pool(batches(), params, cfg.workers, total=len(the_plan.to_sign))
            )
            for doc_ids, exact, matrix in computed:
                signatures = [signature_to_bytes(m) for m in matrix]
                sig_out.write(signature_rows(doc_ids, exact, signatures, ranking, params.key, run_id, now))
                band_out.write(band_rows(doc_ids, exact, band_hashes(matrix, bands, rows), run_id))
                signed += len(doc_ids)
                if progress is not None:
                    progress.update(PROGRESS_LABEL, advance=len(doc_ids))
            if the_plan.to_unindex:
                sig_out.write(unindex_rows(the_plan.to_unindex, the_plan.index, params.key, run_id, now))
    return signed


def cluster(wh: Warehouse, cfg: DedupSettings, the_plan: DedupPlan, run_id: str) -> dict[str, int]:
    """Recompute the clusters of the affected documents and write the changed rows."""
    params = minhash_params(cfg)
    key = params.key
    seeds, gone = seed_documents(the_plan.active, the_plan.latest, the_plan.to_sign)
    active_ids = {d["doc_id"] for d in the_plan.active}
    rows: list[dict] = []
    affected: list[str] = []
    edges: list = []
    if seeds:
        with DedupIndex(wh, key) as stored:
            affected = stored.affected_by(seeds, active_ids)
            members = [Member(**r) for r in stored.members(affected)]
            pair_list = stored.candidate_pairs(affected)
            stored_signatures = stored.signatures(sorted({m.exact_hash for m in members}))
        sig_of = {h: signature_from_bytes(s) for h, s in stored_signatures.items()}
        edges = verified_pairs(pair_list, sig_of, cfg.threshold, cfg.verify)
        rows = cluster_assignments(members, edges, sig_of)
    changed = [r for r in rows if assignment_changed(r, the_plan.latest.get(r["doc_id"]))]
    removed = [removed_row(d, the_plan.latest[d]) for d in gone]
    out = changed + removed
    if out:
        now = utc_now()
        for r in out:
            r["dedup_run_id"] = run_id
            r["created_at"] = now
        wh.write("clusters", out, run_id)
    return {
        "affected": len(affected),
        "candidate pairs": len(edges),
        "clusters rows written": len(out),
        "left clusters": len(removed),
    }


def _fill_summary(wh, summary, the_plan, signed, cluster_counts) -> None:
    with DedupIndex(wh, "") as stored:
        totals, largest = stored.cluster_totals(), stored.largest_clusters()
    summary.counts.update(
        {
            "documents in": len(the_plan.active),
            "signed (new or changed)": signed,
            "left the index": len(the_plan.to_unindex),
            **cluster_counts,
            "clusters": totals["clusters"],
            "clusters with duplicates": totals["multi"],
            "exact duplicates removed": totals["exact"],
            "near duplicates removed": totals["near"],
        }
    )
    summary.drops.update({"exact_duplicate_of": totals["exact"], "near_duplicate_of": totals["near"]})
    summary.drops = +summary.drops  # no zero-count lines
    if largest:
        summary.notes.append("largest clusters: " + ", ".join(f"{cid} ({size} docs)" for cid, size in largest))
    summary.outputs.append(f"{wh.root_url}/clusters")


# ---- Prefect -------------------------------------------------------------------------------


# The plan holds the whole document list: hashing it for Prefect's cache would cost more than
# the step itself, and a rerun must re-plan anyway.
@task(name="dedup-plan", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def plan_task(warehouse: str, cfg: DedupSettings) -> DedupPlan:
    return plan(Warehouse(warehouse), cfg)


@task(name="dedup-sign", cache_policy=NO_CACHE)
def sign_task(warehouse: str, cfg: DedupSettings, the_plan: DedupPlan, run_id: str, progress: Progress | None) -> int:
    return sign(Warehouse(warehouse), cfg, the_plan, run_id, progress)


def signatures_on_pool(batches, params: MinHashParams, workers: int, total: int):
    """Signature batches on the runtime's process pool (two batches per worker in flight), or in
    this process when there are too few documents to repay starting the workers."""
    workers = default_workers(workers)
    if workers == 1 or total < SERIAL_BELOW:
        yield from (signature_batch(doc_ids, texts, params) for doc_ids, texts in batches)
        return
    work = ((doc_ids, texts, params) for doc_ids, texts in batches)
    for outcome in map_with_time_limit(signature_batch, work, workers, timeout=None, window=2 * workers):
        if not outcome.ok:
            raise RuntimeError(f"signing a batch of {len(outcome.args[0])} documents failed: {outcome.error}")
        yield outcome.value


@task(name="dedup-sign-batch", cache_policy=NO_CACHE)
def sign_batch_task(doc_ids: list[str], texts: list[str], params: MinHashParams) -> tuple:
    """One batch of signatures: the unit of work a Dask worker gets."""
    return signature_batch(doc_ids, texts, params)


def signatures_on_task_runner(batches, params: MinHashParams):
    """Each batch as a task on the flow's task runner (Dask), results in input order."""
    return submit_bounded(lambda batch: sign_batch_task.submit(*batch, params), batches)


@task(name="dedup-cluster", cache_policy=NO_CACHE)
def cluster_task(warehouse: str, cfg: DedupSettings, the_plan: DedupPlan, run_id: str) -> dict[str, int]:
    return cluster(Warehouse(warehouse), cfg, the_plan, run_id)


@flow(name="dedup")
def dedup(settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Cluster the kept documents into exact and near duplicates."""
    cfg = settings.dedup
    wh = Warehouse(settings.warehouse)
    run_id = new_run_id("dedup")
    summary = StageSummary("dedup")
    with timed(summary):
        wh.init()
        with wh.locks(WRITTEN_TABLES, run_id):
            the_plan = plan_task(settings.warehouse, cfg)
            if progress is not None:
                progress.update(PROGRESS_LABEL, total=len(the_plan.to_sign))
            if on_dask_task_runner():
                signed = sign(wh, cfg, the_plan, run_id, progress, compute=signatures_on_task_runner)
            else:
                signed = sign_task(settings.warehouse, cfg, the_plan, run_id, progress)
            counts = cluster_task(settings.warehouse, cfg, the_plan, run_id)
        _fill_summary(wh, summary, the_plan, signed, counts)
    return summary
