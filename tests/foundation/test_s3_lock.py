"""Table locks on an s3:// warehouse hold across processes (as on separate machines): the lock is
an S3 conditional put, so of several processes exactly one holds it, the others fail or wait as
on a local disk, and a lock left by a dead process of this host is taken over."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from corpusforge.warehouse import TableLockedError, Warehouse
from tests.conftest import S3_BUCKET, s3_url

# Takes the lock, says so, holds it until a line comes on stdin (or `hold` seconds), releases.
HOLDER = """
import sys, time
from corpusforge.warehouse import TableLockedError, Warehouse
url, run_id, start, hold = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
wh = Warehouse(url)
time.sleep(max(0.0, start - time.time()))
try:
    lock = wh.lock("documents", run_id).acquire()
except TableLockedError:
    print("lost", flush=True)
    sys.exit(0)
print("held", flush=True)
if hold < 0:
    sys.exit(0)  # dies holding the lock
import select
select.select([sys.stdin], [], [], hold)
lock.release()
print("released", flush=True)
"""


def _holder(url: str, run_id: str, start: float = 0.0, hold: float = 60.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, run_id, str(start), str(hold)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture()
def s3_wh(s3_endpoint, request):
    wh = Warehouse(s3_url(s3_endpoint, f"locks-{request.node.name}"))
    wh.init(["documents"])
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


def test_a_dead_holder_on_this_host_is_taken_over_one_on_another_host_is_not(s3_wh):
    dead = _holder(s3_wh.root_url, "dead-run", hold=-1)
    assert dead.stdout.readline().strip() == "held"
    dead.wait(30)
    with s3_wh.lock("documents", "alive-run") as lock:  # its pid no longer exists here
        assert lock.held
        with pytest.raises(TableLockedError, match="run alive-run"):
            s3_wh.lock("documents", "third-run").acquire()

    # A holder on another machine cannot be checked from here: its lock stays, as on a shared disk.
    key = f"{s3_wh.table_dir('documents')}/_lock"
    with s3_wh.fs.open_output_stream(key) as fh:
        fh.write(json.dumps({"run_id": "remote-run", "pid": 1, "host": "another-machine"}).encode())
    with pytest.raises(TableLockedError, match=rf"run remote-run \(pid 1 on another-machine.*delete {S3_BUCKET}/"):
        s3_wh.lock("documents", "local-run").acquire()
