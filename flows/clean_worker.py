"""What a clean worker process runs: a batch of page references in, their document rows out.

Preloaded by the clean stage's forkserver: every worker forked from it (and every replacement for a
worker killed at its time limit) starts with the cleaning code imported. The language model loads
in each worker before its first page's time limit starts (not at import: the driver imports this
module too, and a stage with nothing to clean must not pay for the model).

The worker reads the batch's bodies from the warehouse itself (the driver only passes file and
row numbers), and gives each page its own time limit: an alarm in the worker interrupts a page
that runs past it, which becomes an `extract_timeout` row while the rest of the batch goes on.
The driver's hard limit on the whole batch (a kill) stays as the backstop for code the alarm
cannot interrupt (a long call inside a C extension).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from corpusforge.connectors.language_model import use_cached_model
from corpusforge.flows.runtime import Outcome
from corpusforge.processing.clean import CleanConfig, clean_page, failed_document
from corpusforge.processing.language import identify_language
from corpusforge.warehouse import Warehouse, utc_now
from corpusforge.warehouse.clean_state import PageBatch, read_page_batch


@dataclass(frozen=True)
class CleanJob:
    """What every batch of one clean run shares (pickled with each batch: keep it small)."""

    warehouse: str
    configs: dict[str, CleanConfig]
    default: CleanConfig
    versions: dict[str, str]
    default_version: str
    timeout: float  # seconds per page

    def config_for(self, page: dict) -> tuple[CleanConfig, str]:
        source = page["source"]
        return self.configs.get(source, self.default), self.versions.get(source, self.default_version)


class PageTimeout(BaseException):
    """Raised by the alarm inside a page's cleaning; a BaseException so that no `except
    Exception` in the extraction code turns it into an ordinary failure."""


def _alarm(signum, frame) -> None:
    raise PageTimeout


@contextlib.contextmanager
def page_time_limit(seconds: float) -> Iterator[None]:
    """Raise PageTimeout in the block after `seconds` (main thread only; elsewhere no limit:
    the caller's hard limit still holds)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timeout_row(page: dict, version: str, timeout: float) -> dict:
    return failed_document(page, version, "extract_timeout", f"extraction took longer than {timeout:g}s")


@lru_cache(maxsize=1)
def _libc():
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def release_free_memory() -> None:
    """Give the heap's free pages back to the system (glibc only). A large page's parse trees
    are freed after it, but the allocator keeps the pages, so without this each worker stays
    at the size of the largest page it has seen."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def load_language_model() -> None:
    """This process's language model, from the uncompressed copy in the user's cache folder
    (connectors/language_model.py), loaded now: before any page's time limit starts."""
    use_cached_model()
    identify_language("load the language model")


@lru_cache(maxsize=4)
def _warehouse(root: str) -> Warehouse:
    return Warehouse(root)


def clean_page_batch(job: CleanJob, batch: PageBatch) -> list[dict]:
    """The document rows of the batch's pages (read here from the warehouse)."""
    rows = []
    load_language_model()  # once per process (then cached), outside the page's limit
    for page in read_page_batch(_warehouse(job.warehouse), batch):
        config, version = job.config_for(page)
        try:
            with page_time_limit(job.timeout):
                rows.append(clean_page(page, config, version))
        except PageTimeout:
            rows.append(timeout_row(page, version, job.timeout))
    release_free_memory()
    return rows


HARD_LIMIT_SLACK = 5.0  # seconds on top of a batch's per-page limits before its worker is killed


def batch_limit(args: tuple) -> float:
    """The hard limit of a batch: every page may use its own limit (the alarm in the worker stops
    it there); this kill is for a page the alarm cannot interrupt."""
    job, batch = args
    return job.timeout * len(batch) + HARD_LIMIT_SLACK


def failed_rows(outcome: Outcome) -> list[dict]:
    """A document row per page of a batch that timed out or whose worker failed, saying which."""
    job, batch = outcome.args
    rows = []
    for page in batch.pages:
        _, version = job.config_for(page)
        if outcome.timed_out:
            rows.append(timeout_row(page, version, job.timeout))
        else:
            rows.append(failed_document(page, version, "extract_failed", outcome.error or "unknown error"))
    return rows


def tally(rows: list[dict], run_id: str, counts: Counter, drops: Counter) -> None:
    """Stamp cleaned rows with this run and count them into `counts` and `drops`."""
    for row in rows:
        row["cleaned_at"], row["clean_run_id"] = utc_now(), run_id
        counts["kept" if row["kept"] else "dropped"] += 1
        counts["failed" if row["error"] else "extracted"] += 1
        drops.update(row["drop_reasons"])


__all__ = ["CleanJob", "batch_limit", "clean_page_batch", "failed_rows", "tally", "timeout_row"]
