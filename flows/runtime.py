"""The one runtime for parallel work: every stage that spreads CPU work goes through here.

- `map_with_time_limit`: a process pool with an optional hard time limit per item. A call that
  runs past it is stopped by killing its worker process (a fresh one takes its place), so no
  pathological input can hang the stage. pebble provides the per-task kill; this module adds a
  bounded window of items in flight (memory stays flat however many items stream through),
  yielding results as they complete. Workers start from a forkserver that has imported the
  work's module once (`preload`), so starting (or replacing) one is cheap and does not inherit
  the threads of the calling process (Prefect's, for one).
- `submit_bounded`: the same bounded window over Dask futures, one task per item, and
  `submit_to_dask`, which makes those tasks on the cluster of the flow's Dask task runner.

An item is whatever the work function takes: a page (clean) or a batch of texts (dedup). Work
functions receive their inputs as arguments, so a later step can hand them references (page ids)
instead of bodies and let the workers read what they need.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from pebble import ProcessExpired, ProcessPool

STOP_POLL_SECONDS = 0.2


@dataclass
class Outcome:
    args: tuple
    value: Any = None
    timed_out: bool = False
    error: str | None = None  # "<ExceptionType>: message" when the call raised or its worker died

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.error is None


def default_workers(workers: int) -> int:
    """0 means one worker per available core."""
    if workers > 0:
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _context(preload: tuple[str, ...]):
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    return ctx


def _resolve(args: tuple, future) -> Outcome:
    try:
        return Outcome(args, value=future.result())
    except FutureTimeout:
        return Outcome(args, timed_out=True)
    except ProcessExpired as exc:
        return Outcome(args, error=f"worker died: {exc}")
    except Exception as exc:  # noqa: BLE001 - reported per item, the others go on
        return Outcome(args, error=f"{type(exc).__name__}: {exc}")


def map_with_time_limit(
    fn: Callable[..., Any],
    arg_tuples: Iterable[tuple],
    workers: int,
    timeout: float | Callable[[tuple], float] | None,
    window: int | None = None,
    preload: tuple[str, ...] = (),
    stop: threading.Event | None = None,
) -> Iterator[Outcome]:
    """Call `fn(*args)` for each args tuple on `workers` processes (0: one per core), at most
    `timeout` seconds each (None: no limit; a callable gives each args tuple its own); yield one
    Outcome per input as it completes (not in input order: a slow item must not hold up the
    others), with at most `window` inputs in flight. Once `stop` is set, nothing new starts and
    the iteration ends within STOP_POLL_SECONDS: the calls in flight are killed, not waited for."""
    workers = default_workers(workers)
    window = window or workers * 8
    limit = timeout if callable(timeout) else (lambda args: timeout)
    pool = ProcessPool(max_workers=workers, context=_context(preload))
    pending: dict = {}
    closed = False
    try:
        for args in arg_tuples:
            if stop is not None and stop.is_set():
                return
            pending[pool.schedule(fn, args=args, timeout=limit(args))] = args
            while len(pending) >= window:
                yield from _harvest(pending, stop)
                if stop is not None and stop.is_set():
                    return
        while pending and not (stop is not None and stop.is_set()):
            yield from _harvest(pending, stop)
        if stop is not None and stop.is_set():
            return
        pool.close()
        closed = True
    finally:
        if not closed:  # stopped early (stop request, error, interrupt, generator closed): kill the workers
            pool.stop()
        pool.join()


def _harvest(pending: dict, stop: threading.Event | None = None) -> Iterator[Outcome]:
    """The outcomes of the calls that completed; with `stop`, wakes up every STOP_POLL_SECONDS
    (and may yield nothing) so that a stop request is noticed while every call is still running."""
    done, _ = wait(pending, timeout=None if stop is None else STOP_POLL_SECONDS, return_when=FIRST_COMPLETED)
    for future in done:
        yield _resolve(pending.pop(future), future)


def submit_bounded(submit: Callable[[Any], Any], items: Iterable[Any], window: int = 8) -> Iterator[Any]:
    """`submit(item)` (submit_to_dask, or a Prefect task's `.submit`) for each item with at most
    `window` futures in flight; yield their results in input order."""
    pending: list = []
    for item in items:
        pending.append(submit(item))
        while len(pending) >= window:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


def submit_to_dask(name: str, fn: Callable[..., Any], *args: Any, retries: int = 0):
    """A Dask future of `fn(*args)`, a plain task on the cluster of the flow's Dask task runner,
    keyed `<name>-<uuid>` (the name is what Dask's dashboard and task stream show).

    Not a Prefect task run: on a worker each Prefect task run hydrates the flow's context and
    builds its own API clients, and the server records its states. For many short units (batches
    of pages, of signatures, of chunks) that cost a tenth of the Dask run's time: a clean of 5,000
    pages on a 2-worker cluster took 62.4 s with a task run per batch and 56.8 s without (the
    workers 10.5 against 6 CPU seconds each, the Prefect server 4.4 against 1.4). The flow run
    still shows the stage, its logs and its summary, which names the workers that did the work.

    The task runs with the worker's heap kept for reuse (flows/worker_heap.py says why)."""
    from prefect.context import FlowRunContext

    from corpusforge.flows.worker_heap import run_with_heap_kept

    client = FlowRunContext.get().task_runner.client
    key = f"{name}-{uuid.uuid4().hex}"
    return client.submit(run_with_heap_kept, fn, *args, key=key, pure=False, retries=retries)


def dask_worker_address() -> str:
    """The address of the Dask worker this runs on, or "driver" (a task run in the flow's process)."""
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:
        return "driver"


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of `size` items (the last may be shorter): itertools.batched from Python 3.12."""
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch
