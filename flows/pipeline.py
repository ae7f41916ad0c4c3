"""The main job: one parent Prefect flow that runs every stage as a subflow.

crawl -> clean -> dedup -> annotate (skipped with one line when no Label Studio is configured)
-> export training and export RAG in parallel. Every run publishes Prefect artifacts (on the
parent run: a markdown summary with the drop reasons and the corpus funnel, a progress bar; on
each stage's own subflow run: its table of counts) and the corpus report.

Annotation and the exports are not what the next stage needs: when one of them fails (Label
Studio configured but down), the others still run, the summary is published and printed, and the
run ends failed (`PipelineFailed`, carrying every stage's summary). A failure of crawl, clean or
dedup stops the run there.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from prefect import Flow, flow, task
from prefect.artifacts import (
    TableArtifact,
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate

from corpusforge.flows.annotate import annotate
from corpusforge.flows.clean import clean
from corpusforge.flows.crawl import crawl
from corpusforge.flows.dedup import dedup
from corpusforge.flows.export_rag import export_rag
from corpusforge.flows.export_training import export_training
from corpusforge.flows.stage import Progress, StageSummary, configured_flow, error_line, run_name
from corpusforge.schemas.config import Settings, load_settings

SEQUENTIAL_STAGES = ("crawl", "clean", "dedup", "annotate")
EXPORT_STAGES = ("export_training", "export_rag")
STAGES = SEQUENTIAL_STAGES + EXPORT_STAGES
# Stages whose failure does not stop the others: nothing after them reads what they write.
TOLERATED_STAGES = ("annotate",) + EXPORT_STAGES


class PipelineFailed(RuntimeError):
    """Some stages failed while the others ran; `results` is what `pipeline` would have returned."""

    def __init__(self, failed: list[StageSummary], results: list[dict]):
        super().__init__("; ".join(f"{s.stage} failed: {s.error}" for s in failed))
        self.results = results


STAGE_FLOWS: dict[str, Flow] = {
    "crawl": crawl,
    "clean": clean,
    "dedup": dedup,
    "annotate": annotate,
    "export_training": export_training,
    "export_rag": export_rag,
}


def run_stage(stage: str, settings: Settings, progress: Progress | None = None) -> StageSummary:
    """Run one stage's flow (a subflow inside the pipeline, named for what it runs), on the task
    runner its settings ask for, and put its table artifact on its own run. A failed annotate or
    export becomes a summary with `error`; any other failure is raised."""
    state = configured_flow(STAGE_FLOWS[stage], stage, settings)(settings, progress, return_state=True)
    if state.is_completed():
        summary = state.result()
    else:
        exc = state.result(raise_on_failure=False)
        if stage not in TOLERATED_STAGES or not isinstance(exc, Exception):
            raise exc if isinstance(exc, BaseException) else RuntimeError(f"{stage}: {state.message}")
        summary = StageSummary(stage, error=error_line(exc))
    _publish_stage_table(summary, state.state_details.flow_run_id)
    return summary


@task(name="export", task_run_name="{stage}", tags=["export"], cache_policy=NO_CACHE)
def run_export_stage(stage: str, settings: Settings, progress: Progress | None) -> StageSummary:
    """Each export runs in a task so the two run side by side, each as its own subflow."""
    return run_stage(stage, settings, progress)


def _markdown_summary(summaries: list[StageSummary], report_path: Path | None, stats: dict) -> str:
    lines = ["# corpusforge pipeline run", "", "| stage | counts | time |", "|---|---|---|"]
    for s in summaries:
        counts = ", ".join(f"{k}: {v:,}" for k, v in s.counts.items()) or " ".join(s.notes) or "-"
        if s.failed:
            counts = f"**failed:** {s.error}" + (f"; {counts}" if s.counts else "")
        lines.append(f"| {s.stage} | {counts} | {s.seconds:.1f}s |")
    drops = Counter()
    for s in summaries:
        drops.update(s.drops)
    if drops:
        lines += ["", "## Drops by reason", "", "| stage | reason | documents |", "|---|---|---|"]
        for s in summaries:
            for reason, n in s.drops.most_common():
                lines.append(f"| {s.stage} | `{reason}` | {n:,} |")
    lines += _markdown_table("Corpus funnel", stats.get("funnel", []))
    lines += _markdown_table("Per source: from fetched to exported", stats.get("source_funnel", []))
    outputs = [o for s in summaries for o in s.outputs]
    if outputs:
        lines += ["", "## Outputs", ""] + [f"- `{o}`" for o in outputs]
    if report_path:
        # The UI cannot open a file:// link; the page is on the machine that ran the flow.
        where = f"The HTML corpus report (charts) is `{report_path}` on the machine that ran this flow"
        lines += ["", "## Charts", "", where + ": open it in a browser there, or rebuild it with `corpusforge report`."]
    return "\n".join(lines)


def _markdown_table(title: str, rows: list[dict], limit: int = 20) -> list[str]:
    if not rows:
        return []
    columns = list(rows[0])
    out = ["", f"## {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows[:limit]:
        out.append("| " + " | ".join(_cell(row[c]) for c in columns) + " |")
    if len(rows) > limit:
        out.append(f"\n({len(rows) - limit} more rows in the HTML report)")
    return out


def _cell(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "-" if value is None else str(value).replace("|", "\\|")


def _publish_stage_table(summary: StageSummary, flow_run_id) -> None:
    """The stage's counts, drops and notes as a table artifact on the stage's own subflow run."""
    rows = [{"what": k, "count": v} for k, v in summary.counts.items()]
    rows += [{"what": f"dropped: {r}", "count": n} for r, n in summary.drops.most_common()]
    rows += [{"what": note, "count": None} for note in summary.notes]
    if summary.failed:
        rows.insert(0, {"what": f"failed: {summary.error}", "count": None})
    table = TableArtifact(
        key=f"stage-{summary.stage.replace('_', '-')}",
        table=rows or [{"what": "nothing to do", "count": 0}],
        description=f"{summary.stage}: counts and drops",
        flow_run_id=flow_run_id,
    )
    # Through the client with the stage run's id: `Artifact.create` outside a flow run (as
    # `corpusforge.run_stage` calls this from Python) is deprecated (a FutureWarning in Prefect 3.9).
    with get_client(sync_client=True) as client:
        client.create_artifact(
            ArtifactCreate(
                type=table.type,
                key=table.key,
                description=table.description,
                flow_run_id=flow_run_id,
                data=table.format(),
            )
        )


def _corpus_stats(wh) -> dict:
    from corpusforge.warehouse.report_stats import collect_report_stats

    con = wh.connect()
    try:
        return collect_report_stats(con)
    finally:
        con.close()


def selected_stages(only: list[str] | None) -> list[str]:
    if not only:
        return list(STAGES)
    unknown = [s for s in only if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage {unknown[0]!r}; stages are: {', '.join(STAGES)}")
    return [s for s in STAGES if s in only]


@flow(name="pipeline", log_prints=True, flow_run_name=run_name("pipeline"))
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
    as a dict (`StageSummary.from_dict` reads it back), then the corpus report's path; raises
    PipelineFailed, with the same list, when annotate, an export or a crawl source failed.
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
    create_markdown_artifact(
        key="pipeline-summary",
        markdown=_markdown_summary(summaries, report_path, _corpus_stats(wh)),
        description="Pipeline summary",
    )
    results = [s.to_dict() for s in summaries] + [{"stage": "report", "outputs": [str(report_path)]}]
    failed = [s for s in summaries if s.failed]
    if failed:
        raise PipelineFailed(failed, results)
    return results
