"""The main job: one parent Prefect flow that runs every stage as a subflow.

crawl -> clean -> dedup -> annotate (skipped with one line when no Label Studio is configured)
-> export training and export RAG in parallel. Every run publishes Prefect artifacts (a markdown
summary with the drop reasons, a table per stage, a progress bar) and the corpus report.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from prefect import Flow, flow, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from corpusforge.flows.annotate import annotate
from corpusforge.flows.clean import clean
from corpusforge.flows.crawl import crawl
from corpusforge.flows.dedup import dedup
from corpusforge.flows.export_rag import export_rag
from corpusforge.flows.export_training import export_training
from corpusforge.flows.stage import Progress, StageSummary, stage_task_runner
from corpusforge.schemas.config import Settings, load_settings

SEQUENTIAL_STAGES = ("crawl", "clean", "dedup", "annotate")
EXPORT_STAGES = ("export_training", "export_rag")
STAGES = SEQUENTIAL_STAGES + EXPORT_STAGES

STAGE_FLOWS: dict[str, Flow] = {
    "crawl": crawl,
    "clean": clean,
    "dedup": dedup,
    "annotate": annotate,
    "export_training": export_training,
    "export_rag": export_rag,
}


def run_stage(stage: str, settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Run one stage's flow (a subflow inside the pipeline), on the task runner its settings ask for."""
    stage_flow = STAGE_FLOWS[stage]
    runner = stage_task_runner(stage, settings.task_runner, settings.dask_address)
    if runner is not None:
        stage_flow = stage_flow.with_options(task_runner=runner)
    return stage_flow(settings, progress)


@task(name="export", task_run_name="{stage}", tags=["export"], cache_policy=NO_CACHE)
def run_export_stage(stage: str, settings: Settings, progress: Progress | None) -> StageSummary:
    """Each export runs in a task so the two run side by side, each as its own subflow."""
    return run_stage(stage, settings, progress)


def _markdown_summary(summaries: list[StageSummary], report_path: Path | None) -> str:
    lines = ["# corpusforge pipeline run", "", "| stage | counts | time |", "|---|---|---|"]
    for s in summaries:
        counts = ", ".join(f"{k}: {v:,}" for k, v in s.counts.items()) or " ".join(s.notes) or "-"
        lines.append(f"| {s.stage} | {counts} | {s.seconds:.1f}s |")
    drops = Counter()
    for s in summaries:
        drops.update(s.drops)
    if drops:
        lines += ["", "## Drops by reason", "", "| stage | reason | documents |", "|---|---|---|"]
        for s in summaries:
            for reason, n in s.drops.most_common():
                lines.append(f"| {s.stage} | `{reason}` | {n:,} |")
    outputs = [o for s in summaries for o in s.outputs]
    if outputs:
        lines += ["", "## Outputs", ""] + [f"- `{o}`" for o in outputs]
    if report_path:
        lines += ["", f"Corpus report (charts): [{report_path}](file://{report_path})"]
    return "\n".join(lines)


def _publish_artifacts(summaries: list[StageSummary], report_path: Path | None) -> None:
    create_markdown_artifact(
        key="pipeline-summary", markdown=_markdown_summary(summaries, report_path), description="Pipeline summary"
    )
    for s in summaries:
        rows = [{"what": k, "count": v} for k, v in s.counts.items()]
        rows += [{"what": f"dropped: {r}", "count": n} for r, n in s.drops.most_common()]
        rows += [{"what": note, "count": None} for note in s.notes]
        create_table_artifact(
            key=f"stage-{s.stage.replace('_', '-')}",
            table=rows or [{"what": "nothing to do", "count": 0}],
            description=f"{s.stage}: counts and drops",
        )


def selected_stages(only: list[str] | None) -> list[str]:
    if not only:
        return list(STAGES)
    unknown = [s for s in only if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage {unknown[0]!r}; stages are: {', '.join(STAGES)}")
    return [s for s in STAGES if s in only]


@flow(name="pipeline", log_prints=True)
def pipeline(
    config: str | None = None,
    only: list[str] | None = None,
    task_runner: str | None = None,
    dask_address: str | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> list[dict]:
    """crawl -> clean -> dedup -> annotate -> export training + export RAG (in parallel).

    `task_runner="dask"` (or `task_runner: dask` in the config) runs the CPU-heavy stages'
    work on a Dask cluster at `dask_address`, or on a local one. Returns each stage's summary
    as a dict (`StageSummary.from_dict` reads it back), then the corpus report's path.
    `settings` (from Python) replaces the config file."""
    from corpusforge.flows.report import write_corpus_report
    from corpusforge.warehouse import Warehouse

    settings = (settings or load_settings(config)).model_copy()
    if task_runner:
        settings.task_runner = task_runner
    if dask_address:
        settings.task_runner, settings.dask_address = "dask", dask_address
    stages = selected_stages(only)
    summaries: list[StageSummary] = []
    artifact = create_progress_artifact(progress=0.0, key="pipeline-progress", description="Stages completed")
    done = 0
    for stage in [s for s in stages if s in SEQUENTIAL_STAGES]:
        summaries.append(run_stage(stage, settings, progress))
        done += 1
        update_progress_artifact(artifact, progress=100.0 * done / len(stages))
    exports = [s for s in stages if s in EXPORT_STAGES]
    futures = [run_export_stage.submit(stage, settings, progress) for stage in exports]
    for future in futures:
        summaries.append(future.result())
        done += 1
        update_progress_artifact(artifact, progress=100.0 * done / len(stages))
    wh = Warehouse(settings.warehouse)
    report_path = write_corpus_report(wh)
    _publish_artifacts(summaries, report_path)
    return [s.to_dict() for s in summaries] + [{"stage": "report", "outputs": [str(report_path)]}]
