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


def _named(stage_flow, stage: str):
    """The stage's flow with a run name that says what runs (flows.stage.run_name)."""
    from corpusforge.flows.stage import run_name

    return stage_flow.with_options(flow_run_name=run_name(stage))


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
        summary = crawl_flow(settings, progress)
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
    summary = idle_clean_summary(settings)
    if summary is None:  # there is work: the clean flow runs (and Prefect is imported) only now
        from corpusforge.flows.prefect_server import point_at_shared_server

        point_at_shared_server()
        from corpusforge.flows.clean import clean as clean_flow

        with RichProgress(cli.err_console) as progress:
            summary = _named(clean_flow, "clean")(settings, progress)
    print_summary(summary, cli.console)


def idle_clean_summary(settings):
    """The clean flow's own summary when it would find nothing to clean, or None when it has work.

    Asked of the warehouse with the flow's own query (pending_pages), without importing Prefect or
    starting a flow run: an idle `corpusforge clean` answers in about a second instead of paying
    Prefect's import and a flow run for nothing. A warehouse with stray temp files (a killed run)
    goes to the flow, which sweeps them under its lock. tests/foundation/test_idle_stage.py checks
    that this summary equals the flow's."""
    from corpusforge.flows.configs import clean_configs
    from corpusforge.flows.runtime import default_workers
    from corpusforge.flows.stage import StageSummary, timed
    from corpusforge.warehouse import Warehouse
    from corpusforge.warehouse.clean_state import pending_pages

    summary = StageSummary(stage="clean")
    with timed(summary):
        wh = Warehouse(settings.warehouse)
        if not _initialised(wh) or _has_temp_files(wh, "documents"):
            return None  # the flow creates the tables, or sweeps the temp files under its lock
        configs, default = clean_configs(settings)
        versions = {name: cfg.pipeline_version() for name, cfg in configs.items()}
        if len(pending_pages(wh, versions, default.pipeline_version())):
            return None
    summary.counts = {"pages to clean": 0, "extracted": 0, "failed": 0, "kept": 0, "dropped": 0}
    summary.notes = [
        f"workers: {default_workers(settings.clean.workers)}; drop reasons of the current corpus: "
        'corpusforge query "select reason, count(*) from (select unnest(drop_reasons) as reason '
        'from documents) group by 1 order by 2 desc"',
        "nothing new to clean",
    ]
    return summary


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
    from corpusforge.flows.dedup import dedup as dedup_flow

    with RichProgress(cli.err_console) as progress:
        summary = _named(dedup_flow, "dedup")(settings, progress)
    print_summary(summary, cli.console)


def _initialised(wh) -> bool:
    """Whether every table has its schema file (and a local warehouse its catalog): what
    `Warehouse.init` makes, checked without rewriting anything (init's schema comparison alone
    imports pandas through pyarrow)."""
    from pyarrow import fs as pafs

    from corpusforge.schemas.tables import TABLES
    from corpusforge.warehouse.store import SCHEMA_FILE

    paths = [f"{wh.table_dir(table)}/{SCHEMA_FILE}" for table in TABLES]
    paths += [wh.catalog_path] if wh.is_local else []
    return all(info.type != pafs.FileType.NotFound for info in wh.fs.get_file_info(paths))


def _has_temp_files(wh, table: str) -> bool:
    """Whether a killed writer left temp files in the table (warehouse.store's `_tmp` folder)."""
    from pyarrow import fs as pafs

    from corpusforge.warehouse.store import TMP_DIR

    selector = pafs.FileSelector(f"{wh.table_dir(table)}/{TMP_DIR}", allow_not_found=True)
    return any(info.path.endswith(".tmp") for info in wh.fs.get_file_info(selector))


def register(app: typer.Typer) -> None:
    for command in (crawl, clean, dedup):
        app.command(command.__name__)(command)
