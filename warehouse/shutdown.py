"""Graceful stop: SIGTERM / SIGINT stop new work, what was fetched or cleaned is flushed, and the
write locks are released only once the work has stopped.

The pieces, wired by a stage:

    with guarded_locks(wh, tables, run_id, wait) as guard:      # locks + signal handlers
        with guard.working():                                    # in the thread doing the work
            crawl_urls(..., stop=guard.stop)                     # polls guard.stop, raises CrawlStopped

The first signal sets `guard.stop` (the work notices within a fraction of a second, flushes and
raises); a second one raises KeyboardInterrupt at once. Whatever way the block is left (normal
end, exception, Prefect's own termination), the locks wait for the registered work to finish,
for at most `grace` seconds, and are kept (naming this process, so the next run takes them over
once it is gone) rather than released under work that is still writing.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterable, Iterator

from corpusforge.warehouse.lock import TableLock

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
DEFAULT_GRACE_SECONDS = 8.0  # under the 10 s a supervisor usually waits between SIGTERM and SIGKILL


class StopToken(threading.Event):
    """A stop request, with what asked for it (`reason`, e.g. "SIGTERM"); thread-safe."""

    def __init__(self) -> None:
        super().__init__()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        if not self.is_set():
            self.reason = reason
            self.set()


class WorkTracker:
    """Counts the work in progress, so that locks can wait for it to end."""

    def __init__(self) -> None:
        self._active = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @property
    def busy(self) -> bool:
        return self._active > 0

    def wait_idle(self, timeout: float) -> bool:
        """True once no work runs; False if some still runs after `timeout` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._active == 0, timeout=timeout)


class RunGuard:
    """What a stage's work needs to stop in time: the stop token and the work tracker."""

    def __init__(self, grace: float = DEFAULT_GRACE_SECONDS):
        self.stop = StopToken()
        self.work = WorkTracker()
        self.grace = grace

    def working(self) -> contextlib.AbstractContextManager[None]:
        return self.work.running()

    def wind_down(self) -> bool:
        """Ask running work to stop and wait for it; True when nothing runs any more."""
        if not self.work.busy:
            return True
        self.stop.request(self.stop.reason or "the run ending")
        started = time.monotonic()
        idle = self.work.wait_idle(self.grace)
        if not idle:
            log.warning("work still running %.0fs after the stop request; the locks stay held", self.grace)
        else:
            log.info("work stopped %.1fs after the stop request", time.monotonic() - started)
        return idle


@contextlib.contextmanager
def stop_on_signals(guard: RunGuard, signals: Iterable[signal.Signals] = STOP_SIGNALS) -> Iterator[None]:
    """While the block runs (main thread only: Python delivers signals there), the first signal
    sets guard.stop; a second one, or the first when no work is registered to notice the token,
    raises KeyboardInterrupt so the process stops anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:
        name = signal.Signals(signum).name
        if guard.stop.is_set() or not guard.work.busy:
            raise KeyboardInterrupt(f"{name}: stopping now")
        guard.stop.request(name)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def guarded_locks(wh, tables: Iterable[str], run_id: str, wait: float = 0.0,
                  grace: float = DEFAULT_GRACE_SECONDS, notify=None) -> Iterator[RunGuard]:  # fmt: skip
    """The write locks of `tables`, with stop signals handled, released only after the work
    registered with the guard has stopped (see the module docstring)."""
    guard = RunGuard(grace)
    locks: list[TableLock] = []
    try:
        for table in tables:
            lock = wh.lock(table, run_id, wait=wait)
            if notify is not None:
                lock.notify = notify
            lock.on_lost = guard.stop.request  # a lock taken over (its lease ran out) stops the run
            locks.append(lock.acquire())
        with stop_on_signals(guard):
            yield guard
    finally:
        stopped = guard.wind_down()
        for lock in reversed(locks):
            lock.release() if stopped else lock.abandon()
