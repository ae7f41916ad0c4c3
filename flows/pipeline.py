"""The main job: one parent Prefect flow that runs every stage as a subflow.

crawl -> clean -> dedup -> annotate (skipped with one line when no Label Studio is configured)
-> export training and export RAG in parallel. Every run publishes Prefect artifacts (a markdown
summary with the drop reasons, a table per stage, a progress bar) and the corpus report.
"""

from __future__ import annotations

import importlib
import os
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from rich.console import Console
from rich.table import Table

from corpusforge.flows.common import StageSummary
from corpusforge.schemas.config import Settings, load_settings

SEQUENTIAL_STAGES = ("crawl", "clean", "dedup", "annotate")
EXPORT_STAGES = ("export_training", "export_rag")
STAGES = SEQUENTIAL_STAGES + EXPORT_STAGES

# stage -> (module, function taking the Settings and returning a StageSummary or its dict)
STAGE_ENTRYPOINTS: dict[str, tuple[str, str]] = {
    "crawl": ("corpusforge.flows.crawl", "crawl_flow"),
    "clean": ("corpusforge.flows.clean", "clean_for_pipeline"),
    "dedup": ("corpusforge.flows.dedup", "dedup_for_pipeline"),
    "annotate": ("corpusforge.flows.pipeline", "annotate_for_pipeline"),
    "export_training": ("corpusforge.flows.export_training", "export_training_for_pipeline"),
    "export_rag": ("corpusforge.flows.export_rag", "export_rag_for_pipeline"),
}


def annotate_for_pipeline(settings: Settings) -> StageSummary:
    """Push new samples, then pull the labels back: two subflows, one summary."""
    from corpusforge.flows.annotate import annotate_pull, annotate_push

    merged = StageSummary("annotate")
    for result in (annotate_push(settings.warehouse, settings.annotate),
                   annotate_pull(settings.warehouse, settings.annotate)):
        part = _as_summary("annotate", result)
        merged.counts.update({f"{part.stage}: {k}" if part.stage != "annotate" else k: v
                              for k, v in part.counts.items()})
        merged.drops.update(part.drops)
        merged.outputs += part.outputs
        merged.notes += part.notes
        merged.seconds += part.seconds
    return merged


ANNOTATE_SKIPPED = (
    "annotate: skipped, no Label Studio configured (set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY to enable)"
)


def _as_summary(stage: str, result) -> StageSummary:
    if isinstance(result, StageSummary):
        return result
    if isinstance(result, dict):
        return StageSummary(
            stage=result.get("stage", stage),
            counts=dict(result.get("counts", {})),
            drops=Counter(result.get("drops", {})),
            seconds=float(result.get("seconds", 0.0)),
            outputs=list(result.get("outputs", [])),
            notes=list(result.get("notes", [])),
        )
    raise TypeError(f"stage {stage} returned {type(result).__name__}, expected a StageSummary")


def _on_dask(stage: str, settings: Settings):
    """The CPU-heavy stages' flows with a Dask task runner, called like their pipeline entry."""
    from corpusforge.flows.common import dask_task_runner

    runner = dask_task_runner(settings.dask_address)
    if stage == "clean":
        from corpusforge.flows.clean import clean_flow

        return clean_flow.with_options(task_runner=runner)(settings)
    from corpusforge.flows.dedup import dedup_flow

    return dedup_flow.with_options(task_runner=runner)(settings.warehouse, settings.dedup)


DASK_STAGES = ("clean", "dedup")


def run_stage(stage: str, settings: Settings) -> StageSummary:
    """Run one stage's flow (as a subflow when called inside the pipeline)."""
    if settings.task_runner == "dask" and stage in DASK_STAGES:
        start = time.perf_counter()
        summary = _as_summary(stage, _on_dask(stage, settings))
        summary.seconds = summary.seconds or (time.perf_counter() - start)
        return summary
    if stage == "annotate":
        from corpusforge.flows.annotate import label_studio_configured

        if not label_studio_configured():
            get_run_logger().info(ANNOTATE_SKIPPED)
            return StageSummary(stage="annotate", notes=[ANNOTATE_SKIPPED])
    module_name, func_name = STAGE_ENTRYPOINTS[stage]
    func = getattr(importlib.import_module(module_name), func_name)
    start = time.perf_counter()
    summary = _as_summary(stage, func(settings))
    summary.seconds = summary.seconds or (time.perf_counter() - start)
    return summary


@task(name="export", task_run_name="{stage}", tags=["export"])
def run_export_stage(stage: str, settings: Settings) -> StageSummary:
    """Each export runs in a task so the two run side by side, each as its own subflow."""
    return run_stage(stage, settings)


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
            key=f"stage-{s.stage.replace('_', '-')}", table=rows or [{"what": "nothing to do", "count": 0}],
            description=f"{s.stage}: counts and drops",
        )


def _selected(only: list[str] | None) -> list[str]:
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
) -> list[dict]:
    """crawl -> clean -> dedup -> annotate -> export training + export RAG (in parallel).

    `task_runner="dask"` (or `task_runner: dask` in the config) runs the CPU-heavy stages'
    work on a Dask cluster at `dask_address`, or on a local one."""
    from corpusforge.flows.report import write_corpus_report
    from corpusforge.warehouse import Warehouse

    settings = load_settings(config)
    if task_runner:
        settings.task_runner = task_runner
    if dask_address:
        settings.task_runner, settings.dask_address = "dask", dask_address
    stages = _selected(only)
    summaries: list[StageSummary] = []
    progress = create_progress_artifact(progress=0.0, key="pipeline-progress", description="Stages completed")
    done = 0
    for stage in [s for s in stages if s in SEQUENTIAL_STAGES]:
        summaries.append(run_stage(stage, settings))
        done += 1
        update_progress_artifact(progress, progress=100.0 * done / len(stages))
    exports = [s for s in stages if s in EXPORT_STAGES]
    futures = [run_export_stage.submit(stage, settings) for stage in exports]
    for future in futures:
        summaries.append(future.result())
        done += 1
        update_progress_artifact(progress, progress=100.0 * done / len(stages))
    wh = Warehouse(settings.warehouse)
    report_path = write_corpus_report(wh)
    _publish_artifacts(summaries, report_path)
    return [s.to_dict() for s in summaries] + [{"stage": "report", "outputs": [str(report_path)]}]


# What "in" and "out" mean for each stage's headline, from the keys of its own counts.
HEADLINE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "crawl": (("fetched", "not_modified", "unchanged", "failed", "skipped", "gone"),
              ("fetched", "not_modified", "unchanged")),
    "clean": (("pages to clean",), ("kept",)),
    "dedup": (("documents in",), ("clusters",)),
    "annotate": ((), ()),
    "export_training": (("documents selected",), ("examples",)),
    "export_rag": (("documents selected",), ("chunks exported",)),
}


def _headline(result: dict) -> tuple[str, str]:
    keys_in, keys_out = HEADLINE.get(result["stage"], ((), ()))
    counts = result.get("counts", {})

    def total(keys: tuple[str, ...]) -> str:
        found = [counts[k] for k in keys if k in counts]
        return f"{sum(found):,}" if found else "-"

    return total(keys_in), total(keys_out)


def _top_drops(drops: dict, n: int = 3) -> str:
    ordered = sorted(drops.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = [f"{reason} {count:,}" for reason, count in ordered[:n]]
    if len(ordered) > n:
        lines.append(f"... {len(ordered) - n} more reasons")
    return "\n".join(lines) or "-"


def summary_table(results: list[dict]) -> Table:
    """Per stage: counts in and out, the main drop reasons, time, where the output is.
    Every count and every reason is in the stage's own summary and Prefect artifact."""
    out = Table(title="corpusforge pipeline summary")
    for col, justify in (("stage", "left"), ("in", "right"), ("out", "right"), ("top drop reasons", "left"),
                         ("time", "right"), ("output", "left")):
        out.add_column(col, justify=justify, overflow="fold")
    for r in results:
        if r["stage"] == "report":
            continue
        n_in, n_out = _headline(r)
        if r["stage"] == "annotate" and not r.get("counts"):
            n_in = n_out = "skipped"
        output = r.get("outputs", [])[:1]
        out.add_row(r["stage"], n_in, n_out, _top_drops(r.get("drops", {})), f"{r.get('seconds', 0):.1f}s",
                    _short_path(output[0]) if output else "-")
    return out


def _short_path(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def run_pipeline_cli(
    config_path: str | None,
    only: list[str] | None,
    console: Console | None = None,
    task_runner: str | None = None,
    dask_address: str | None = None,
) -> list[dict]:
    console = console or Console()
    results = pipeline(config=config_path, only=only, task_runner=task_runner, dask_address=dask_address)
    console.print(summary_table(results))
    for r in results:
        for note in r.get("notes", []):
            console.print(f"  {note}")
    report = next((r for r in results if r["stage"] == "report"), None)
    if report:
        console.print(f"corpus report: {report['outputs'][0]}")
    cfg = f" -c {config_path}" if config_path else ""
    console.print("try:")
    console.print(f'  corpusforge{cfg} query "select source, language, count(*) from documents group by all"')
    console.print(f'  corpusforge{cfg} search "how do I read a file line by line"')
    return results


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_command(
        only: Annotated[
            list[str] | None,
            typer.Option("--only", help=f"Run only these stages (repeatable): {', '.join(STAGES)}."),
        ] = None,
        task_runner: Annotated[
            str | None, typer.Option("--task-runner", help="default | dask (CPU-heavy stages on Dask).")
        ] = None,
        dask_address: Annotated[
            str | None, typer.Option("--dask-address", help="Dask scheduler, e.g. tcp://10.0.0.5:8786.")
        ] = None,
    ) -> None:
        """Run the whole pipeline (or some stages) as one Prefect flow, then print a summary."""
        from corpusforge.flows.cli import State

        _selected(only)  # fail fast, before Prefect starts, on a misspelt stage
        State.settings()  # fail fast on a bad config
        if task_runner not in (None, "default", "dask"):
            raise ValueError(f"unknown task runner {task_runner!r}: use default or dask")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        run_pipeline_cli(State.config_path, only, task_runner=task_runner, dask_address=dask_address)
