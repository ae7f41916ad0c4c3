"""The dedup stage: cluster the kept documents into exact and near duplicates.

Steps (each a plain function, wrapped as a Prefect task by the flow `dedup`):

1. `plan` (flows/dedup_plan.py, shared with the CLI's idle check): ask the persisted MinHash
   index (in SQL) which kept documents to sign, which indexed documents to take out, and which
   clusters rows are missing or stale; no Python record per unchanged document.
2. `sign`: MinHash signatures and shingle sets of new/changed documents on every core; written
   with their band hashes to the index (`dedup_signatures`, `dedup_bands`).
3. `cluster`: the documents signed since their last clusters row, the clusters they and the
   documents that left were in, and everything reachable from those along verified pairs (band
   collisions in DuckDB, exact Jaccard of the stored shingle sets); clusters around
   representatives, and `clusters` rows for the documents whose assignment changed.
"""

from __future__ import annotations

import threading
from collections import Counter

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from corpusforge.flows.dask_dedup import sign_batch_on_worker
from corpusforge.flows.dedup_plan import (
    WRITTEN_TABLES,
    DedupPlan,
    cluster_counts,
    fill_summary,
    params_key,
    plan,
    resolved_params,
)
from corpusforge.flows.runtime import (
    default_workers,
    map_with_time_limit,
    submit_bounded,
    submit_to_dask,
)
from corpusforge.flows.stage import Progress, StageSummary, on_dask_task_runner, timed
from corpusforge.processing.dedup import SERIAL_BELOW, MinHashParams, signature_batch
from corpusforge.processing.dedup_clusters import Member, assignment_changed, cluster_assignments, removed_row
from corpusforge.schemas.config import DedupSettings, Settings
from corpusforge.warehouse import Warehouse, new_run_id, utc_now
from corpusforge.warehouse.dedup_index import DedupIndex
from corpusforge.warehouse.dedup_rows import band_rows, signature_table, unindex_rows
from corpusforge.warehouse.dedup_texts import TextsChanged, locate_planned, text_batches

PROGRESS_LABEL = "signing documents"


def sign(
    wh: Warehouse,
    cfg: DedupSettings,
    stored: DedupIndex,
    the_plan: DedupPlan,
    run_id: str,
    progress: Progress | None = None,
    signed_on: Counter | None = None,
) -> int:
    """Sign the planned documents and add them (and the removals) to the index.

    By default the runtime's process pool signs batches of texts read here. Given `signed_on`
    (on Dask), one Dask task per batch of documents by place (file and rows) signs it instead:
    the worker reads the texts itself, and `signed_on` counts the documents each worker signed."""
    params = resolved_params(cfg)  # bands known: no datasketch import here or on the workers
    now = utc_now()
    signed = 0
    ranking: dict[str, tuple] = {}  # doc_id -> (content_hash, quality_score, fetched_at)
    if signed_on is not None:  # the driver reads no texts
        computed = signatures_on_task_runner(wh, the_plan.to_sign, cfg.batch_size, params, ranking, signed_on)
    else:
        texts = ranked_texts(stored.texts(the_plan.to_sign, cfg.batch_size), ranking)
        computed = signatures_on_pool(texts, params, cfg.workers, total=len(the_plan.to_sign))
    with wh.writer("dedup_signatures", run_id) as sig_out, wh.writer("dedup_bands", run_id) as band_out:
        for batch in computed:
            sig_out.write(signature_table(batch, ranking, params.key, run_id, now))
            band_out.write(band_rows(batch.doc_ids, batch.exact, batch.bands, run_id))
            signed += len(batch.doc_ids)
            if progress is not None:
                progress.update(PROGRESS_LABEL, advance=len(batch.doc_ids))
        if the_plan.to_unindex:
            sig_out.write(unindex_rows(the_plan.to_unindex, params.key, run_id, now))
    stored.signed()
    return signed


def cluster(stored: DedupIndex, wh: Warehouse, cfg: DedupSettings, the_plan: DedupPlan, run_id: str) -> dict[str, int]:
    """Recompute the clusters of the affected documents and write the changed rows.

    Rows are written for documents whose assignment changed and for every document signed since
    its last row, so that a run stopped after signing is finished by the next one."""
    rows: list[dict] = []
    edges: list = []
    latest: dict[str, dict] = {}
    stale = sorted(set(the_plan.stale) | {doc_id for doc_id, _ in the_plan.to_sign})
    gone = the_plan.gone
    if stale or gone:
        start, everything = stored.start_groups(stale, [g["doc_id"] for g in gone])
        groups, edges = stored.near_closure(start, cfg.threshold, cfg.verify, everything)
        members = [Member(**r) for r in stored.members(groups)]
        rows = cluster_assignments(members, edges)
        latest = stored.latest_rows([r["doc_id"] for r in rows])
    redo = set(stale)
    changed = [r for r in rows if r["doc_id"] in redo or assignment_changed(r, latest.get(r["doc_id"]))]
    removed = [removed_row(g["doc_id"], g) for g in gone]
    out = changed + removed
    if out:
        now = utc_now()
        for r in out:
            r["dedup_run_id"] = run_id
            r["created_at"] = now
        wh.write("clusters", out, run_id)
        stored.clustered()
    return cluster_counts(len(rows), len(edges), len(out), len(removed))


def preload_signing_libraries() -> None:
    """Import what signing and writing will need: pandas, which pyarrow imports on the first array
    it builds from Python objects (the texts' query, the rows written). It takes 0.2-0.3 s on an
    idle core, about a second on 2 busy ones. Started in a background thread when this module is
    imported, i.e. when a dedup flow run is about to start, it loads while Prefect creates the
    run and waits on its API (the GIL is free then). Started with the flow body, as it was, it
    held up the plan: DuckDB, handed an Arrow table (the saved index), waits for a pandas import
    in progress. Signing itself needs no datasketch once the LSH bands are remembered
    (flows.dedup_plan.resolved_params), and the plan needs neither, so the CLI's idle check (which
    does not import this module) never pays for them."""
    import pyarrow as pa

    pa.array([0])


threading.Thread(target=preload_signing_libraries, name="dedup-preload", daemon=True).start()


# ---- Prefect -------------------------------------------------------------------------------


# The plan can hold the whole document list (a first run): hashing it for Prefect's cache would
# cost more than the step itself, and a rerun must re-plan anyway.
# The steps share the flow's DedupIndex (one connection, the current index read once); each task
# runs in the flow's own process and thread (called, not submitted).
@task(name="dedup-plan", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def plan_task(stored: DedupIndex) -> DedupPlan:
    return plan(stored)


@task(name="dedup-sign", cache_policy=NO_CACHE)
def sign_task(
    wh: Warehouse, cfg: DedupSettings, stored: DedupIndex, the_plan: DedupPlan, run_id: str, progress: Progress | None
) -> int:
    return sign(wh, cfg, stored, the_plan, run_id, progress)


def _rank(ranking: dict[str, tuple], cols: dict) -> None:
    ranking.update(
        zip(
            cols["doc_id"],
            zip(cols["content_hash"], cols["quality_score"], cols["fetched_at"], strict=True),
            strict=True,
        )
    )


def ranked_texts(rows, ranking: dict[str, tuple]):
    """(doc_ids, texts) per batch of the text query's rows, their ranking fields noted in `ranking`."""
    for batch in rows:
        cols = batch.to_pydict()
        _rank(ranking, cols)
        yield cols["doc_id"], [t or "" for t in cols["text"]]


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


def signatures_on_task_runner(
    wh: Warehouse, to_sign: list, size: int, params: MinHashParams, ranking: dict[str, tuple], signed_on: Counter
):
    """The planned documents located (warehouse/dedup_texts.py: read here, small columns only),
    then signed in batches of `size`, each a task on the flow's Dask cluster; results in input
    order. Their ranking fields go into `ranking`; `signed_on` counts each worker's documents."""
    files, located = locate_planned(wh, to_sign)
    if located.num_rows != len(to_sign):
        raise TextsChanged(f"{len(to_sign) - located.num_rows} documents changed while dedup ran: run it again")
    _rank(ranking, located.select(["doc_id", "content_hash", "quality_score", "fetched_at"]).to_pydict())
    submit = lambda refs: submit_to_dask("dedup-sign-batch", sign_batch_on_worker, wh.root_url, refs, params)  # noqa: E731
    for signed, worker in submit_bounded(submit, text_batches(files, located, size)):
        signed_on[worker] += len(signed.doc_ids)
        yield signed


@task(name="dedup-cluster", cache_policy=NO_CACHE)
def cluster_task(stored: DedupIndex, wh: Warehouse, cfg: DedupSettings, the_plan: DedupPlan, run_id: str) -> dict:
    return cluster(stored, wh, cfg, the_plan, run_id)


@flow(name="dedup")
def dedup(settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Cluster the kept documents into exact and near duplicates."""
    cfg = settings.dedup
    wh = Warehouse(settings.warehouse)
    run_id = new_run_id("dedup")
    summary = StageSummary("dedup")
    with timed(summary):
        wh.init()
        with wh.locks(WRITTEN_TABLES, run_id), DedupIndex(wh, params_key(cfg)) as stored:
            for table in WRITTEN_TABLES:  # what a killed run left half-written
                wh.sweep_temp_files(table)
            the_plan = plan_task(stored)
            if progress is not None:
                progress.update(PROGRESS_LABEL, total=len(the_plan.to_sign))
            if on_dask_task_runner():
                signed_on: Counter = Counter()
                signed = sign(wh, cfg, stored, the_plan, run_id, progress, signed_on=signed_on)
                summary.details.append({"signed_on": dict(signed_on)})
            else:
                signed = sign_task(wh, cfg, stored, the_plan, run_id, progress)
            counts = cluster_task(stored, wh, cfg, the_plan, run_id)
            stored.save()  # the next run starts from here, not from the history
            fill_summary(stored, wh, summary, the_plan, signed, counts)
    return summary
