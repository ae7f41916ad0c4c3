"""What every stage flow shares: its summary, progress display and settings plumbing."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


@dataclass
class StageSummary:
    """The numbers a stage reports: printed by the CLI, published as Prefect artifacts, and
    aggregated by the pipeline's summary table."""

    stage: str
    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"in": 50, "kept": 41}
    drops: Counter = field(default_factory=Counter)  # reason code -> count
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)  # where the results are
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "counts": dict(self.counts),
            "drops": dict(self.drops),
            "seconds": round(self.seconds, 2),
            "outputs": list(self.outputs),
            "notes": list(self.notes),
        }

    def table(self) -> Table:
        out = Table(title=f"{self.stage}: done in {self.seconds:.1f}s", show_header=True)
        out.add_column("what")
        out.add_column("count", justify="right")
        for key, value in self.counts.items():
            out.add_row(key, f"{value:,}")
        for reason, value in self.drops.most_common():
            out.add_row(f"dropped: {reason}", f"{value:,}")
        return out

    def print(self, console: Console | None = None) -> None:
        console = console or Console()
        console.print(self.table())
        for path in self.outputs:
            console.print(f"  output: {path}")
        for note in self.notes:
            console.print(f"  {note}")


@contextmanager
def timed(summary: StageSummary) -> Iterator[StageSummary]:
    start = time.perf_counter()
    try:
        yield summary
    finally:
        summary.seconds = time.perf_counter() - start


def progress_bar(console: Console | None = None, transient: bool = False) -> Progress:
    """A rich progress bar for long work (shown on a terminal, quiet otherwise)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=transient,
    )


def on_dask_task_runner() -> bool:
    """True inside a flow run whose task runner is prefect-dask's: the flow then submits its
    CPU-heavy work as one task per batch, so the Dask workers do it."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx is not None and type(ctx.task_runner).__name__ == "DaskTaskRunner"


def dask_task_runner(address: str | None = None):
    """A DaskTaskRunner on the cluster at `address`, or on a LocalCluster with one single-threaded
    worker process per core."""
    import os

    import dask
    from prefect_dask import DaskTaskRunner

    # Workers start the clean stage's time-limited extraction processes, which daemonic
    # processes may not do.
    dask.config.set({"distributed.worker.daemon": False})
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": os.cpu_count() or 1, "threads_per_worker": 1, "processes": True,
                        "dashboard_address": None}
    )
