"""The machinery of the kill -9 tests (issue 15.7), shared by every stage's test.

A stage runs in a subprocess (the real `corpusforge` CLI, or the crawl driver) and gets SIGKILL at
a seeded moment. `kill_chain` kills the same folder's runs one after the other, each at a later
moment (a resumed run is interrupted again, a stronger test than one kill), then lets a last run
finish; the test then compares what is left with the folder of a run that was never interrupted.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from corpusforge.schemas import TABLES
from corpusforge.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
MOMENTS = 10  # kills per stage (issue 15.7)
SCHEMA_FILE = "00000000-schema.parquet"


@dataclass(frozen=True)
class Moment:
    """When to kill: `seconds` after the start or, with `after_progress`, that long after the run
    shows progress (it took its table lock, wrote a file): the imports and the flow run's creation
    then take no share of the moments, and a resumed run is killed further on."""

    seconds: float
    after_progress: bool = False


@dataclass(frozen=True)
class Run:
    seconds: float
    killed: bool
    active: float | None = None  # seconds from its first progress to its end (None: none seen)
    held: float | None = None  # seconds from its first progress to its return (a lock released), else to its end


def seeded_moments(seed: int, lo: float, hi: float, n: int = MOMENTS, after_progress: bool = False) -> list[Moment]:
    """n moments drawn uniformly from [lo, hi] seconds, in increasing order."""
    rng = random.Random(seed)
    return [Moment(s, after_progress) for s in sorted(rng.uniform(lo, hi) for _ in range(n))]


def lock_holder(folder: Path, table: str) -> Callable[[], str]:
    """Progress of a stage that holds `table`'s write lock while it works: who holds it (a lock
    left by a killed run names that run, so a new holder is progress)."""
    path = folder / "data" / table / "_lock"

    def holder() -> str:
        try:
            return path.read_text()
        except OSError:
            return ""

    return holder


def cli(folder: Path, *command: str) -> list[str]:
    return ["corpusforge", "-c", str(folder / "corpusforge.yaml"), *command]


def output_files(folder: Path) -> int:
    """Parquet files of a table folder (its schema file aside)."""
    return sum(1 for p in folder.glob("*.parquet") if p.name != SCHEMA_FILE) if folder.exists() else 0


class Forker:
    """The test's end of tests/faults/forker.py: one forker per session, started on first use."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO),
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}  # fmt: skip
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.faults.forker"], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert json.loads(self.proc.stdout.readline()).get("ready"), "the forker did not start"

    def start(self, argv: list[str], cwd: Path, log: Path, env: dict | None) -> int:
        command = {"argv": argv, "cwd": str(cwd), "log": str(log), "env": env or {}}
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"]

    def ended(self, wait: float) -> int | None:
        """The child's return code once it has ended, else None (after up to `wait` seconds)."""
        ready, _, _ = select.select([self.proc.stdout], [], [], wait)
        return json.loads(self.proc.stdout.readline())["returncode"] if ready else None

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


_forker: Forker | None = None


def forker() -> Forker:
    global _forker
    if _forker is None:
        _forker = Forker()
        atexit.register(_forker.close)
    return _forker


def run(
    argv: list[str],
    folder: Path,
    moment: Moment | None = None,
    progress: Callable[[], object] = lambda: None,
    env: dict | None = None,
    timeout: float = 300,
) -> Run:
    """Run `argv` (`cli(...)` or `["crawl", config]`) in a child of the forker; SIGKILL it at
    `moment` if it is still running then. Progress is a change of `progress()`; its return to
    what it was before (a lock released) ends the time the run `held` its progress. A run that is
    not killed must succeed (the tail of its log is the failure message)."""
    log_path = folder / "run.log"
    baseline = progress()
    started = time.monotonic()
    pid = forker().start(argv, folder, log_path, env)
    progressed, released, killed, returncode = None, None, False, None
    while returncode is None:
        now = time.monotonic()
        if progressed is None and progress() != baseline:
            progressed = now
        elif progressed is not None and released is None and progress() == baseline:
            released = now
        clock = progressed if moment is not None and moment.after_progress else started
        if moment is not None and not killed and clock is not None and now - clock >= moment.seconds:
            os.kill(pid, signal.SIGKILL)
            killed = True
        if now - started > timeout and not killed:
            os.kill(pid, signal.SIGKILL)
            forker().ended(30)
            raise AssertionError(f"{argv[-1]} still running after {timeout:g}s\n{log_path.read_text()[-3000:]}")
        returncode = forker().ended(0.02)
    killed = killed and returncode == -signal.SIGKILL  # else it had ended by itself
    if not killed:
        assert returncode == 0, log_path.read_text()[-3000:]
    end = time.monotonic()
    if progressed is None:
        return Run(end - started, killed)
    return Run(end - started, killed, end - progressed, (released or end) - progressed)


def progress_moments(seed: int, reference: Run, n: int = MOMENTS, held: bool = False) -> list[Moment]:
    """n moments spread over the reference run's active time (from its progress to its end), or
    with `held` over the time it held its lock: a stage whose work under the lock is a small part
    of the command (its flow run's teardown comes after) is then killed in that work."""
    assert reference.active is not None, "the reference run showed no progress"
    return seeded_moments(seed, 0.0, (reference.held if held else reference.active) * 0.97, n, after_progress=True)


def kill_chain(start: Callable[[Moment | None], Run], moments: Iterable[Moment], finished=lambda: False) -> list[Run]:
    """Run, kill at each moment in turn, then run to the end; `finished()` (checked before each
    run) ends the chain for a stage that must not run again once done. The killed runs' Runs."""
    runs = []
    for moment in moments:
        if finished():
            break
        runs.append(start(moment))
    if not finished():
        start(None)
    return runs


def kill_at_fractions(start: Callable[[Moment | None], Run], fractions: Iterable[float], estimate: float) -> list[Run]:
    """kill_chain with each kill at a fraction of how long a run takes: `estimate` seconds (the
    reference run's) until a run ends by itself before its kill, then that run's length. A busy
    machine when the reference ran must not push the later kills past the end of faster runs."""
    runs = []
    for fraction in fractions:
        runs.append(start(Moment(fraction * estimate)))
        if not runs[-1].killed:
            estimate = min(estimate, runs[-1].seconds)
    start(None)
    return runs


def copy(src: Path, target: Path) -> Path:
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("run.log"))
    return target


# ---- comparing warehouses ------------------------------------------------------------------------
def volatile(column: str) -> bool:
    """Columns that differ between two runs doing the same work: times and run ids."""
    return column.endswith("_at") or column.endswith("run_id")


def table_rows(folder: Path, table: str, ignore: Iterable[str] = ()) -> list[tuple]:
    """The rows of the table's current view (the catalog's `<table>`), sorted, without volatile
    columns and `ignore`: a list, so that a row written twice shows."""
    con = Warehouse(str(folder / "data")).connect(read_only=True)
    try:
        cursor = con.execute(f"select * from {table}")
        names = [d[0] for d in cursor.description]
        keep = [i for i, name in enumerate(names) if not volatile(name) and name not in set(ignore)]
        return sorted((tuple(_hashable(row[i]) for i in keep) for row in cursor.fetchall()), key=repr)
    finally:
        con.close()


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, float) and math.isnan(value):
        return "NaN"  # NaN != NaN: two equal rows with a NaN would differ
    return value


def warehouse_view(folder: Path, ignore: Iterable[str] = (), skip_tables: Iterable[str] = ()) -> dict[str, list]:
    """Every table's current rows (see table_rows)."""
    return {name: table_rows(folder, name, ignore) for name in sorted(TABLES) if name not in set(skip_tables)}


def diff(got: dict, expected: dict) -> str:
    """What differs, table by table: a few rows only after the kills, a few only uninterrupted."""
    out = []
    for key in sorted(set(got) | set(expected)):
        a, b = got.get(key, []), expected.get(key, [])
        if a != b:
            ca, cb = Counter(a), Counter(b)
            out.append(f"{key} ({len(a)} vs {len(b)} rows): only after the kills {_rows(ca - cb)}; "
                       f"only uninterrupted {_rows(cb - ca)}")  # fmt: skip
    return "\n".join(out)


def _rows(rows: Counter) -> str:
    return "; ".join(repr(row)[:300] for row in sorted(rows.elements(), key=repr)[:3])
