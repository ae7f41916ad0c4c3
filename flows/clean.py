"""The clean stage: new fetched pages -> documents (text, markdown, metadata, language, quality
signals, the verdict of every filter, PII redacted).

Incremental: only pages whose body has not been cleaned by the same pipeline version are
processed. The CPU work runs on the process pool of flows/runtime.py (clean.workers, default one
per core) with a hard time limit per page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from corpusforge.flows.configs import clean_configs
from corpusforge.flows.runtime import batched, default_workers, map_with_time_limit, submit_bounded
from corpusforge.flows.stage import Progress, StageSummary, on_dask_task_runner, timed
from corpusforge.processing.clean import CleanConfig, clean_page, failed_document
from corpusforge.schemas.config import CleanSettings, Settings
from corpusforge.warehouse import Warehouse, new_run_id, utc_now
from corpusforge.warehouse.clean_state import PendingPages, iter_page_batches, pending_pages

ROWS_PER_FILE = 5_000  # a killed run keeps every finished file; the next run redoes the rest
PROGRESS_LABEL = "cleaning pages"


def _work(
    wh: Warehouse, pending: PendingPages, configs: dict[str, CleanConfig], default: CleanConfig
) -> Iterator[tuple[dict, CleanConfig, str]]:
    versions = {name: cfg.pipeline_version() for name, cfg in configs.items()}
    default_version = default.pipeline_version()
    for batch in iter_page_batches(wh, pending.page_ids):
        for page in batch:
            config = configs.get(page["source"], default)
            yield page, config, versions.get(page["source"], default_version)


def _row_for(outcome, timeout: float) -> dict:
    if outcome.ok:
        return outcome.value
    page, _, version = outcome.args
    if outcome.timed_out:
        return failed_document(page, version, "extract_timeout", f"extraction took longer than {timeout:g}s")
    return failed_document(page, version, "extract_failed", outcome.error or "unknown error")


@task(name="plan-clean", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def plan_task(wh: Warehouse, configs: dict[str, CleanConfig], default: CleanConfig) -> PendingPages:
    versions = {name: cfg.pipeline_version() for name, cfg in configs.items()}
    return pending_pages(wh, versions, default.pipeline_version())


# Preloaded by the pool's forkserver: workers start with the cleaning code and language model loaded.
WORKER_PRELOAD = ("corpusforge.flows.clean_worker",)


def _outcomes_on_pool(work: Iterator[tuple], cfg: CleanSettings) -> Iterator:
    return map_with_time_limit(clean_page, work, cfg.workers, cfg.extract_timeout, preload=WORKER_PRELOAD)


@task(name="clean-batch", cache_policy=NO_CACHE)
def clean_batch_task(items: list[tuple], timeout: float) -> list:
    """One batch of pages, each still under the hard time limit: the unit a Dask worker gets."""
    return list(map_with_time_limit(clean_page, items, 1, timeout, preload=WORKER_PRELOAD))


def _outcomes_on_task_runner(work: Iterator[tuple], cfg: CleanSettings, batch: int = 32):
    """Batches of pages as tasks on the flow's task runner (Dask), outcomes in input order."""
    for outcomes in submit_bounded(
        lambda items: clean_batch_task.submit(items, cfg.extract_timeout), batched(work, batch)
    ):
        yield from outcomes


def clean_pages(
    wh: Warehouse,
    cfg: CleanSettings,
    pending: PendingPages,
    configs: dict[str, CleanConfig],
    default: CleanConfig,
    run_id: str,
    progress: Progress | None = None,
    outcomes_of: Callable = _outcomes_on_pool,
) -> dict:
    """Clean every pending page and stream the rows into `documents`."""
    counts: Counter = Counter()
    drops: Counter = Counter()
    buffer: list[dict] = []
    outcomes = outcomes_of(_work(wh, pending, configs, default), cfg)
    with wh.writer("documents", run_id, max_rows_per_file=ROWS_PER_FILE) as writer:
        for outcome in outcomes:
            row = _row_for(outcome, cfg.extract_timeout)
            row["cleaned_at"], row["clean_run_id"] = utc_now(), run_id
            counts["kept" if row["kept"] else "dropped"] += 1
            counts["failed" if row["error"] else "extracted"] += 1
            drops.update(row["drop_reasons"])
            buffer.append(row)
            if len(buffer) >= cfg.batch_size:
                writer.write(buffer)
                buffer = []
            if progress is not None:
                progress.update(PROGRESS_LABEL, advance=1)
        writer.write(buffer)
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
) -> dict:
    """Clean every pending page on the local process pool."""
    return clean_pages(wh, cfg, pending, configs, default, run_id, progress)


@flow(name="clean")
def clean(settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Extract, identify, judge and redact every page not yet cleaned by this pipeline version."""
    wh = Warehouse(settings.warehouse)
    wh.init()
    configs, default = clean_configs(settings)
    run_id = new_run_id("clean")
    summary = StageSummary(stage="clean")
    with timed(summary), wh.lock("documents", run_id):
        wh.sweep_temp_files("documents")
        pending = plan_task(wh, configs, default)
        summary.counts["pages to clean"] = len(pending)
        if progress is not None:
            progress.update(PROGRESS_LABEL, total=len(pending))
        if not len(pending):
            result = {}
        elif on_dask_task_runner():  # the flow body submits batches, so they go to the Dask workers
            result = clean_pages(
                wh, settings.clean, pending, configs, default, run_id, progress, _outcomes_on_task_runner
            )
        else:
            result = clean_pages_task(wh, settings.clean, pending, configs, default, run_id, progress)
    counts = result.get("counts", {})
    for key in ("extracted", "failed", "kept", "dropped"):
        summary.counts[key] = counts.get(key, 0)
    summary.drops.update(result.get("drops", {}))
    summary.outputs = list(result.get("files", []))
    summary.notes.append(
        f"workers: {default_workers(settings.clean.workers)}; drop reasons of the current corpus: "
        'corpusforge query "select reason, count(*) from (select unnest(drop_reasons) as reason '
        'from documents) group by 1 order by 2 desc"'
    )
    if not len(pending):
        summary.notes.append("nothing new to clean")
    return summary
