"""`corpusforge serve`: register the scheduled deployments and run them (Prefect's `serve`).

Deployments (cron from `schedules:` in corpusforge.yaml):
- `pipeline/nightly`: the whole pipeline;
- `pipeline/refresh`: crawl (conditional requests: only changed pages cost anything), clean,
  dedup and the RAG export, so the index follows the sources closely;
- `annotate_pull/hourly`: labels back from Label Studio.
Each deployment has a concurrency limit of 1, so runs of one deployment never overlap; the
per-table write locks keep two different deployments from writing the same table at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from corpusforge.schemas.config import Settings

REFRESH_STAGES = ["crawl", "clean", "dedup", "export_rag"]


def build_deployments(settings: Settings, config_path: str) -> list:
    from prefect.schedules import Cron

    from corpusforge.flows.pipeline import pipeline

    sched = settings.schedules
    config_path = str(Path(config_path).resolve())
    tags = ["corpusforge"]
    deployments = []
    if sched.pipeline:
        deployments.append(
            pipeline.to_deployment(
                name="nightly", schedules=[Cron(sched.pipeline, timezone=sched.timezone)], concurrency_limit=1,
                parameters={"config": config_path}, tags=tags + ["nightly"],
                description="The whole pipeline: crawl, clean, dedup, annotate, both exports.",
            )
        )
    if sched.refresh:
        deployments.append(
            pipeline.to_deployment(
                name="refresh", schedules=[Cron(sched.refresh, timezone=sched.timezone)], concurrency_limit=1,
                parameters={"config": config_path, "only": REFRESH_STAGES}, tags=tags + ["refresh"],
                description="Re-crawl changed pages and feeds, then update the RAG export incrementally.",
            )
        )
    if sched.annotate_pull:
        from corpusforge.flows.annotate import annotate_pull

        deployments.append(
            annotate_pull.to_deployment(
                name="hourly", schedules=[Cron(sched.annotate_pull, timezone=sched.timezone)], concurrency_limit=1,
                parameters={"warehouse": settings.warehouse, "settings": settings.annotate.model_dump()},
                tags=tags + ["annotate"],
                description="Bring annotations back from Label Studio.",
            )
        )
    return deployments


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_command(
        limit: Annotated[int | None, typer.Option(help="Maximum concurrent flow runs.")] = None,
    ) -> None:
        """Run the scheduled deployments: nightly pipeline, 15-minute refresh, hourly annotation pull.

        Registers them with the Prefect API and runs them until stopped (Ctrl-C). Needs PREFECT_API_URL to point at
        a running Prefect server (`prefect server start`).
        """
        from prefect import serve

        from corpusforge.flows.cli import State, console

        if not os.environ.get("PREFECT_API_URL"):
            raise RuntimeError(
                "PREFECT_API_URL is not set: start a server with `prefect server start` and export "
                "PREFECT_API_URL=http://127.0.0.1:4200/api, so the schedules outlive this process"
            )
        config_path = State.config_path or os.environ.get("CORPUSFORGE_CONFIG", "corpusforge.yaml")
        deployments = build_deployments(State.settings(), config_path)
        console.print(f"serving {len(deployments)} deployments: " + ", ".join(d.name for d in deployments))
        serve(*deployments, limit=limit)
