"""The clean stage: new fetched pages -> documents (text, markdown, metadata, language, quality
signals, the verdict of every filter, PII redacted).

Incremental: only pages whose body has not been cleaned by the same pipeline version are
processed. The CPU work runs on the process pool of flows/runtime.py (clean.workers, default one
per core) in batches of page references (workers read the bodies themselves) with a time limit
per page; on Dask (`task_runner: dask`) a batch is a task whose worker cleans it in its clean
child (flows/dask_clean.py) and writes the batch's documents itself. SIGTERM / SIGINT stop it
within seconds: the rows cleaned so far are written, the lock is released after that, and the
next run cleans the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from threading import Event

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from corpusforge.flows.clean_plan import clean_notes, pending_for
from corpusforge.flows.clean_worker import CleanJob, batch_limit, clean_page_batch, failed_rows, tally
from corpusforge.flows.configs import clean_configs
from corpusforge.flows.dask_clean import clean_batch_on_worker
from corpusforge.flows.runtime import map_with_time_limit, submit_bounded, submit_to_dask
from corpusforge.flows.stage import Progress, StageSummary, on_dask_task_runner, timed
from corpusforge.processing.clean import CleanConfig
from corpusforge.schemas.config import CleanSettings, Settings
from corpusforge.warehouse import Warehouse, new_run_id
from corpusforge.warehouse.clean_state import PageBatch, PendingPages, page_batches
from corpusforge.warehouse.shutdown import RunGuard, StopToken, guarded_locks

ROWS_PER_FILE = 5_000  # a killed run keeps every finished file; the next run redoes the rest
PROGRESS_LABEL = "cleaning pages"


PAGES_PER_BATCH = 16  # pages a worker gets at once: fewer hand-offs...
BYTES_PER_BATCH = 1 << 20  # ...but large pages go in smaller batches, so both workers finish together


class CleanStopped(Exception):
    """A stop request (SIGTERM / SIGINT) ended the clean stage; what was cleaned is kept."""


def _job(wh: Warehouse, configs: dict[str, CleanConfig], default: CleanConfig, timeout: float) -> CleanJob:
    versions = {name: cfg.pipeline_version() for name, cfg in configs.items()}
    return CleanJob(wh.root_url, configs, default, versions, default.pipeline_version(), timeout)


def clean_batches(batches: Iterable[PageBatch], job: CleanJob, workers: int, stop: Event | None = None):
    """Document rows, a list per finished batch, from the process pool. A batch whose worker was
    killed (hard limit) or died is cleaned again page by page, so only the page at fault fails."""
    retry: list[PageBatch] = []
    work = ((job, batch) for batch in batches)
    for outcome in map_with_time_limit(clean_page_batch, work, workers, batch_limit, preload=WORKER_PRELOAD, stop=stop):
        if outcome.ok:
            yield outcome.value
        elif len(outcome.args[1]) == 1:
            yield failed_rows(outcome)
        else:
            retry += outcome.args[1].split()
    if retry and not (stop is not None and stop.is_set()):
        yield from clean_batches(retry, job, workers, stop)


@task(name="plan-clean", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def plan_task(wh: Warehouse, configs: dict[str, CleanConfig], default: CleanConfig) -> PendingPages:
    return pending_for(wh, configs, default)


# Preloaded by the pool's forkserver: workers start with the cleaning code and language model loaded.
WORKER_PRELOAD = ("__main__", "corpusforge.flows.clean_worker", "corpusforge.flows.clean_worker_preload")


def _rows_on_pool(wh: Warehouse, pending: PendingPages, job: CleanJob, cfg: CleanSettings, stop: Event | None):
    batches = page_batches(wh, pending.page_ids, PAGES_PER_BATCH, BYTES_PER_BATCH)
    return clean_batches(batches, job, cfg.workers, stop)


# On Dask a batch is a task (a scheduler round trip, and the worker's thread busy writing the
# batch's file while its clean child waits): larger batches spread that cost over more pages,
# while a small corpus still gets DASK_BATCHES_AT_LEAST batches to share among workers.
PAGES_PER_DASK_BATCH = 128
BYTES_PER_DASK_BATCH = 16 << 20
DASK_BATCHES_AT_LEAST = 8


def dask_batch_pages(pending: int) -> int:
    """Pages per Dask batch: PAGES_PER_DASK_BATCH, fewer for a small corpus (never under PAGES_PER_BATCH)."""
    return max(PAGES_PER_BATCH, min(PAGES_PER_DASK_BATCH, -(-pending // DASK_BATCHES_AT_LEAST)))


def clean_pages_on_dask(
    wh: Warehouse, pending: PendingPages, job: CleanJob, run_id: str, progress: Progress | None, stop: Event | None
) -> dict:
    """Batches of pages as tasks on the flow's Dask task runner; each worker writes its batch's
    documents itself (no page text comes back to this process). On a stop request no new batch
    starts, the batches running finish and keep their files, and CleanStopped is raised."""
    counts: Counter = Counter()
    drops: Counter = Counter()
    files: list[str] = []
    workers: Counter = Counter()
    batches = page_batches(wh, pending.page_ids, dask_batch_pages(len(pending)), BYTES_PER_DASK_BATCH)
    submit = lambda batch: submit_to_dask("clean-batch", clean_batch_on_worker, job, batch, run_id)  # noqa: E731
    for done in submit_bounded(submit, batches):
        counts.update(done["counts"])
        drops.update(done["drops"])
        files += done["files"]
        workers[done["worker"]] += done["pages"]
        if progress is not None:
            progress.update(PROGRESS_LABEL, advance=done["pages"])
        if stop is not None and stop.is_set():
            break
    _raise_if_stopped(stop, counts, len(pending))
    return {"counts": dict(counts), "drops": dict(drops), "files": files, "cleaned_on": dict(workers)}


def _raise_if_stopped(stop: Event | None, counts: Counter, pending: int) -> None:
    done = counts["extracted"] + counts["failed"]
    if stop is not None and stop.is_set() and done < pending:
        raise CleanStopped(
            f"clean stopped by {stop.reason}: {done} of {pending} pages cleaned and kept; the next run cleans the rest"
        )


def clean_pages(
    wh: Warehouse,
    cfg: CleanSettings,
    pending: PendingPages,
    configs: dict[str, CleanConfig],
    default: CleanConfig,
    run_id: str,
    progress: Progress | None = None,
    stop: StopToken | None = None,
) -> dict:
    """Clean every pending page and stream the rows into `documents`. On a stop request the
    rows cleaned so far are written (the file appears atomically) and CleanStopped is raised;
    the next run cleans the rest."""
    counts: Counter = Counter()
    drops: Counter = Counter()
    buffer: list[dict] = []
    job = _job(wh, configs, default, cfg.extract_timeout)
    with wh.writer("documents", run_id, max_rows_per_file=ROWS_PER_FILE) as writer:
        for rows in _rows_on_pool(wh, pending, job, cfg, stop):
            tally(rows, run_id, counts, drops)
            buffer += rows
            if len(buffer) >= cfg.batch_size:
                writer.write(buffer)
                buffer = []
            if progress is not None:
                progress.update(PROGRESS_LABEL, advance=len(rows))
        writer.write(buffer)
    _raise_if_stopped(stop, counts, len(pending))
    return {"counts": dict(counts), "drops": dict(drops), "files": writer.paths}


@task(name="clean-pages", cache_policy=NO_CACHE)
def clean_pages_task(
    wh: Warehouse,
    cfg: CleanSettings,
    pending: PendingPages,
    configs: dict[str, CleanConfig],
    default: CleanConfig,
    run_id: str,
    progress: Progress | None = None,
    guard: RunGuard | None = None,
) -> dict:
    """Clean every pending page on the local process pool (registered as the guard's work, so a
    stop signal waits for its rows to be written before the lock goes)."""
    if guard is None:
        return clean_pages(wh, cfg, pending, configs, default, run_id, progress)
    with guard.working():
        return clean_pages(wh, cfg, pending, configs, default, run_id, progress, stop=guard.stop)


@flow(name="clean")
def clean(settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Extract, identify, judge and redact every page not yet cleaned by this pipeline version."""
    wh = Warehouse(settings.warehouse)
    wh.init()
    configs, default = clean_configs(settings)
    run_id = new_run_id("clean")
    summary = StageSummary(stage="clean")
    # SIGTERM / SIGINT set guard.stop: no new batch starts, the cleaned rows are written, then the lock goes.
    with timed(summary), guarded_locks(wh, ["documents"], run_id) as guard:
        wh.sweep_temp_files("documents")
        pending = plan_task(wh, configs, default)
        summary.counts["pages to clean"] = len(pending)
        if progress is not None:
            progress.update(PROGRESS_LABEL, total=len(pending))
        if not len(pending):
            result = {}
        elif on_dask_task_runner():  # the flow body submits batches, so they go to the Dask workers
            with guard.working():
                job = _job(wh, configs, default, settings.clean.extract_timeout)
                result = clean_pages_on_dask(wh, pending, job, run_id, progress, guard.stop)
        else:
            result = clean_pages_task(wh, settings.clean, pending, configs, default, run_id, progress, guard)
    counts = result.get("counts", {})
    for key in ("extracted", "failed", "kept", "dropped"):
        summary.counts[key] = counts.get(key, 0)
    summary.drops.update(result.get("drops", {}))
    summary.outputs = list(result.get("files", []))
    if "cleaned_on" in result:  # {Dask worker: pages}
        summary.details.append({"cleaned_on": result["cleaned_on"]})
    summary.notes += clean_notes(settings, nothing_to_do=not len(pending))
    return summary
