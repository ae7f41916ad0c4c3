"""`corpusforge run | demo | serve`: the whole pipeline once, on the sample site, or on a schedule."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from corpusforge.flows.cli.context import CliContext, cli_context
from corpusforge.flows.cli.output import print_pipeline
from corpusforge.flows.cli.progress import RichProgress

STAGE_NAMES = ("crawl", "clean", "dedup", "annotate", "export_training", "export_rag")  # flows.pipeline.STAGES


def run_pipeline(cli: CliContext, only: list[str] | None, task_runner: str | None = None,
                 dask_address: str | None = None) -> list[dict]:  # fmt: skip
    """Run the pipeline flow and print its summary, also when some stages failed (they are
    marked in it, and named on stderr)."""
    from corpusforge.flows.pipeline import PipelineFailed, pipeline

    failure = None
    with RichProgress(cli.err_console, transient=True) as progress:
        try:
            results = pipeline(
                config=cli.config_path, only=only, task_runner=task_runner, dask_address=dask_address,
                progress=progress,
            )  # fmt: skip
        except PipelineFailed as exc:
            failure, results = exc, exc.results
    print_pipeline(results, cli.console, cli.config_path)
    if failure is not None:
        cli.err_console.print(f"[red]error:[/red] {failure}", highlight=False, soft_wrap=True)
    return results


def pipeline_exit_code(results: list[dict]) -> int:
    """1 when a stage (or a crawl source) failed, else 0."""
    return 1 if any(r.get("error") for r in results) else 0


def run(
    ctx: typer.Context,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help=f"Run only these stages (repeatable): {', '.join(STAGE_NAMES)}."),
    ] = None,
    task_runner: Annotated[
        str | None, typer.Option("--task-runner", help="default | dask (CPU-heavy stages on Dask).")
    ] = None,
    dask_address: Annotated[
        str | None, typer.Option("--dask-address", help="Dask scheduler, e.g. tcp://10.0.0.5:8786.")
    ] = None,
) -> int:
    """Run the whole pipeline (or some stages) as one Prefect flow, then print a summary."""
    unknown = [s for s in only or () if s not in STAGE_NAMES]
    if unknown:  # fail fast, before Prefect starts, on a misspelt stage
        raise ValueError(f"unknown stage {unknown[0]!r}; stages are: {', '.join(STAGE_NAMES)}")
    cli = cli_context(ctx)
    cli.settings()  # fail fast on a bad config
    if task_runner not in (None, "default", "dask"):
        raise ValueError(f"unknown task runner {task_runner!r}: use default or dask")
    return pipeline_exit_code(run_pipeline(cli, only, task_runner, dask_address))


def demo(
    ctx: typer.Context,
    pages: Annotated[int, typer.Option(help="Size of the generated sample site.")] = 120,
    directory: Annotated[Path, typer.Option("--dir", help="Where the site, config and warehouse go.")] = Path("demo"),
    label_studio: Annotated[
        bool,
        typer.Option(
            "--label-studio/--no-label-studio",
            help="Start a local Label Studio (data under DIR/label-studio) and push a sample to label.",
        ),
    ] = True,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the demo's Label Studio and exit.")] = False,
) -> int:
    """Generate the sample site, serve it locally, start Label Studio, and run the whole pipeline
    on it; then label a few documents and pull the labels back."""
    import yaml

    from corpusforge.connectors.sample_site import SampleServer, generate_site
    from corpusforge.flows.demo import (
        demo_config,
        demo_label_studio,
        demo_port,
        label_studio_next_steps,
    )

    cli = cli_context(ctx)
    directory = directory.resolve()
    server = demo_label_studio(directory)
    if stop:
        server.stop()
        cli.console.print(f"stopped the demo's Label Studio ({server.data_dir})")
        return 0
    site = directory / "site"
    config_path = directory / "corpusforge.yaml"
    if not (site / "_manifest.json").exists():
        cli.console.print(f"generating a {pages}-page sample site in {site} ...")
        # quality=True: documentation, CJK and junk pages, what the filters are there for
        generate_site(site, pages=pages, seed=0, quality=True)
    if label_studio and not server.installed():
        cli.err_console.print(f"Label Studio is not installed in {server.venv} (`make label-studio`); skipping it")
        label_studio = False
    if label_studio:
        cli.console.print(f"starting Label Studio in {server.data_dir} (the first start takes a minute) ...")
        label_studio = _started(server, cli)
    with SampleServer(site, port=demo_port(config_path)) as site_server:
        cli.console.print(f"serving the sample site at {site_server.url}")
        config_path.write_text(yaml.safe_dump(demo_config(site_server.url, pages), sort_keys=False))
        cli.console.print(f"wrote {config_path}")
        cli.use_config(str(config_path))
        results = run_pipeline(cli, only=None)
    if label_studio:
        for line in label_studio_next_steps(server, config_path):
            cli.console.print(line, highlight=False, markup=False, soft_wrap=True)
    return pipeline_exit_code(results)


def _started(server, cli: CliContext) -> bool:
    """Start the demo's Label Studio; when it cannot start, say why in one line and go on without
    it (the demo still shows the rest of the pipeline)."""
    from corpusforge.connectors.label_studio_server import LabelStudioServerError
    from corpusforge.flows.demo import start_label_studio

    try:
        start_label_studio(server)
    except LabelStudioServerError as exc:
        first = str(exc).strip().splitlines()[0]
        cli.err_console.print(f"Label Studio did not start ({first}; log: {server.log_path}); going on without it")
        return False
    return True


def serve(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option(help="Maximum concurrent flow runs.")] = None,
) -> None:
    """Run the scheduled deployments: nightly pipeline, 15-minute refresh, hourly annotation pull.

    Registers them with the Prefect API and runs them until stopped (Ctrl-C). Needs PREFECT_API_URL to point at
    a running Prefect server (`prefect server start`).
    """
    if not os.environ.get("PREFECT_API_URL"):
        raise RuntimeError(
            "PREFECT_API_URL is not set: start a server with `prefect server start` and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api, so the schedules outlive this process"
        )
    from prefect import serve as prefect_serve

    from corpusforge.flows.serve import build_deployments, skipped_deployments

    cli = cli_context(ctx)
    config_path = cli.config_path or os.environ.get("CORPUSFORGE_CONFIG", "corpusforge.yaml")
    deployments = build_deployments(cli.settings(), config_path)
    for line in skipped_deployments(cli.settings()):
        cli.console.print(line, highlight=False, soft_wrap=True)
    cli.console.print(f"serving {len(deployments)} deployments: " + ", ".join(d.name for d in deployments))
    prefect_serve(*deployments, limit=limit)


def register(app: typer.Typer) -> None:
    for command in (run, demo, serve):
        app.command(command.__name__)(command)
