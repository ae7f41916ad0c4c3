"""What the clean stage has to do, and its summary when that is nothing, without Prefect.

The clean flow (flows/clean.py) and the CLI's idle check (`corpusforge clean` with nothing new)
share these, so an idle command answers with the flow's own query and the flow's own summary
without importing Prefect or starting a flow run.
"""

from __future__ import annotations

from corpusforge.flows.configs import clean_configs
from corpusforge.flows.runtime import default_workers
from corpusforge.flows.stage import StageSummary, timed
from corpusforge.processing.clean import CleanConfig
from corpusforge.schemas.config import Settings
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.clean_state import PendingPages, pending_pages
from corpusforge.warehouse.ready import ready


def pending_for(wh: Warehouse, configs: dict[str, CleanConfig], default: CleanConfig) -> PendingPages:
    """The pages whose body was not cleaned by the current pipeline version of their source."""
    versions = {name: cfg.pipeline_version() for name, cfg in configs.items()}
    return pending_pages(wh, versions, default.pipeline_version())


def clean_notes(settings: Settings, nothing_to_do: bool) -> list[str]:
    notes = [
        f"workers: {default_workers(settings.clean.workers)}; drop reasons of the current corpus: "
        'corpusforge query "select reason, count(*) from (select unnest(drop_reasons) as reason '
        'from documents) group by 1 order by 2 desc"'
    ]
    return notes + ["nothing new to clean"] if nothing_to_do else notes


def idle_clean_summary(settings: Settings) -> StageSummary | None:
    """The clean flow's own summary when it would find nothing to clean, or None when it has work
    (or the warehouse is not set up, or a killed run left temp files: the flow creates the tables
    and sweeps the files under its lock). tests/foundation/test_idle_stage.py checks that this
    summary equals the flow's."""
    summary = StageSummary(stage="clean")
    with timed(summary):
        wh = Warehouse(settings.warehouse)
        if not ready(wh, ["documents"]):
            return None
        if len(pending_for(wh, *clean_configs(settings))):
            return None
    summary.counts = {"pages to clean": 0, "extracted": 0, "failed": 0, "kept": 0, "dropped": 0}
    summary.notes = clean_notes(settings, nothing_to_do=True)
    return summary
