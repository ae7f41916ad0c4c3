"""The clean stage's batches on a Dask worker as users start one (`dask worker`: a nanny and a
daemonic worker process, tasks in threads).

A daemonic process may not start a multiprocessing pool, and a task thread is not the main
thread, so neither the local pool of flows/runtime.py nor the per-page alarm of
flows/clean_worker.py works inside a Dask task. A plain child process does: each task thread
keeps one `python -m corpusforge.flows.dask_clean` child (started on its first batch, kept for
the next ones, so start-up is paid once per worker, not per batch) and hands it batches of page
references over a pipe. The child cleans them in its main thread, each page under its alarm;
the task thread waits at most the batch's hard limit and kills the child past it (a fresh child
takes the next batch). A child whose Dask worker dies reads end-of-file and exits.

The task itself (`clean_batch_on_worker`) lives here too, in a module without Prefect: a worker
that unpickles it imports only what cleaning needs.

Frames on the pipes: an 8-byte big-endian length, then a pickle. The child's results go out on
its original stdout; its stdout proper is pointed at stderr, so a library that prints cannot
corrupt a frame.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from corpusforge.flows.clean_worker import CleanJob, batch_limit, failed_rows, tally
from corpusforge.flows.runtime import Outcome, dask_worker_address
from corpusforge.flows.worker_heap import environment_without_tuning
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.clean_state import PageBatch

HEADER_BYTES = 8
CHILD_MODULE = "corpusforge.flows.dask_clean"
# A child says it is ready once its imports and language model are loaded: batches' limits start
# after that, so a slow start (a busy machine) never counts against a page.
START_LIMIT = 300.0
READY = "ready"


class ChildTimeout(Exception):
    """The child ran past the batch's hard limit and was killed."""


class ChildDied(Exception):
    """The child exited (crashed, killed) before answering."""


def _frame(obj) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(HEADER_BYTES, "big") + data


class CleanChild:
    """One child process that cleans batches it is sent, one at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            env=environment_without_tuning(),  # glibc's adaptive heap, not the nanny's setting
        )
        self.ready = False

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def clean(self, job, batch, limit: float) -> list[dict]:
        """The batch's document rows; ChildTimeout past `limit` seconds (the child is killed),
        ChildDied when it exits, RuntimeError with the child's error when cleaning raised."""
        if not self.ready:
            self._receive(time.monotonic() + START_LIMIT)
            self.ready = True
        try:
            os.write(self.proc.stdin.fileno(), _frame((job, batch)))
        except BrokenPipeError:
            self.kill()
            raise ChildDied(f"clean child exited with code {self.proc.returncode}") from None
        status, value = self._receive(time.monotonic() + limit)
        if status != "ok":
            raise RuntimeError(value)
        return value

    def _receive(self, deadline: float):
        size = int.from_bytes(self._read(HEADER_BYTES, deadline), "big")
        return pickle.loads(self._read(size, deadline))

    def _read(self, n: int, deadline: float) -> bytes:
        fd, parts, got = self.proc.stdout.fileno(), [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.kill()
                raise ChildTimeout
            part = os.read(fd, min(n - got, 1 << 20))
            if not part:
                self.kill()
                raise ChildDied(f"clean child exited with code {self.proc.returncode}")
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
        self.proc.wait()


_idle: list[CleanChild] = []
_idle_lock = threading.Lock()


@contextmanager
def clean_child() -> Iterator[CleanChild]:
    """A child of this process's pool (one per task thread in use): an idle one, or a new one;
    given back afterwards when it is still alive."""
    with _idle_lock:
        child = _idle.pop() if _idle else None
    if child is None or not child.alive:
        child = CleanChild()
    try:
        yield child
    finally:
        if child.alive:
            with _idle_lock:
                _idle.append(child)


def clean_batch_in_child(job: CleanJob, batch: PageBatch) -> list[dict]:
    """The batch's rows from this Dask worker's clean child (flows/dask_clean.py: no process pool
    in a daemonic worker, no alarm outside a main thread). A batch whose child was killed at the
    hard limit or died is cleaned again page by page, so only the page at fault fails."""
    with clean_child() as child:
        try:
            return child.clean(job, batch, batch_limit((job, batch)))
        except ChildTimeout:
            outcome = Outcome((job, batch), timed_out=True)
        except (ChildDied, RuntimeError) as exc:
            outcome = Outcome((job, batch), error=str(exc))
    if len(batch) == 1:
        return failed_rows(outcome)
    return [row for page in batch.split() for row in clean_batch_in_child(job, page)]


def clean_batch_on_worker(job: CleanJob, batch: PageBatch, run_id: str) -> dict:
    """One batch of pages, each still under its time limit, cleaned and written as a `documents`
    file by this worker: the unit a Dask worker gets. What goes back is its tally, not the rows."""
    rows = clean_batch_in_child(job, batch)
    counts, drops = Counter(), Counter()
    tally(rows, run_id, counts, drops)
    path = Warehouse(job.warehouse).write("documents", rows, run_id)
    return {"pages": len(rows), "counts": counts, "drops": drops, "files": [path] if path else [],
            "worker": dask_worker_address()}  # fmt: skip


def run_child_loop(requests, answers) -> None:
    """The child's side: answer every (job, batch) frame with ("ok", rows) or ("error", message)."""
    from corpusforge.flows.clean_worker import clean_page_batch, load_language_model

    load_language_model()
    # As the local pool's forkserver does (flows/clean_worker_preload.py): the collector no longer
    # walks the imported libraries' objects on every full collection while the child cleans.
    gc.freeze()
    answers.write(_frame(READY))
    answers.flush()
    while True:
        header = requests.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES:
            return  # the parent closed the pipe (or died)
        job, batch = pickle.loads(requests.read(int.from_bytes(header, "big")))
        try:
            answer = ("ok", clean_page_batch(job, batch))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which records the pages as failed
            answer = ("error", f"{type(exc).__name__}: {exc}")
        answers.write(_frame(answer))
        answers.flush()


def _main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints go to stderr, never into a frame
    run_child_loop(sys.stdin.buffer, answers)


if __name__ == "__main__":
    _main()
