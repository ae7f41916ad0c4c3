"""A per-table write lock: a lock file created exclusively, naming the run that holds it.

Two runs writing the same table would interleave files and break the incremental state, so
the second one stops with a message that says who holds the lock. A lock left by a process
that died on this host is taken over (its pid no longer exists).

The exclusive create is the filesystem's own: `O_EXCL` on a local disk, and on S3 a conditional
put (`If-None-Match: *`), which the store refuses with 412 when the key exists, so two workers on
different machines never both hold a table. Taking over a stale lock on S3 is a put with
`If-Match: <etag of the stale lock>` (only one of several contenders replaces that very object),
and a release deletes the lock only while it is still ours (`If-Match` on the delete). Other
remote filesystems (gs://, memory://, ...) get check-then-write: good for one writer at a time only.

On S3 a holder on another machine cannot be checked by its pid, so the lock is a lease
(warehouse/lock_lease.py): the holder refreshes it every lease/3 seconds, a lock left unrefreshed
for a whole lease is taken over whatever host it names, and a holder that finds its lock taken
stops its run from committing anything more. Locks on a local disk have no lease.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import pyarrow.fs as pafs

from corpusforge.warehouse import lock_lease as lease_rules
from corpusforge.warehouse.s3_lock import S3LockFile, s3_client

log = logging.getLogger(__name__)


class TableLockedError(RuntimeError):
    """Another run is writing the table."""


class LockLostError(TableLockedError):
    """This run's lock was taken over (its lease ran out unrefreshed) or replaced: it must not write on."""


def print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LockFile(Protocol):
    """Where a lock lives. `token` names one version of the lock file (an S3 ETag), so that a
    takeover or a release acts on that version only. `leased`: the store can tell how long ago
    the file was written and replace it conditionally, so its holders keep it by a lease."""

    leased: bool

    def create(self, data: bytes) -> str | None:
        """Create the file only if there is none; its token, or None when it exists."""

    def read(self) -> tuple[bytes, str | None, float | None]:
        """The file's bytes, token, and age in seconds by the store's clock (None: not leased);
        (b"", None, None) when there is no file."""

    def replace(self, token: str | None, data: bytes) -> str | None:
        """Replace the version `token` (a stale lock) with `data`; the new token, or None when
        another process changed or removed the file first."""

    def delete(self, token: str | None) -> None:
        """Remove the file if it is still the version `token` (any version for None)."""


class LocalLockFile:
    """A lock file on a local disk (O_EXCL create); a dead holder is told by its pid, no lease."""

    leased = False

    def __init__(self, path: str):
        self.path = path

    def create(self, data: bytes) -> str | None:
        # The holder is written to a file of our own, then hard-linked to the lock's name (an
        # exclusive create, like O_EXCL): the lock never exists empty, so a kill between create
        # and write cannot leave one that no rule can tell stale.
        staged = f"{self.path}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        with open(staged, "wb") as fh:
            fh.write(data)
        try:
            os.link(staged, self.path)
        except FileExistsError:
            return None
        finally:
            os.unlink(staged)
        return "local"

    def read(self) -> tuple[bytes, str | None, float | None]:
        try:
            with open(self.path, "rb") as fh:
                return fh.read(), "local", None
        except OSError:
            return b"", None, None

    def replace(self, token: str | None, data: bytes) -> str | None:
        self.delete(token)
        return self.create(data)

    def delete(self, token: str | None) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class FsLockFile:
    """Check-then-write through a pyarrow filesystem with no exclusive create (best effort)."""

    leased = False

    def __init__(self, fs: pafs.FileSystem, path: str):
        self.fs, self.path = fs, path

    def create(self, data: bytes) -> str | None:
        if self.fs.get_file_info(self.path).type != pafs.FileType.NotFound:
            return None
        with self.fs.open_output_stream(self.path) as fh:
            fh.write(data)
        return "fs"

    def read(self) -> tuple[bytes, str | None, float | None]:
        try:
            with self.fs.open_input_stream(self.path) as fh:
                return fh.read(), "fs", None
        except OSError:
            return b"", None, None

    replace = LocalLockFile.replace  # no version to compare: delete, then an exclusive create

    def delete(self, token: str | None) -> None:
        try:
            self.fs.delete_file(self.path)
        except FileNotFoundError:
            pass


def lock_file_for(fs: pafs.FileSystem, path: str, root_url: str, is_local: bool) -> LockFile:
    """The lock file that gives an exclusive create on this warehouse's storage."""
    if is_local:
        return LocalLockFile(path)
    if isinstance(fs, pafs.S3FileSystem):
        bucket, _, key = path.partition("/")
        return S3LockFile(s3_client(root_url), bucket, key)
    return FsLockFile(fs, path)


class TableLock:
    def __init__(self, lock_file: LockFile, path: str, table: str, run_id: str, wait: float = 0.0):
        self.lock_file, self.path, self.table, self.run_id = lock_file, path, table, run_id
        self.wait = wait  # seconds to wait for another run to finish before giving up
        self.held = False
        self._token: str | None = None  # the version of the lock file we wrote
        # Told once, in one line, when the lock is busy and we wait for its holder.
        self.notify: Callable[[str], None] = print_to_stderr
        # Leased storage (S3): seconds without a refresh after which the lock is anyone's; set
        # before acquiring. Told (once, with why) when another run took the lock from us.
        self.lease = lease_rules.default_lease() if lock_file.leased else 0.0
        self.on_lost: Callable[[str], None] | None = None
        self.lost: str | None = None
        self._since = ""
        self._renewals = 0
        self._mutex = threading.Lock()  # the keeper's refresh vs. a release
        self._keeper: lease_rules.LeaseKeeper | None = None
        self._clock = lease_rules.LeaseClock()

    def _holder_bytes(self) -> bytes:
        payload = {"run_id": self.run_id, "pid": os.getpid(), "host": socket.gethostname(), "since": self._since}
        if self.lock_file.leased:
            # Every refresh writes different bytes, hence a new ETag: a contender's If-Match on the
            # version it judged expired then fails against a lock refreshed meanwhile.
            now = datetime.now(UTC).isoformat(timespec="seconds")
            payload.update(lease=self.lease, renewals=self._renewals, renewed_at=now)
        return json.dumps(payload).encode()

    def _read_holder(self) -> tuple[dict, str | None, float | None]:
        data, token, age = self.lock_file.read()
        try:
            return json.loads(data.decode() or "{}"), token, age
        except ValueError:
            return {}, token, age

    def _is_stale(self, holder: dict, age: float | None) -> bool:
        """Its holder is gone: a dead pid of this host, or (leased storage) no refresh for a
        whole lease, whatever host it names."""
        pid = int(holder.get("pid", 0) or 0)
        if holder and holder.get("host") == socket.gethostname() and not _pid_alive(pid):
            return True
        return age is not None and lease_rules.expired(age, lease_rules.lease_of(holder, self.lease))

    def acquire(self) -> TableLock:
        deadline = time.monotonic() + self.wait
        told = False
        while True:
            try:
                return self._acquire_once()
            except TableLockedError:
                if time.monotonic() >= deadline:
                    raise
                if not told:
                    told = True
                    self.notify(self._waiting_line())
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def _waiting_line(self) -> str:
        holder, _, _ = self._read_holder()
        return (
            f"waiting for run {holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}) "
            f"to finish writing table '{self.table}' (up to {self.wait:g}s)"
        )

    def _took(self, token: str | None, sent_at: float) -> bool:
        if token is None:
            return False
        self.held, self._token, self.lost = True, token, None
        if self.lock_file.leased:
            self._clock.renewed(sent_at)
            lease_rules.register(self.run_id, self)
            self._keeper = lease_rules.LeaseKeeper(self._renew, self.lease / 3, f"lease {self.table}")
        return True

    def _acquire_once(self) -> TableLock:
        self._since = datetime.now(UTC).isoformat(timespec="seconds")
        data = self._holder_bytes()
        sent_at = time.monotonic()
        if self._took(self.lock_file.create(data), sent_at):
            return self
        holder, token, age = self._read_holder()
        if self._is_stale(holder, age):
            sent_at = time.monotonic()
            if self._took(self.lock_file.replace(token, data), sent_at):
                return self
            holder, _, age = self._read_holder()
        raise TableLockedError(self._busy_line(holder, age))

    def _busy_line(self, holder: dict, age: float | None) -> str:
        line = (
            f"table '{self.table}' is being written by run {holder.get('run_id', '?')} "
            f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('since', '?')}); "
        )
        if age is None:
            return line + f"wait for it to finish, or delete {self.path} if that run is dead"
        lease = lease_rules.lease_of(holder, self.lease)
        left = math.ceil(max(0.0, lease + lease_rules.TIMESTAMP_RESOLUTION - age))
        return (
            line + f"wait for it to finish (if that run is dead, the lock is free when its {lease:g}s lease runs out, "
            f"in {left}s)"
        )

    # ---- the lease (leased storage only) ------------------------------------------------------
    def _renew(self) -> bool:
        """Refresh the lock (If-Match on our last version); False once it turns out to be lost."""
        with self._mutex:
            if self.lost is not None or self._token is None:
                return False
            self._renewals += 1
            sent_at = time.monotonic()
            try:
                token = self.lock_file.replace(self._token, self._holder_bytes())
            except Exception as exc:  # the store unreachable: retried next time, the lease has margin
                log.warning("could not refresh the lock on table %s (%s); retrying", self.table, exc)
                return True
            if token is None:
                self._mark_lost()
                return False
            self._token = token
            self._clock.renewed(sent_at)
            return True

    def _mark_lost(self) -> None:
        holder, _, _ = self._read_holder()
        taker = (
            f"run {holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}) took it over"
            if holder
            else "its lock file was deleted"
        )
        self.held = False
        self.lost = (
            f"run {self.run_id} lost its lock on table '{self.table}': {taker} before this run refreshed it "
            f"(due every {self.lease / 3:.3g}s, lease {self.lease:g}s); this run writes nothing more to it"
        )
        log.error(self.lost)
        print_to_stderr(f"error: {self.lost}")
        if self.on_lost is not None:
            try:
                self.on_lost(f"losing its lock on table '{self.table}'")  # "clean stopped by losing ..."
            except Exception:  # the keeper thread must not die of a callback
                log.exception("on_lost of table %s failed", self.table)

    def ensure_held(self) -> None:
        """Raise LockLostError if the lock was taken from us; a holder whose refresh is overdue
        (its process stalled) refreshes first, so a commit never trusts a stale lease."""
        if self.lost is None and self._keeper is not None and self._clock.since() > self.lease * 2 / 3:
            self._renew()
        if self.lost is not None:
            raise LockLostError(self.lost)

    def _stop_keeper(self) -> None:
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.stop()

    def release(self) -> None:
        self._stop_keeper()
        with self._mutex:
            if self.held:
                self.lock_file.delete(self._token)
                self.held = False
        if self.lost is None:  # a lost lock stays registered: its run's later commits are refused
            lease_rules.unregister(self.run_id, self)

    def abandon(self) -> None:
        """Stop holding the lock without deleting its file: used when work under it may still be
        writing. The file names this process, so another run takes it over once we are gone (on
        leased storage the lease is still refreshed while this process lives, as the pid is
        alive on a local disk)."""
        self.held = False

    def __enter__(self) -> TableLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
