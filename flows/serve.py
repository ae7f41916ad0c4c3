"""`corpusforge serve`: register the scheduled deployments and run them (Prefect's `serve`).

Deployments (cron from `schedules:` in corpusforge.yaml):
- `pipeline/nightly`: the whole pipeline;
- `pipeline/refresh`: crawl (conditional requests: only changed pages cost anything), clean,
  dedup and the RAG export, so the index follows the sources closely;
- `annotate_pull/hourly`: labels back from Label Studio, registered only when Label Studio is
  configured (otherwise it would fail every hour; `skipped_deployments` says why it is missing).
Each deployment has a concurrency limit of 1, so runs of one deployment never overlap; the
per-table write locks keep two different deployments from writing the same table at once.
"""

from __future__ import annotations

from pathlib import Path

from corpusforge.schemas.config import Settings

REFRESH_STAGES = ["crawl", "clean", "dedup", "export_rag"]


def skipped_deployments(settings: Settings) -> list[str]:
    """One line per scheduled deployment that is not registered, and why."""
    from corpusforge.flows.annotate import label_studio_configured

    if settings.schedules.annotate_pull and not label_studio_configured(settings.annotate):
        return [
            "annotate_pull/hourly not registered: no Label Studio configured (set LABEL_STUDIO_URL and "
            "LABEL_STUDIO_API_KEY, or the Prefect Secret blocks, then restart serve)"
        ]
    return []


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
                name="nightly",
                schedules=[Cron(sched.pipeline, timezone=sched.timezone)],
                concurrency_limit=1,
                parameters={"config": config_path},
                tags=tags + ["nightly"],
                description="The whole pipeline: crawl, clean, dedup, annotate, both exports.",
            )
        )
    if sched.refresh:
        deployments.append(
            pipeline.to_deployment(
                name="refresh",
                schedules=[Cron(sched.refresh, timezone=sched.timezone)],
                concurrency_limit=1,
                parameters={"config": config_path, "only": REFRESH_STAGES},
                tags=tags + ["refresh"],
                description="Re-crawl changed pages and feeds, then update the RAG export incrementally.",
            )
        )
    if sched.annotate_pull and not skipped_deployments(settings):
        from corpusforge.flows.annotate import annotate_pull

        deployments.append(
            annotate_pull.to_deployment(
                name="hourly",
                schedules=[Cron(sched.annotate_pull, timezone=sched.timezone)],
                concurrency_limit=1,
                parameters={"settings": settings.model_dump(mode="json")},
                tags=tags + ["annotate"],
                description="Bring annotations back from Label Studio.",
            )
        )
    return deployments
