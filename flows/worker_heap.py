"""The memory allocator of a Dask worker, tuned back for the length of one of our tasks.

A Dask nanny starts its worker with `MALLOC_TRIM_THRESHOLD_=65536` (distributed's
`nanny.pre-spawn-environ`), so that freed memory goes back to the system at once. Setting it
also turns off glibc's adaptive mmap threshold: every allocation over 128 KiB is then a fresh
`mmap`, faulted in page by page and unmapped when freed. The batch work of our tasks allocates
and frees arrays of that size thousands of times (MinHash signing makes a shingles x
permutations array per document; measured with datasketch's, which the stage used then):
signing 4,000 documents took 936,000 page faults and 1.6 s of system time under that setting,
against 500 faults and 0.01 s with the adaptive threshold's ceiling set instead, and the dedup
stage on a 2-worker cluster used 1.6 times the CPU of the local pool for the same signatures.

So for the length of a task the heap keeps and reuses what it frees (the thresholds at the
ceiling glibc's own adaptive rule reaches: 32 MiB for mmap, twice that for trimming), and after
it the worker's settings come back and the free memory is returned, as the nanny intends. A
worker started without the variable has the adaptive rule already and is left alone, as is
every process where glibc's `mallopt` is missing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_DURING_TASK = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD_DURING_TASK = 2 * MMAP_THRESHOLD_DURING_TASK  # what its adaptive rule pairs with it
GLIBC_MMAP_THRESHOLD = 128 << 10  # glibc's fixed thresholds while a variable below is set
GLIBC_TRIM_THRESHOLD = 128 << 10
TUNING_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


@lru_cache(maxsize=1)
def _glibc():
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def _fixed_thresholds() -> tuple[int, int] | None:
    """(trim, mmap) thresholds this process was started with, when an environment variable fixed
    them (and so turned glibc's adaptive rule off); None when glibc adapts them itself."""
    if not any(name in os.environ for name in TUNING_VARIABLES):
        return None
    trim = int(os.environ.get("MALLOC_TRIM_THRESHOLD_", GLIBC_TRIM_THRESHOLD))
    return trim, int(os.environ.get("MALLOC_MMAP_THRESHOLD_", GLIBC_MMAP_THRESHOLD))


_tasks = 0  # our tasks running in this process (a worker may run several in threads)
_tasks_lock = threading.Lock()


@contextlib.contextmanager
def heap_kept() -> Iterator[None]:
    """Within the block, freed memory stays in the heap for reuse (see the module docstring).
    The first of concurrent blocks raises the thresholds, the last one out restores them."""
    global _tasks
    libc, fixed = _glibc(), _fixed_thresholds()
    if libc is None or fixed is None:
        yield
        return
    with _tasks_lock:
        _tasks += 1
        if _tasks == 1:
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_DURING_TASK)
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_DURING_TASK)
    try:
        yield
    finally:
        with _tasks_lock:
            _tasks -= 1
            if _tasks == 0:
                trim, mmap = fixed
                libc.mallopt(M_TRIM_THRESHOLD, trim)
                libc.mallopt(M_MMAP_THRESHOLD, mmap)
                libc.malloc_trim(0)


def run_with_heap_kept(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` with the heap kept: what every task of ours on a Dask worker runs."""
    with heap_kept():
        return fn(*args)


def environment_without_tuning() -> dict[str, str]:
    """This process's environment without the allocator variables: a child started with it (the
    clean child of a Dask worker) has glibc's adaptive thresholds for its whole life."""
    return {name: value for name, value in os.environ.items() if name not in TUNING_VARIABLES}
