"""corpusforge: web sources to a fine-tuning dataset and a RAG index.

The project is organised by the top-level folders flows/, connectors/, processing/,
warehouse/ and schemas/; they install as ``corpusforge.flows``, ``corpusforge.connectors``, ...

A small API for notebooks and other orchestrators (imports are lazy: ``import corpusforge``
loads neither Prefect nor torch)::

    import corpusforge
    corpusforge.run("corpusforge.yaml")                       # the pipeline, one summary per stage
    corpusforge.run_stage("dedup", "corpusforge.yaml")        # one stage
    corpusforge.query("select count(*) from documents", "corpusforge.yaml")   # a pyarrow Table
    corpusforge.search("how do I read a file", "corpusforge.yaml", k=3)

``config`` is a path to a corpusforge.yaml, a dict of the same content, a ``Settings`` object, or
None (``$CORPUSFORGE_CONFIG`` or ./corpusforge.yaml).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from corpusforge.flows.stage import Progress, StageSummary
    from corpusforge.schemas.config import Settings
    from corpusforge.warehouse import Warehouse

__version__ = "0.1.0"
__all__ = ["STAGES", "load_config", "open_warehouse", "query", "run", "run_stage", "search"]

STAGES = ("crawl", "clean", "dedup", "annotate", "export_training", "export_rag")


def load_config(config: str | os.PathLike | dict[str, Any] | Settings | None = None) -> Settings:
    """The validated settings from a path, a dict or a Settings object."""
    from corpusforge.schemas.config import Settings, load_settings

    if isinstance(config, Settings):
        return config
    if isinstance(config, dict):
        return Settings.model_validate(config)
    return load_settings(config)


def run(
    config: str | os.PathLike | dict[str, Any] | Settings | None = None,
    only: list[str] | None = None,
    progress: Progress | None = None,
) -> list[StageSummary]:
    """Run the pipeline (or the stages in `only`) as one Prefect flow; one summary per stage."""
    from corpusforge.flows.pipeline import pipeline
    from corpusforge.flows.stage import StageSummary

    results = pipeline(settings=load_config(config), only=only, progress=progress)
    return [StageSummary.from_dict(r) for r in results if r["stage"] != "report"]


def run_stage(
    name: str, config: str | os.PathLike | dict[str, Any] | Settings | None = None, progress: Progress | None = None
) -> StageSummary:
    """Run one stage's Prefect flow (crawl, clean, dedup, annotate, export_training, export_rag)."""
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r}; stages are: {', '.join(STAGES)}")
    from corpusforge.flows.pipeline import run_stage as run_stage_flow

    return run_stage_flow(name, load_config(config), progress)


def open_warehouse(config: str | os.PathLike | dict[str, Any] | Settings | None = None) -> Warehouse:
    """The configured warehouse, its tables and catalog created if missing."""
    from corpusforge.warehouse import Warehouse

    wh = Warehouse(load_config(config).warehouse)
    wh.init()
    return wh


def query(sql: str, config: str | os.PathLike | dict[str, Any] | Settings | None = None) -> pa.Table:
    """Run read-only SQL over the warehouse's views (documents, chunks, ...); a pyarrow Table."""
    from corpusforge.warehouse import Warehouse
    from corpusforge.warehouse.query import run_query

    return run_query(Warehouse(load_config(config).warehouse), sql)


def search(
    question: str,
    config: str | os.PathLike | dict[str, Any] | Settings | None = None,
    k: int = 5,
    name: str | None = None,
) -> pa.Table:
    """The k chunks of a RAG export (default: the first configured) nearest to the question."""
    from corpusforge.flows.search import search as search_export
    from corpusforge.warehouse import Warehouse

    settings = load_config(config)
    if name is None:
        name = settings.exports.rag[0].name if settings.exports.rag else "default"
    return search_export(Warehouse(settings.warehouse), question, name, k)
