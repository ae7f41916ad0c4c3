"""A Dask nanny starts its worker with MALLOC_TRIM_THRESHOLD_ set, which makes every allocation
over 128 KiB a fresh mmap; our tasks keep the heap for their length and give the worker its
setting back afterwards, and the clean child starts without the variable (flows/worker_heap.py).
Measured in a real process started as the nanny starts one, by its page faults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import dask
import distributed  # noqa: F401 - its defaults (the nanny's environment) join dask's config

from corpusforge.flows.dask_clean import CleanChild
from corpusforge.flows.worker_heap import environment_without_tuning

# Allocates and frees 300 arrays of 1 MiB outside, inside and again outside `heap_kept`, and
# prints the minor page faults of each round.
FAULTS = """
import json, resource
import numpy as np
from corpusforge.flows.worker_heap import heap_kept, run_with_heap_kept

def faults(fn):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def churn():
    for _ in range(300):
        np.ones(1 << 17, dtype=np.uint64).sum()  # 1 MiB, freed at once

rounds = {"before": faults(churn), "inside": faults(lambda: run_with_heap_kept(churn))}
rounds["after"] = faults(churn)
print(json.dumps(rounds))
"""


def _faults(env: dict[str, str]) -> dict[str, int]:
    out = subprocess.run([sys.executable, "-c", FAULTS], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _nanny_environment() -> dict[str, str]:
    """This environment plus what a Dask nanny sets for its worker (distributed's own config)."""
    spawn = {k: str(v) for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()}
    assert "MALLOC_TRIM_THRESHOLD_" in spawn  # what this module works around
    return {**os.environ, **spawn}


def test_a_task_keeps_the_heap_and_the_worker_gets_its_setting_back():
    rounds = _faults(_nanny_environment())
    # 300 MiB allocated and freed: each array faulted in afresh (256 pages of 4 KiB) under the
    # nanny's setting, the heap reused inside the block, and back to fresh mmaps after it.
    assert rounds["before"] > 300 * 200, rounds
    assert rounds["inside"] < rounds["before"] / 20, rounds
    assert rounds["after"] > 300 * 200, rounds


def test_without_the_nannys_setting_the_heap_is_left_alone():
    env = environment_without_tuning()
    rounds = _faults(env)
    # glibc's adaptive threshold already reuses the heap: the block changes nothing
    assert rounds["before"] < 300 * 20 and rounds["inside"] < 300 * 20 and rounds["after"] < 300 * 20, rounds


def _environment_names(pid: int) -> set[str]:
    """The names in a process's environment. Popen returns once the child's exec has closed its
    close-on-exec pipes, which the kernel does before it lays out the new environment: read
    until there is one."""
    deadline = time.monotonic() + 30
    while True:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            raw = fh.read()
        if raw or time.monotonic() > deadline:
            return {entry.split(b"=", 1)[0].decode() for entry in raw.split(b"\0") if entry}
        time.sleep(0.05)


def test_the_clean_child_starts_without_the_nannys_setting(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    child = CleanChild()
    try:
        names = _environment_names(child.proc.pid)
    finally:
        child.kill()
    assert "PATH" in names and "MALLOC_TRIM_THRESHOLD_" not in names
