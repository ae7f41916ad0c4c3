"""Crawl state in the warehouse: what each URL answered last time, where an interrupted crawl
stopped, and a writer that makes fetched pages durable in small batches.

The state is not a separate store that could drift from the data: it is a view over the pages
table itself (`crawl_state`), so whatever pages hold is what the next crawl knows.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.fs as pafs

from corpusforge.warehouse.catalog import register_view
from corpusforge.warehouse.lazy_duckdb import duckdb
from corpusforge.warehouse.lock import TableLock, lock_file_for
from corpusforge.warehouse.shutdown import DEFAULT_GRACE_SECONDS, guarded_locks
from corpusforge.warehouse.store import Warehouse, utc_now

# Latest row per (source, url) for the status, and the validators (ETag, Last-Modified, body hash)
# of the latest fetch that produced or confirmed a body: a failed attempt in between must not make
# the next crawl forget what it already has.
CRAWL_STATE_SQL = """
with latest as (
    select source, url, fetch_status, status, fetched_at, crawl_run_id, error
    from pages_history
    qualify row_number() over (partition by source, url order by fetched_at desc, page_id desc) = 1
), good as (
    select source, url, etag, last_modified, body_sha256, fetched_at as last_fetched_at
    from pages_history
    where fetch_status in ('fetched', 'not_modified', 'unchanged')
    qualify row_number() over (partition by source, url order by fetched_at desc, page_id desc) = 1
)
select l.source, l.url, l.fetch_status, l.status, l.fetched_at, l.crawl_run_id, l.error,
       g.etag, g.last_modified, g.body_sha256, g.last_fetched_at
from latest l left join good g on g.source = l.source and g.url = l.url
"""
register_view("crawl_state", CRAWL_STATE_SQL)

CRAWL_TABLES = ("pages", "crawl_links", "tombstones", "crawl_runs")
# A batch of large pages is written early: the bodies it holds (and their Arrow copy while it is
# written) bound the crawling process's memory, not `flush_rows` times the largest page.
FLUSH_BODY_BYTES = 4 << 20


def _fetch(wh: Warehouse, sql: str, params: list) -> list[tuple]:
    con = wh.connect()
    try:
        return con.execute(sql, params).fetchall()
    except duckdb.Error as exc:  # name the broken file, if that is what it is
        raise wh.explain_read_error(exc, CRAWL_TABLES) from None
    finally:
        con.close()


def load_crawl_state(wh: Warehouse, source: str) -> dict[str, dict]:
    """url -> {fetch_status, status, etag, last_modified, body_sha256, last_fetched_at} for one source."""
    columns = ("fetch_status", "status", "etag", "last_modified", "body_sha256", "last_fetched_at")
    rows = _fetch(wh, f"select url, {', '.join(columns)} from crawl_state where source = ?", [source])
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


def load_links(wh: Warehouse, source: str) -> dict[str, list[str]]:
    """url -> links found on its latest fetched body (for pages that answer 304 or were resumed)."""
    return dict(_fetch(wh, "select url, links from crawl_links where source = ?", [source]))


def interrupted_run(wh: Warehouse, source: str) -> str | None:
    """The source's latest run if it started and never completed (it was killed), else None."""
    rows = _fetch(
        wh,
        "select crawl_run_id, bool_or(event = 'completed') as completed from crawl_runs "
        "where source = ? group by crawl_run_id order by max(event_at) desc limit 1",
        [source],
    )
    if not rows or rows[0][1]:
        return None
    return rows[0][0]


def urls_done_in_run(wh: Warehouse, source: str, run_id: str) -> dict[str, dict]:
    """url -> {fetch_status, final_url, depth} of every pages row an (interrupted) run wrote."""
    columns = ("fetch_status", "final_url", "depth")
    rows = _fetch(
        wh,
        f"select url, {', '.join(columns)} from pages_history where source = ? and crawl_run_id = ?",
        [source, run_id],
    )
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


def mark_run(wh: Warehouse, run_id: str, source: str, event: str, counts: dict[str, int] | None = None) -> None:
    wh.write(
        "crawl_runs",
        [{"crawl_run_id": run_id, "source": source, "event": event, "event_at": utc_now(), "counts": counts}],
        run_id,
    )


@contextlib.contextmanager
def crawl_locks(wh: Warehouse, run_id: str, wait: float = 0.0, grace: float = DEFAULT_GRACE_SECONDS):
    """Hold the write lock of every table the crawl writes; sweep temp files a killed run left.
    With `wait`, a crawl started while another is running waits for it (so two runs never hit
    the same hosts at once) instead of failing at once, and says so in one line.

    Yields a RunGuard (warehouse.shutdown): crawls run inside `guard.working()` with
    `stop=guard.stop` stop on SIGTERM / SIGINT, and the locks are released only after they have."""
    with guarded_locks(wh, CRAWL_TABLES, run_id, wait=wait, grace=grace) as guard:
        for table in CRAWL_TABLES:
            wh.sweep_temp_files(table)
        yield guard


def host_lease(wh: Warehouse, host: str, run_id: str, wait: float = 0.0) -> TableLock:
    """The lock a crawl task holds on a host while it crawls there (crawl on Dask): a task of a
    later run waits for it, so a task left running by a killed flow never crawls a host, or
    writes its rows, beside the run that resumes it. A lease left by a dead worker process on
    the same machine is taken over, as a table lock is."""
    path = f"{wh.table_dir('crawl_runs')}/_host-{re.sub(r'[^A-Za-z0-9.-]+', '_', host)}.lock"
    return TableLock(lock_file_for(wh.fs, path, wh.root_url, wh.is_local), path, f"crawl_runs (host {host})",
                     run_id, wait)  # fmt: skip


WARC_PARTS_DIR = "_warc_parts"  # WARC parts the crawl tasks wrote, until the flow appends them to its WARC


def publish_warc_part(wh: Warehouse, local: Path, name: str) -> str:
    """Copy a WARC part a crawl task wrote on its own disk into the warehouse; its path there."""
    path = f"{wh.root}/{WARC_PARTS_DIR}/{name}"
    wh.fs.create_dir(f"{wh.root}/{WARC_PARTS_DIR}", recursive=True)
    pafs.copy_files(str(local), path, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=wh.fs)
    return path


def take_warc_part(wh: Warehouse, path: str, local: Path) -> None:
    """Move a WARC part out of the warehouse into a local file (for the flow's WARC)."""
    pafs.copy_files(path, str(local), source_filesystem=wh.fs, destination_filesystem=pafs.LocalFileSystem())
    wh.fs.delete_file(path)


@dataclass
class PageBatchWriter:
    """Buffers crawl outcomes and makes them durable every `flush_rows` pages, FLUSH_BODY_BYTES of
    bodies or `flush_seconds`.

    Links and tombstones of a batch become visible before its pages: a page row therefore never
    exists without its links, which is what lets a resumed crawl skip it and still follow them.
    A background timer flushes too, so `flush_seconds` holds while every fetch is stalled and no
    `add()` comes (a kill then loses at most `flush_seconds` of rows).
    """

    wh: Warehouse
    run_id: str
    flush_rows: int = 100
    flush_seconds: float = 5.0
    pages: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    tombstones: list[dict] = field(default_factory=list)
    rows_written: int = 0
    _last_flush: float = field(default_factory=time.monotonic)
    _stack: contextlib.ExitStack | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _body_bytes: int = 0
    _closed: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> PageBatchWriter:
        self._stack = contextlib.ExitStack()
        self._writers = {
            t: self._stack.enter_context(self.wh.writer(t, self.run_id)) for t in ("crawl_links", "tombstones", "pages")
        }
        self._timer = threading.Thread(target=self._flush_on_time, name="page-writer-timer", daemon=True)
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed.set()
        self._timer.join()
        with self._lock:
            self.flush()
            self._stack.close()

    def _flush_on_time(self) -> None:
        tick = min(1.0, self.flush_seconds / 4)
        while not self._closed.wait(tick):
            with self._lock:
                if self.pages and time.monotonic() - self._last_flush >= self.flush_seconds:
                    self.flush()

    def add(self, page: dict, links: Iterable[str] | None = None, tombstone: dict | None = None) -> None:
        with self._lock:
            self._add(page, links, tombstone)

    def _add(self, page: dict, links: Iterable[str] | None, tombstone: dict | None) -> None:
        self.pages.append(page)
        if links is not None:
            self.links.append(
                {
                    "url": page["url"],
                    "source": page["source"],
                    "body_sha256": page.get("body_sha256"),
                    "links": list(links),
                    "crawl_run_id": self.run_id,
                    "created_at": utc_now(),
                }
            )
        if tombstone is not None:
            self.tombstones.append(tombstone)
        self._body_bytes += len(page.get("body") or b"")
        if (
            len(self.pages) >= self.flush_rows
            or self._body_bytes >= FLUSH_BODY_BYTES
            or time.monotonic() - self._last_flush >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        for table, rows in (("crawl_links", self.links), ("tombstones", self.tombstones), ("pages", self.pages)):
            if rows:
                self._writers[table].write(rows)
                self._writers[table].flush()
        self.rows_written += len(self.pages)
        self.pages, self.links, self.tombstones = [], [], []
        self._body_bytes = 0
        self._last_flush = time.monotonic()
