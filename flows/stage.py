"""The shape every stage shares: `stage(settings, progress=None) -> StageSummary`.

`StageSummary` is what a stage reports (printed by the CLI, published as Prefect artifacts,
merged by the pipeline); `Progress` is how a stage says how far it is, without knowing whether a
terminal, a notebook or nobody is watching; `stage_task_runner` is the one place that picks the
task runner a stage flow runs on.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

# The stages query the warehouse, whose modules import duckdb on first use (for the crawl worker,
# warehouse/lazy_duckdb.py): loaded with the flows, as before, not inside the first stage's timer.
import duckdb  # noqa: F401


@dataclass
class StageSummary:
    """The numbers a stage reports."""

    stage: str
    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"in": 50, "kept": 41}
    drops: Counter = field(default_factory=Counter)  # reason code -> count
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)  # where the results are
    notes: list[str] = field(default_factory=list)
    # One record per unit of work: a crawled source (run id, counts), or a part merged into this
    # summary (one export of several, annotate's push and pull) as its own summary's dict.
    details: list[dict] = field(default_factory=list)
    # Set when the stage (or part of it: one crawl source) failed; one line naming what failed.
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["drops"] = dict(self.drops)
        out["seconds"] = round(self.seconds, 2)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> StageSummary:
        known = {f.name for f in dataclasses.fields(cls)}
        summary = cls(**{k: v for k, v in data.items() if k in known})
        summary.drops = Counter(summary.drops)
        return summary

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> StageSummary:
        return cls.from_dict(json.loads(text))

    def merge(self, part: StageSummary, prefix: str = "") -> StageSummary:
        """Add `part` (a sub-step or one of several exports) into this summary; `prefix` keeps the
        counts and notes of several parts apart ("docs: examples")."""
        for key, value in part.counts.items():
            self.counts[prefix + key] = self.counts.get(prefix + key, 0) + value
        self.drops.update(part.drops)
        self.seconds += part.seconds
        self.outputs += part.outputs
        self.notes += [prefix + note for note in part.notes]
        self.details.append(part.to_dict())
        return self


def error_line(exc: BaseException) -> str:
    """An exception as one line: its message's first line, else its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_name(stage: str) -> Callable[[], str]:
    """A flow run name that says what runs ("crawl 2026-12-02 14:05 · 3 sources") instead of
    Prefect's random words; read from the run's own `settings` (or `config`) parameter."""

    def name() -> str:
        from prefect.runtime import flow_run

        when = datetime.now().strftime("%Y-%m-%d %H:%M")
        sources = _source_count(flow_run.parameters)
        return f"{stage} {when}" + (f" · {sources} source{'s' * (sources != 1)}" if sources is not None else "")

    return name


def _source_count(parameters: dict) -> int | None:
    settings = parameters.get("settings")
    if settings is None and parameters.get("config") is not None:
        try:
            from corpusforge.schemas.config import load_settings

            settings = load_settings(parameters["config"])
        except Exception:  # a bad config fails the run itself, with its own message
            return None
    if isinstance(settings, dict):
        return len(settings.get("sources") or [])
    sources = getattr(settings, "sources", None)
    return None if sources is None else len(sources)


@runtime_checkable
class Progress(Protocol):
    """How a stage reports how far it is. One bar per `label`: `total` sets its size, `add_total`
    grows it (work found on the way), `advance` or `completed` move it, `status` says which step."""

    def update(
        self,
        label: str,
        *,
        advance: int = 0,
        completed: int | None = None,
        total: int | None = None,
        add_total: int = 0,
        status: str | None = None,
    ) -> None: ...


@contextmanager
def timed(summary: StageSummary) -> Iterator[StageSummary]:
    start = time.perf_counter()
    try:
        yield summary
    finally:
        summary.seconds = time.perf_counter() - start


def on_dask_task_runner() -> bool:
    """True inside a flow run whose task runner is prefect-dask's: the flow then submits its
    CPU-heavy work as one task per batch, so the Dask workers do it."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx is not None and type(ctx.task_runner).__name__ == "DaskTaskRunner"


# Stages whose work is worth shipping to Dask workers: the crawl (by host), extraction, MinHash
# signatures, the training examples' tokenising and decontamination, chunking and embedding.
DASK_STAGES = ("crawl", "clean", "dedup", "export_training", "export_rag")


def stage_task_runner(stage: str, task_runner: str, dask_address: str | None = None):
    """The task runner a stage's flow runs on: prefect-dask's for the CPU-heavy stages when the
    settings ask for Dask, else None (the flow's own default)."""
    if task_runner != "dask" or stage not in DASK_STAGES:
        return None
    return dask_task_runner(dask_address)


def configured_flow(stage_flow, stage: str, settings):
    """The stage's flow as every command runs it: named for what it runs (`run_name`), on the task
    runner the settings ask for (`task_runner: dask` in the config counts for `corpusforge clean`
    as much as for `corpusforge run`)."""
    configured = stage_flow.with_options(flow_run_name=run_name(stage))
    runner = stage_task_runner(stage, settings.task_runner, settings.dask_address)
    return configured if runner is None else configured.with_options(task_runner=runner)


def dask_task_runner(address: str | None = None):
    """A DaskTaskRunner on the cluster at `address`, or on a LocalCluster with one single-threaded
    worker process per core."""
    import os

    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": os.cpu_count() or 1,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
