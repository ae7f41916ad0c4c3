"""`corpusforge crawl | clean | dedup`: one stage, with a progress bar and its summary.

Options only narrow or override the settings; the stage flows take the settings and a Progress.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corpusforge.flows.cli.context import cli_context
from corpusforge.flows.cli.output import print_summary
from corpusforge.flows.cli.progress import RichProgress


def _with(settings, section: str, **overrides):
    """`settings` with the given fields of one section replaced (None: keep the configured value)."""
    changed = {k: v for k, v in overrides.items() if v is not None}
    if not changed:
        return settings
    return settings.model_copy(update={section: getattr(settings, section).model_copy(update=changed)})


def _configured(stage_flow, stage: str, settings):
    """The stage's flow named for what it runs, on the configured task runner (flows.stage)."""
    from corpusforge.flows.stage import configured_flow

    return configured_flow(stage_flow, stage, settings)


def crawl(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", "-s", help="Crawl only this source.")] = None,
    warc_out: Annotated[
        Path | None, typer.Option("--warc-out", help="Also write every fetched page to this WARC file (.gz ok).")
    ] = None,
) -> int:
    """Fetch the configured sources into the pages table: robots.txt obeyed, per-host delay,
    conditional re-crawl (ETag / Last-Modified), resumable after a kill."""
    cli = cli_context(ctx)
    settings = cli.settings()
    if source is not None:  # a wrong --source fails before anything starts
        settings = settings.model_copy(update={"sources": [settings.source(source)]})
    settings = _with(settings, "crawl", warc_out=str(warc_out) if warc_out else None)
    from corpusforge.flows.crawl import crawl as crawl_flow

    with RichProgress(cli.err_console) as progress:
        summary = _configured(crawl_flow, "crawl", settings)(settings, progress)
    print_summary(summary, cli.console)
    return 1 if summary.failed else 0  # a source failed: the others are crawled, the exit code says so


def clean(
    ctx: typer.Context,
    workers: Annotated[int | None, typer.Option(help="Processes (default: clean.workers, 0 = per core).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Time limit per page in seconds.")] = None,
) -> None:
    """Turn new fetched pages into documents: main text and markdown, metadata, language,
    quality signals with a reason for every filter, PII redacted.

    Incremental: a second run with no new pages and unchanged settings cleans nothing.
    Afterwards try corpusforge query "select reason, count(*) from (select unnest(drop_reasons)
    as reason from documents) group by 1".
    """
    cli = cli_context(ctx)
    settings = _with(cli.settings(), "clean", workers=workers, extract_timeout=timeout)
    from corpusforge.flows.clean_plan import idle_clean_summary  # no Prefect: an idle clean answers at once

    summary = idle_clean_summary(settings)
    if summary is None:  # there is work: the clean flow runs (and Prefect is imported) only now
        from corpusforge.flows.prefect_server import point_at_shared_server

        point_at_shared_server()
        from corpusforge.flows.clean import clean as clean_flow

        with RichProgress(cli.err_console) as progress:
            summary = _configured(clean_flow, "clean", settings)(settings, progress)
    print_summary(summary, cli.console)


def dedup(
    ctx: typer.Context,
    workers: Annotated[int | None, typer.Option(help="Signature processes (default: dedup.workers).")] = None,
    threshold: Annotated[float | None, typer.Option(help="Jaccard threshold (default: dedup.threshold).")] = None,
) -> None:
    """Find exact and near-duplicate documents (MinHash LSH) and write the clusters table.

    Incremental: only new or changed documents are signed and compared. Afterwards try
    corpusforge query "select * from clusters where cluster_size > 1".
    """
    cli = cli_context(ctx)
    settings = _with(cli.settings(), "dedup", workers=workers, threshold=threshold)
    from corpusforge.flows.dedup_plan import idle_dedup_summary  # no Prefect: an idle dedup answers at once

    summary = idle_dedup_summary(settings)
    if summary is None:  # there is work: the dedup flow runs (and Prefect is imported) only now
        from corpusforge.flows.prefect_server import point_at_shared_server

        point_at_shared_server()
        from corpusforge.flows.dedup import dedup as dedup_flow

        with RichProgress(cli.err_console) as progress:
            summary = _configured(dedup_flow, "dedup", settings)(settings, progress)
    print_summary(summary, cli.console)


def register(app: typer.Typer) -> None:
    for command in (crawl, clean, dedup):
        app.command(command.__name__)(command)
