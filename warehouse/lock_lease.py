"""Leases for table locks on object storage, where a dead holder on another machine cannot be seen.

A holder on S3 refreshes its lock object every lease/3 seconds (a put with `If-Match` on the ETag
of its own last write), so a lock that nobody refreshed for a whole lease belongs to a process
that is gone, hung or cut off, whatever host it names: the next run takes it over (an `If-Match`
put on the ETag it read, see warehouse/lock.py). The age of the lock is the server's own: its
`Date` header minus the object's `LastModified`, both from the store's clock, so the clocks of
the machines involved never enter into it.

A holder whose refresh is refused has lost its lock to such a takeover. It says so loudly, asks
its run to stop (`TableLock.on_lost`, wired to the run's StopToken by warehouse/shutdown.py), and
every later commit of that run raises LockLostError (`raise_if_lost`, called by the warehouse
before a file is made visible), so a run that lost its table writes nothing more into it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger("corpusforge.warehouse.lock")

LEASE_ENV = "CORPUSFORGE_LOCK_LEASE"
DEFAULT_LEASE_SECONDS = 60.0


def default_lease() -> float:
    """The lease a holder takes: $CORPUSFORGE_LOCK_LEASE seconds, else 60. The holder writes it
    into the lock, so contenders judge each lock by its own holder's lease."""
    raw = os.environ.get(LEASE_ENV, "").strip()
    if not raw:
        return DEFAULT_LEASE_SECONDS
    try:
        lease = float(raw)
    except ValueError:
        lease = 0.0
    if not lease > 0:
        raise ValueError(f"{LEASE_ENV}={raw!r} is not a number of seconds above 0")
    return lease


# S3 stamps Date and Last-Modified to the second, so an age from them is off by up to 1 s either way.
TIMESTAMP_RESOLUTION = 1.0


def expired(age: float, lease: float) -> bool:
    """A lock `age` seconds old (by the store's second-stamped clock) is surely past its lease."""
    return age >= lease + TIMESTAMP_RESOLUTION


def lease_of(holder: dict, fallback: float) -> float:
    """The lease a lock's holder declared (the contender's own for a lock that names none)."""
    try:
        lease = float(holder.get("lease") or 0)
    except (TypeError, ValueError):
        lease = 0.0
    return lease if lease > 0 else fallback


class LeaseKeeper:
    """A daemon thread calling `renew()` every `interval` seconds until it returns False (the
    lock is lost) or `stop()` is called."""

    def __init__(self, renew: Callable[[], bool], interval: float, name: str):
        self._renew, self.interval = renew, interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            if not self._renew():
                return

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)  # a refresh in flight finishes (its put has its own timeouts)


class LeaseClock:
    """When the holder last refreshed its lock, on this process's monotonic clock: the moment the
    write was *sent* (the store stamps it later, so the lease runs at least that long from then).
    A reply that arrives late, say after the process was stopped, then counts as old as it is."""

    def __init__(self) -> None:
        self.renewed_at = time.monotonic()

    def renewed(self, sent_at: float) -> None:
        self.renewed_at = sent_at

    def since(self) -> float:
        return time.monotonic() - self.renewed_at


# ---- runs that lost a lock ------------------------------------------------------------------
_MUTEX = threading.Lock()
_LEASED: dict[str, list] = {}  # run_id -> the leased TableLocks it holds (or lost) in this process


def _forget_in_child() -> None:
    """A forked child holds none of its parent's locks (their keepers did not follow it): it must
    neither check nor refresh them, which would rewrite the lock under its parent."""
    global _MUTEX
    _MUTEX = threading.Lock()  # another thread may have held it at the fork
    _LEASED.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def register(run_id: str, lock) -> None:
    with _MUTEX:
        _LEASED.setdefault(run_id, []).append(lock)


def unregister(run_id: str, lock) -> None:
    with _MUTEX:
        held = _LEASED.get(run_id, [])
        if lock in held:
            held.remove(lock)
        if not held:
            _LEASED.pop(run_id, None)


def raise_if_lost(run_id: str) -> None:
    """Raise LockLostError when a lock of this run was taken over: called before each commit.
    A holder whose refresh is overdue (its process was stalled) checks the lock first."""
    with _MUTEX:
        locks = list(_LEASED.get(run_id, ()))
    for lock in locks:
        lock.ensure_held()
