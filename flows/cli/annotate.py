"""`corpusforge annotate push|pull|report`: the Label Studio round trip, and how the filters
agree with people."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from corpusforge.flows.cli.context import cli_context
from corpusforge.flows.cli.output import print_summary
from corpusforge.flows.cli.progress import RichProgress

if TYPE_CHECKING:
    from corpusforge.flows.annotate import AnnotationReport

annotate_app = typer.Typer(
    help="Human review in Label Studio: push samples, pull labels, report agreement.", no_args_is_help=True
)


def _ready(ctx: typer.Context):
    """The settings when Label Studio is configured and answers; None (after one line) when it
    is not configured. A dead server or a wrong key fails here, before any Prefect logs."""
    from corpusforge.flows.annotate import ENABLE_HINT, label_studio_client, label_studio_configured

    cli = cli_context(ctx)
    settings = cli.settings()
    if not label_studio_configured(settings.annotate):
        cli.console.print(ENABLE_HINT, soft_wrap=True, highlight=False)
        return None
    label_studio_client(settings.annotate).check()
    return settings


@annotate_app.command("push")
def push(
    ctx: typer.Context,
    size: Annotated[
        int | None, typer.Option("--size", "-n", min=1, help="Documents to sample (default: annotate.sample_size).")
    ] = None,
) -> None:
    """Sample documents never sent before and create Label Studio tasks for them, with the filters'
    verdicts as pre-annotations. Safe to rerun after a failure: no task is created twice."""
    settings = _ready(ctx)
    if settings is None:
        return
    from corpusforge.flows.annotate import annotate_push

    if size is not None:
        settings = settings.model_copy(update={"annotate": settings.annotate.model_copy(update={"sample_size": size})})
    cli = cli_context(ctx)
    with RichProgress(cli.err_console, transient=True) as progress:
        summary = annotate_push(settings, progress)
    print_summary(summary, cli.console)


@annotate_app.command("pull")
def pull(ctx: typer.Context) -> None:
    """Bring the annotations (all annotators, edited ones too) into the `annotations` table.
    Rerunning adds nothing for unchanged annotations."""
    settings = _ready(ctx)
    if settings is None:
        return
    from corpusforge.flows.annotate import annotate_pull

    print_summary(annotate_pull(settings), cli_context(ctx).console)


@annotate_app.command("report")
def report(ctx: typer.Context) -> None:
    """Precision and recall of every filter against the human keep/drop labels (with counts), and
    the agreement between annotators (percent agreement, Cohen's kappa) where tasks have several."""
    from corpusforge.flows.annotate import annotation_report

    cli = cli_context(ctx)
    wh = cli.warehouse()
    wh.init()
    print_report(annotation_report(wh), cli.console)


def _fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def print_report(report: AnnotationReport, console: Console) -> None:
    from rich.table import Table

    from corpusforge.processing.annotation_labels import overall_percent_agreement

    if not report.labelled_documents:
        console.print("no labelled documents yet: push, annotate in Label Studio, then `corpusforge annotate pull`")
        return
    table = Table(
        title=f"filters vs human keep/drop ({report.labelled_documents} labelled documents)",
        caption="positive = drop. TP: filter and human drop; FP: filter drops, human keeps; "
        "FN: filter keeps, human drops; TN: both keep",
    )
    for name in ("filter", "TP", "FP", "FN", "TN", "precision", "recall"):
        table.add_column(name, justify="left" if name == "filter" else "right", overflow="fold")
    for f in report.filters:
        counts = (f.true_drop, f.false_drop, f.missed_drop, f.true_keep)
        table.add_row(f.filter, *(str(n) for n in counts), _fmt(f.precision), _fmt(f.recall))
    console.print(table)
    for field_name, pairs in report.agreement.items():
        if not pairs:
            continue
        agree = Table(
            title=f"inter-annotator agreement: {field_name} "
            f"(overall {_fmt(overall_percent_agreement(pairs), '{:.1f}%')})"
        )
        for name in ("annotator A", "annotator B", "tasks", "agreed", "agreement", "Cohen's kappa"):
            agree.add_column(name, justify="left" if name.startswith("annotator") else "right", overflow="fold")
        for p in pairs:
            agree.add_row(p.annotator_a, p.annotator_b, str(p.items), str(p.agreed), f"{p.percent:.1f}%", _fmt(p.kappa))
        console.print(agree)
    if not any(report.agreement.values()):
        console.print("inter-annotator agreement: no task has labels from two annotators yet")


def register(app: typer.Typer) -> None:
    app.add_typer(annotate_app, name="annotate")
