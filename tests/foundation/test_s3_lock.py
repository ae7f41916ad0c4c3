"""Table locks on an s3:// warehouse hold across processes (as on separate machines): the lock is
an S3 conditional put, so of several processes exactly one holds it, the others fail or wait as
on a local disk. A lock left by a dead process of this host is taken over at once; one whose
holder (on any machine) stopped refreshing it for its lease is taken over then, and that holder,
should it wake, notices and commits nothing more."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest

from corpusforge.warehouse import TableLockedError, Warehouse
from tests.conftest import s3_url

# Takes the lock, says so, then on each line from stdin: "write" commits a tombstone row (prints
# "wrote" or "refused: <why>"), anything else (or `hold` seconds) releases. Lease from the env.
HOLDER = """
import sys, time, select
from datetime import datetime, UTC
from corpusforge.warehouse import TableLockedError, Warehouse
url, run_id, start, hold, table = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
wh = Warehouse(url)
time.sleep(max(0.0, start - time.time()))
try:
    lock = wh.lock(table, run_id).acquire()
except TableLockedError:
    print("lost", flush=True)
    sys.exit(0)
print("held", flush=True)
if hold < 0:
    sys.exit(0)  # dies holding the lock
while select.select([sys.stdin], [], [], hold)[0] and sys.stdin.readline().strip() == "write":
    row = {"doc_id": "d1", "reason": "gone", "created_at": datetime.now(UTC), "run_id": run_id}
    try:
        wh.write("tombstones", [row], run_id)
        print("wrote", flush=True)
    except TableLockedError as exc:
        print("refused:", exc, flush=True)
lock.release()
print("released", flush=True)
"""


def _holder(url: str, run_id: str, start: float = 0.0, hold: float = 60.0, table: str = "documents",
            lease: float | None = None) -> subprocess.Popen:  # fmt: skip
    env = {**os.environ, **({"CORPUSFORGE_LOCK_LEASE": str(lease)} if lease else {})}
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, run_id, str(start), str(hold), table],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _say(proc: subprocess.Popen, line: str) -> str:
    proc.stdin.write(f"{line}\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


@pytest.fixture()
def s3_wh(s3_endpoint, request):
    wh = Warehouse(s3_url(s3_endpoint, f"locks-{request.node.name}"))
    wh.init(["documents", "tombstones"])
    return wh


def test_a_second_process_fails_or_waits_as_on_a_local_disk(s3_wh):
    holder = _holder(s3_wh.root_url, "run-one")
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TableLockedError, match=rf"being written by run run-one \(pid {holder.pid}"):
            s3_wh.lock("documents", "run-two").acquire()
        with pytest.raises(TableLockedError):
            s3_wh.lock("documents", "run-two", wait=1.0).acquire()  # waits, then the same error

        waiting = s3_wh.lock("documents", "run-three", wait=60)
        told: list[str] = []
        waiting.notify = told.append
        threading.Timer(1.0, lambda: (holder.stdin.write("go\n"), holder.stdin.flush())).start()
        started = time.monotonic()
        with waiting:
            assert waiting.held and time.monotonic() - started >= 0.9
            assert holder.stdout.readline().strip() == "released"
        assert told and "waiting for run run-one" in told[0]
    finally:
        holder.kill()
        holder.wait()
    with s3_wh.lock("documents", "run-four") as lock:  # released: the next run takes it at once
        assert lock.held


def test_of_processes_starting_at_once_exactly_one_holds_the_lock(s3_wh):
    start = time.time() + 3.0  # every process imported and waiting before the same instant
    procs = [_holder(s3_wh.root_url, f"run-{i}", start=start) for i in range(3)]
    try:
        outcomes = [p.stdout.readline().strip() for p in procs]
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(30)
    assert sorted(outcomes) == ["held", "lost", "lost"]


def test_a_dead_holder_on_this_host_is_taken_over_at_once(s3_wh):
    dead = _holder(s3_wh.root_url, "dead-run", hold=-1)
    assert dead.stdout.readline().strip() == "held"
    dead.wait(30)
    with s3_wh.lock("documents", "alive-run") as lock:  # its pid no longer exists here
        assert lock.held
        with pytest.raises(TableLockedError, match="run alive-run"):
            s3_wh.lock("documents", "third-run").acquire()


def test_a_holder_on_another_machine_is_trusted_until_its_lease_runs_out_unrefreshed(s3_wh):
    """Its pid cannot be checked from here: a lock nobody refreshed for its holder's lease is
    taken over (by the store's clock: LastModified against the response's Date)."""
    key = f"{s3_wh.table_dir('documents')}/_lock"
    remote = {"run_id": "remote-run", "pid": 1, "host": "another-machine", "since": "2020-01-01T00:00:00+00:00"}
    with s3_wh.fs.open_output_stream(key) as fh:
        fh.write(json.dumps({**remote, "lease": 0.5}).encode())
    expiring = r"run remote-run \(pid 1 on another-machine.*when its 0.5s lease runs out, in [12]s\)$"
    with pytest.raises(TableLockedError, match=expiring):
        s3_wh.lock("documents", "local-run").acquire()

    taker = s3_wh.lock("documents", "local-run", wait=15)
    told: list[str] = []
    taker.notify = told.append
    started = time.monotonic()
    with taker:
        assert taker.held and time.monotonic() - started >= 0.9 and "waiting for run remote-run" in told[0]
        with s3_wh.fs.open_input_stream(key) as fh:
            mine = json.loads(fh.read())
        assert mine["run_id"] == "local-run" and mine["lease"] == taker.lease == 60.0  # the default lease

    # A lock that declares no lease is judged by the contender's own (60 s by default).
    with s3_wh.fs.open_output_stream(key) as fh:
        fh.write(json.dumps(remote).encode())
    with pytest.raises(TableLockedError, match=r"when its 60s lease runs out, in 6[01]s\)$"):
        s3_wh.lock("documents", "local-run").acquire()


def test_a_live_holder_on_any_machine_keeps_its_lock_past_its_lease(s3_wh):
    holder = s3_wh.lock("documents", "live-run")
    holder.lease = 1.5  # refreshed every 0.5 s by its keeper thread
    with holder:
        time.sleep(2.7)  # past the lease and the timestamps' second: only the refreshes keep the lock
        with pytest.raises(TableLockedError, match="being written by run live-run"):
            s3_wh.lock("documents", "other-run").acquire()
        assert holder.held and holder.lost is None


def test_a_holder_whose_lock_was_taken_over_notices_and_commits_nothing_more(s3_wh):
    holder = _holder(s3_wh.root_url, "stalled-run", table="tombstones", lease=0.6)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert _say(holder, "write") == "wrote"
        os.kill(holder.pid, signal.SIGSTOP)  # stalled (a long pause, a network partition): no refresh
        try:
            taker = s3_wh.lock("tombstones", "taker-run", wait=15)
            taker.notify = lambda line: None
            taker.acquire()
        finally:
            os.kill(holder.pid, signal.SIGCONT)
        refused = _say(holder, "write")
        assert refused.startswith("refused: run stalled-run lost its lock on table 'tombstones': run taker-run (pid ")
        assert _say(holder, "release") == "released"
        assert "error: run stalled-run lost its lock on table 'tombstones'" in holder.communicate(timeout=30)[1]
        # The taker's lock stands (the loser's release deleted nothing) and holds one row only.
        with pytest.raises(TableLockedError, match="being written by run taker-run"):
            s3_wh.lock("tombstones", "third-run").acquire()
        assert s3_wh.read("tombstones").column("run_id").to_pylist() == ["stalled-run"]
        taker.release()
    finally:
        holder.kill()
        holder.wait()


def test_a_guarded_run_whose_lock_is_replaced_is_asked_to_stop(s3_wh, monkeypatch, capsys):
    """The stages' lock holder (warehouse.shutdown.guarded_locks): losing the lock sets the run's
    stop token, as SIGTERM does, and the run's next commit is refused."""
    from corpusforge.warehouse.lock import LockLostError
    from corpusforge.warehouse.shutdown import guarded_locks

    monkeypatch.setenv("CORPUSFORGE_LOCK_LEASE", "1.5")
    key = f"{s3_wh.table_dir('tombstones')}/_lock"
    row = {"doc_id": "d1", "reason": "gone", "created_at": datetime.now(UTC)}
    with guarded_locks(s3_wh, ["tombstones"], "guarded-run") as guard:
        assert s3_wh.write("tombstones", [row], "guarded-run")
        with s3_wh.fs.open_output_stream(key) as fh:  # replaced under it (another run, or a person)
            fh.write(json.dumps({"run_id": "other-run", "pid": 7, "host": "elsewhere"}).encode())
        assert guard.stop.wait(5) and guard.stop.reason == "losing its lock on table 'tombstones'"
        lost = r"run guarded-run lost its lock on table 'tombstones': run other-run \(pid 7 on elsewhere\) took it over"
        with pytest.raises(LockLostError, match=lost):
            s3_wh.write("tombstones", [row], "guarded-run")
    assert "error: run guarded-run lost its lock" in capsys.readouterr().err
    with s3_wh.fs.open_input_stream(key) as fh:  # leaving the block deleted nobody else's lock
        assert json.loads(fh.read())["run_id"] == "other-run"
    assert s3_wh.read("tombstones").num_rows == 1


def test_a_lease_that_is_not_a_number_of_seconds_is_a_one_line_error(s3_wh, monkeypatch):
    monkeypatch.setenv("CORPUSFORGE_LOCK_LEASE", "a minute")
    with pytest.raises(ValueError, match="CORPUSFORGE_LOCK_LEASE='a minute' is not a number of seconds above 0"):
        s3_wh.lock("documents", "run")
