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
    from corpusforge.flows.pipeline import pipeline

    with RichProgress(cli.err_console, transient=True) as progress:
        results = pipeline(
            config=cli.config_path, only=only, task_runner=task_runner, dask_address=dask_address, progress=progress
        )
    print_pipeline(results, cli.console, cli.config_path)
    return results


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
) -> None:
    """Run the whole pipeline (or some stages) as one Prefect flow, then print a summary."""
    unknown = [s for s in only or () if s not in STAGE_NAMES]
    if unknown:  # fail fast, before Prefect starts, on a misspelt stage
        raise ValueError(f"unknown stage {unknown[0]!r}; stages are: {', '.join(STAGE_NAMES)}")
    cli = cli_context(ctx)
    cli.settings()  # fail fast on a bad config
    if task_runner not in (None, "default", "dask"):
        raise ValueError(f"unknown task runner {task_runner!r}: use default or dask")
    run_pipeline(cli, only, task_runner, dask_address)


def demo(
    ctx: typer.Context,
    pages: Annotated[int, typer.Option(help="Size of the generated sample site.")] = 120,
    directory: Annotated[Path, typer.Option("--dir", help="Where the site, config and warehouse go.")] = Path("demo"),
) -> None:
    """Generate the sample site, serve it locally, and run the whole pipeline on it."""
    import yaml

    from corpusforge.connectors.sample_site import SampleServer, generate_site
    from corpusforge.flows.demo import demo_config, demo_port

    cli = cli_context(ctx)
    directory = directory.resolve()
    site = directory / "site"
    config_path = directory / "corpusforge.yaml"
    if not (site / "_manifest.json").exists():
        cli.console.print(f"generating a {pages}-page sample site in {site} ...")
        generate_site(site, pages=pages, seed=0)
    with SampleServer(site, port=demo_port(config_path)) as server:
        cli.console.print(f"serving the sample site at {server.url}")
        config_path.write_text(yaml.safe_dump(demo_config(server.url, pages), sort_keys=False))
        cli.console.print(f"wrote {config_path}")
        cli.use_config(str(config_path))
        run_pipeline(cli, only=None)


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

    from corpusforge.flows.serve import build_deployments

    cli = cli_context(ctx)
    config_path = cli.config_path or os.environ.get("CORPUSFORGE_CONFIG", "corpusforge.yaml")
    deployments = build_deployments(cli.settings(), config_path)
    cli.console.print(f"serving {len(deployments)} deployments: " + ", ".join(d.name for d in deployments))
    prefect_serve(*deployments, limit=limit)


def register(app: typer.Typer) -> None:
    for command in (run, demo, serve):
        app.command(command.__name__)(command)
