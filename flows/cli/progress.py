"""The terminal's `Progress`: one rich progress bar per label a stage reports."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import TaskID as BarID


class RichProgress:
    """Implements corpusforge.flows.stage.Progress on a rich progress bar (on stderr, so piped
    output stays clean). Use it as a context manager around the stage call."""

    def __init__(self, console: Console | None = None, transient: bool = False) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=transient,
        )
        self._bars: dict[str, BarID] = {}
        self._totals: dict[str, int | None] = {}
        self._lock = threading.Lock()  # the crawl reports from one thread per source

    def __reduce__(self):
        # Prefect sends a flow's parameters with every task it submits to Dask (the task's context):
        # a worker gets a progress that shows nothing; the bars stay in the terminal's process.
        return (_NoBars, ())

    def __enter__(self) -> RichProgress:
        from corpusforge.flows.cli.logs import hide_flow_tracebacks

        hide_flow_tracebacks()  # every command that runs a flow shows its progress
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def update(
        self,
        label: str,
        *,
        advance: int = 0,
        completed: int | None = None,
        total: int | None = None,
        add_total: int = 0,
        status: str | None = None,
    ) -> None:
        with self._lock:
            if label not in self._bars:
                self._bars[label] = self._bar.add_task(label, total=None)
                self._totals[label] = None
            changes: dict = {"advance": advance}
            if completed is not None:
                changes["completed"] = completed
            if total is not None or add_total:
                self._totals[label] = (total if total is not None else self._totals[label] or 0) + add_total
                changes["total"] = self._totals[label]
            if status is not None:
                changes["description"] = f"{label}: {status}"
            self._bar.update(self._bars[label], **changes)


class _NoBars:
    """What a RichProgress becomes in another process (a Dask worker): updates go nowhere."""

    def update(self, label: str, **changes) -> None:
        pass
