"""What a crawl produces and works from: the job (a source and what the warehouse knows about
it), one pages row per URL (`Outcome`), the counts (`CrawlReport`), and the stop signal.

Shared by the URL crawler (crawler.py) and the record sources (records.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from corpusforge.processing.ids import sha256_hex
from corpusforge.schemas.config import SourceConfig

URL_KINDS = ("site", "sitemap", "feed")
RECORD_KINDS = ("warc", "files")
GOOD_STATUSES = ("fetched", "not_modified", "unchanged")


@dataclass
class Outcome:
    page: dict
    links: list[str] | None = None  # links found on the body (to store for later 304s and resumes)
    tombstone: dict | None = None


@dataclass
class CrawlJob:
    """One source's crawl: what to crawl and what the warehouse already knows about it."""

    source: SourceConfig
    run_id: str
    state: dict[str, dict] = field(default_factory=dict)  # url -> crawl_state row
    known_links: dict[str, list[str]] = field(default_factory=dict)  # url -> links of its latest body
    done: dict[str, dict] = field(default_factory=dict)  # url -> row the interrupted run already wrote


@dataclass
class CrawlReport:
    counts: Counter = field(default_factory=Counter)  # fetch_status -> rows (and "resumed")
    reasons: Counter = field(default_factory=Counter)  # reason code -> rows (failed and skipped)

    def record(self, page: dict) -> None:
        self.counts[page["fetch_status"]] += 1
        if page.get("error"):
            self.reasons[reason_code(page["error"])] += 1

    @property
    def skipped_by_robots(self) -> int:
        return self.reasons.get("robots_disallowed", 0)


Emit = Callable[[Outcome], None]
Progress = Callable[[int, int], None]  # (done, discovered)
STOP_POLL_SECONDS = 0.1


class StopSignal(Protocol):
    """What the crawler asks to know whether to stop: a threading.Event, or the warehouse's StopToken."""

    def is_set(self) -> bool: ...


class CrawlStopped(Exception):
    """The crawl stopped early on request; what it fetched was emitted, its run stays resumable."""


def _stop_message(job: CrawlJob, stop: Any) -> str:
    why = getattr(stop, "reason", None) or "a stop request"
    return f"crawl of source '{job.source.name}' stopped by {why}; fetched pages are kept, the next run resumes"


def reason_code(error: str) -> str:
    return error.split(":", 1)[0].strip()


def _page_row(job: CrawlJob, url: str, fetched_at: datetime, fetch_status: str, **values: Any) -> dict:
    return {
        "page_id": sha256_hex(f"{url}|{fetched_at.isoformat()}|{job.run_id}")[:24],
        "url": url,
        "source": job.source.name,
        "crawl_run_id": job.run_id,
        "fetched_at": fetched_at,
        "fetch_status": fetch_status,
        **values,
    }


def _prior_body(state: dict | None) -> dict | None:
    """The state row when the URL has a body we can compare with (a gone page starts afresh, so
    that it comes back as a new document version and leaves its tombstone behind)."""
    if state and state.get("body_sha256") and state.get("fetch_status") != "gone":
        return state
    return None


def _judge_body(job: CrawlJob, url: str, body: bytes) -> tuple[str, str]:
    """(fetch_status, sha256): `unchanged` when the body is byte-identical to the last one."""
    sha = sha256_hex(body)
    prior = _prior_body(job.state.get(url))
    return ("unchanged" if prior and prior["body_sha256"] == sha else "fetched"), sha
