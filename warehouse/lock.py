"""A per-table write lock: a lock file created exclusively, naming the run that holds it.

Two runs writing the same table would interleave files and break the incremental state, so
the second one stops with a message that says who holds the lock. A lock left by a process
that died on this host is taken over (its pid no longer exists).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow.fs as pafs


class TableLockedError(RuntimeError):
    """Another run is writing the table."""


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


class TableLock:
    def __init__(self, fs: pafs.FileSystem, path: str, table: str, run_id: str, is_local: bool, wait: float = 0.0):
        self.fs, self.path, self.table, self.run_id, self.is_local = fs, path, table, run_id, is_local
        self.wait = wait  # seconds to wait for another run to finish before giving up
        self.held = False
        # Told once, in one line, when the lock is busy and we wait for its holder.
        self.notify: Callable[[str], None] = print_to_stderr

    def _holder_info(self) -> dict:
        payload = {
            "run_id": self.run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return payload

    def _read_holder(self) -> dict:
        try:
            with self.fs.open_input_stream(self.path) as fh:
                return json.loads(fh.read().decode() or "{}")
        except (OSError, ValueError):
            return {}

    def _is_stale(self, holder: dict) -> bool:
        return holder.get("host") == socket.gethostname() and not _pid_alive(int(holder.get("pid", 0) or 0))

    def _try_create(self) -> bool:
        data = json.dumps(self._holder_info()).encode()
        if self.is_local:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return True
        # Object stores have no exclusive create: check, then write (best effort).
        if self.fs.get_file_info(self.path).type != pafs.FileType.NotFound:
            return False
        with self.fs.open_output_stream(self.path) as fh:
            fh.write(data)
        return True

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
        holder = self._read_holder()
        return (
            f"waiting for run {holder.get('run_id', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}) "
            f"to finish writing table '{self.table}' (up to {self.wait:g}s)"
        )

    def _acquire_once(self) -> TableLock:
        if self._try_create():
            self.held = True
            return self
        holder = self._read_holder()
        if holder and self._is_stale(holder):
            self.fs.delete_file(self.path)
            if self._try_create():
                self.held = True
                return self
            holder = self._read_holder()
        raise TableLockedError(
            f"table '{self.table}' is being written by run {holder.get('run_id', '?')} "
            f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('since', '?')}); "
            f"wait for it to finish, or delete {self.path} if that run is dead"
        )

    def release(self) -> None:
        if self.held:
            try:
                self.fs.delete_file(self.path)
            except FileNotFoundError:
                pass
            self.held = False

    def abandon(self) -> None:
        """Stop holding the lock without deleting its file: used when work under it may still be
        writing. The file names this process, so another run takes it over once we are gone."""
        self.held = False

    def __enter__(self) -> TableLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
