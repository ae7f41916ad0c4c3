"""One source's crawl in a process of its own, which imports no Prefect.

The crawl flow (flows/crawl.py) runs a task per source; the task starts
`python -m corpusforge.flows.crawl_worker` and waits for it. The crawling process then holds only
the crawler, its state and the Parquet writer (about half the memory of a process that also holds
Prefect and the flow run), and the flow's process stays free for Prefect's own work.

The two talk over pipes, one line per message:

* to the worker (stdin): the job (a base64 pickle: warehouse root, settings, source, fetch policy,
  WARC part path, and the crawl job with what the warehouse knows of the source, which the flow's
  process reads with DuckDB so that the crawling process never imports it), then `stop <reason>`
  when the flow is asked to stop (SIGTERM / SIGINT reach the flow's process; the worker ignores
  SIGINT so that a Ctrl-C on the terminal stops it the same graceful way). End of input means the
  flow's process died (kill -9): the worker ends at once, as if it had been killed with it, so it
  never writes beside a later run.
* from the worker (its stdout, the crawl's own output going to stderr): JSON lines
  `{"progress": [done, discovered]}`, then one of `{"result": {...}}`, `{"stopped": message}`,
  `{"error": line, "io": bool}`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from corpusforge.connectors.crawler import CrawlJob, CrawlStopped, StopSignal, follows_links, read_source
from corpusforge.connectors.fetcher import FetchPolicy
from corpusforge.connectors.warc import WarcOut
from corpusforge.schemas.config import Settings, SourceConfig
from corpusforge.warehouse import Warehouse, new_run_id
from corpusforge.warehouse.crawl_state import (
    PageBatchWriter,
    interrupted_run,
    load_crawl_state,
    load_links,
    mark_run,
    urls_done_in_run,
)
from corpusforge.warehouse.shutdown import StopToken  # no Prefect there: the worker stays light

PROGRESS_EVERY_S = 0.1  # the worker reports progress at most this often (and once at the end)


def is_io_failure(exc: BaseException) -> bool:
    """I/O trouble (network, disk), worth another try; a bug would fail the same way again."""
    return isinstance(exc, OSError | httpx.TransportError)


def start_crawl(wh: Warehouse, source: SourceConfig) -> tuple[CrawlJob, bool]:
    """The source's crawl job, with what the warehouse knows of it (read with DuckDB), and whether
    it resumes an interrupted run. A run of this source that started and never completed is
    resumed under its own run id: the URLs it already wrote are not fetched again, only their
    stored links are followed. A new run is marked started."""
    resumed_run = interrupted_run(wh, source.name)
    run_id = resumed_run or new_run_id("crawl")
    if resumed_run is None:
        mark_run(wh, run_id, source.name, "started")
    job = CrawlJob(
        source=source,
        run_id=run_id,
        state=load_crawl_state(wh, source.name),
        known_links=load_links(wh, source.name) if follows_links(source) else {},
        done=urls_done_in_run(wh, source.name, resumed_run) if resumed_run else {},
    )
    return job, resumed_run is not None


def crawl_source_here(
    wh: Warehouse,
    settings: Settings,
    source: SourceConfig,
    policy: FetchPolicy,
    warc: WarcOut | None = None,
    progress=None,
    stop: StopSignal | None = None,
    started: tuple[CrawlJob, bool] | None = None,
) -> dict:
    """Crawl one source into the warehouse in this process (the flow holds the crawl locks);
    returns its counts. `progress(done, discovered)` is called as the crawl goes. `started` is
    what `start_crawl` returned, when the caller read it (else it is read here)."""
    job, resumed = started or start_crawl(wh, source)
    run_id = job.run_id
    crawl = settings.crawl
    with PageBatchWriter(wh, run_id, crawl.flush_rows, crawl.flush_seconds) as sink:

        def emit(outcome) -> None:
            sink.add(outcome.page, outcome.links, outcome.tombstone)

        report = read_source(job, policy, emit, progress, warc, stop)
    counts = {k: int(v) for k, v in report.counts.items()}
    mark_run(wh, run_id, source.name, "completed", counts)
    return {
        "source": source.name,
        "run_id": run_id,
        "resumed": resumed,
        "counts": counts,
        "reasons": dict(report.reasons),
        "skipped_by_robots": report.skipped_by_robots,
    }


# -- the flow's side -------------------------------------------------------------------------------
class CrawlWorkerError(RuntimeError):
    """The worker's crawl failed (its one-line error), or the worker died without an answer."""


class CrawlWorkerIOError(CrawlWorkerError, OSError):
    """The worker's crawl failed for I/O trouble (network, disk): the flow's task may retry it."""


def warc_part_path(warc: WarcOut, source: SourceConfig) -> Path:
    """Where a worker writes its WARC records; the flow appends them to the shared WARC file (WARC
    records concatenate, gzipped or not). Same suffix, so the same compression."""
    return warc.path.with_name(f".{warc.path.name}.{source.name}.{os.getpid()}.part{warc.path.suffix}")


def crawl_in_worker(
    wh: Warehouse,
    settings: Settings,
    source: SourceConfig,
    policy: FetchPolicy,
    warc: WarcOut | None = None,
    progress=None,
    stop: StopSignal | None = None,
) -> dict:
    """Run crawl_source_here in a worker process; its result, or its error raised here."""
    part = warc_part_path(warc, source) if warc is not None else None
    # The crawl state is read here, so the crawling process never imports DuckDB (45 MB resident).
    job = {"root": wh.root_url, "settings": settings, "source": source, "policy": policy, "warc": part,
           "started": start_crawl(wh, source)}  # fmt: skip
    job_line = base64.b64encode(pickle.dumps(job)).decode() + "\n"
    del job  # the state goes to the worker: this process does not keep a copy for the crawl's length
    # Arrow's default pool (mimalloc) keeps what the small Parquet batches freed; malloc gives it back.
    env = {"ARROW_DEFAULT_MEMORY_POOL": "system", **os.environ}
    proc = subprocess.Popen(
        [sys.executable, "-m", "corpusforge.flows.crawl_worker"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    final: dict = {}
    try:
        proc.stdin.write(job_line)
        proc.stdin.flush()
        del job_line
        final = _follow(proc, source, progress, stop)
    finally:
        if proc.poll() is None and not final:  # this thread was interrupted: the worker must not outlive it
            proc.kill()
        proc.wait()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        if part is not None and part.exists():
            warc.append_part(part, final.get("warc_records", 0))
    return _answer(final, source, proc.returncode)


def _follow(proc: subprocess.Popen, source: SourceConfig, progress, stop: StopSignal | None) -> dict:
    """Pass progress on and a stop request down until the worker's last message."""
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=lambda: [*map(lines.put, proc.stdout), lines.put(None)], daemon=True)
    reader.start()
    stop_sent = False
    while True:
        if stop is not None and stop.is_set() and not stop_sent:
            stop_sent = True
            with contextlib.suppress(OSError):  # the worker may have just ended
                proc.stdin.write(f"stop {getattr(stop, 'reason', None) or 'a stop request'}\n")
                proc.stdin.flush()
        try:
            line = lines.get(timeout=0.05)
        except queue.Empty:
            continue
        if line is None:
            return {}
        message = json.loads(line)
        if "progress" not in message:
            return message
        if progress is not None:
            done, discovered = message["progress"]
            progress.update(f"crawl {source.name}", completed=done, total=discovered)


def _answer(final: dict, source: SourceConfig, returncode: int | None) -> dict:
    if "result" in final:
        return final["result"]
    if "stopped" in final:
        raise CrawlStopped(final["stopped"])
    if "error" in final:
        raise (CrawlWorkerIOError if final.get("io") else CrawlWorkerError)(final["error"])
    raise CrawlWorkerError(f"the crawl worker of source '{source.name}' died (exit code {returncode})")


# -- the worker's side ------------------------------------------------------------------------------
def _listen(stop: StopToken) -> None:
    """Stop requests from the flow; the end of input means the flow's process is gone."""
    for line in sys.stdin:
        if line.startswith("stop"):
            stop.request(line[4:].strip() or "a stop request")
    os._exit(1)  # as if killed with it: no further write


class _ProgressReporter:
    """The crawl's progress calls, passed on at most every PROGRESS_EVERY_S (and the last one at the end)."""

    def __init__(self, send) -> None:
        self.send, self.last_sent, self.latest = send, 0.0, None

    def __call__(self, done: int, discovered: int) -> None:
        self.latest = [done, discovered]
        now = time.monotonic()
        if now - self.last_sent >= PROGRESS_EVERY_S:
            self.last_sent = now
            self.send({"progress": self.latest})

    def finish(self) -> None:
        if self.latest is not None:
            self.send({"progress": self.latest})


def _error_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _NoPandas:
    """Refuses `import pandas` in the worker: pyarrow imports it (about 45 MB) only to look for pandas
    metadata when a Parquet file is written, and does without when pandas is missing."""

    def find_spec(self, name: str, path=None, target=None):
        if name == "pandas":
            raise ModuleNotFoundError("the crawl worker does without pandas", name="pandas")
        return None


def worker_main() -> None:
    sys.meta_path.insert(0, _NoPandas())
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the crawl prints goes to stderr, not into the messages
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the flow, which sends "stop"
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        with lock:
            out.write(json.dumps(message) + "\n")

    job = pickle.loads(base64.b64decode(sys.stdin.readline()))
    stop = StopToken()
    signal.signal(signal.SIGTERM, lambda *_: stop.request("SIGTERM"))
    threading.Thread(target=_listen, args=(stop,), daemon=True).start()
    wh = Warehouse(job["root"])
    source: SourceConfig = job["source"]
    report = _ProgressReporter(send)
    warc = WarcOut(job["warc"]) if job["warc"] else None
    try:
        result = crawl_source_here(wh, job["settings"], source, job["policy"], warc, report, stop, job["started"])
        final = {"result": result}
    except CrawlStopped as exc:
        final = {"stopped": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the flow names it in its summary; --debug shows it here
        final = {"error": _error_line(exc), "io": is_io_failure(exc)}
        if os.environ.get("CORPUSFORGE_DEBUG"):
            import traceback

            traceback.print_exc()
    if warc is not None:
        warc.close()
        final["warc_records"] = warc.records
    report.finish()
    send(final)
    out.flush()
    os._exit(0)  # the listener thread still waits on stdin


if __name__ == "__main__":
    worker_main()
