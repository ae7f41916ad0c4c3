"""Fixtures of the crawl tests: private SampleServer instances (their request logs belong to one
test), copies of the sample site that a test may change, and settings for a crawl of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from corpusforge.schemas.config import Settings


@pytest.fixture()
def serve():
    """Start a SampleServer on a folder; stopped when the test ends."""
    from corpusforge.connectors.sample_site import SampleServer

    started = []

    def _serve(root: Path, **kwargs):
        srv = SampleServer(root, **kwargs)
        srv.__enter__()
        started.append(srv)
        return srv

    yield _serve
    for srv in reversed(started):
        srv.__exit__(None, None, None)


@pytest.fixture()
def site_copy(sample_site_dir, tmp_path) -> Path:
    """A private copy of the sample site, for tests that edit or delete pages."""
    target = tmp_path / "site"
    shutil.copytree(sample_site_dir, target)
    return target


def make_settings(warehouse: str, url: str, kind: str = "site", name: str = "sample", allow_private=True,
                  source: dict | None = None, **crawl) -> Settings:  # fmt: skip
    crawl = {"delay": 0, "concurrency_per_host": 4, "retries": 2, "backoff": 0.05, **crawl}
    src = {"name": name, "kind": kind, "url": url, "allow_private_network": allow_private, **(source or {})}
    return Settings.model_validate({"warehouse": warehouse, "crawl": crawl, "sources": [src]})


def run_crawl(settings: Settings, warc_out: str | None = None) -> list[dict]:
    """Run the crawl flow; one record per source (run id, counts, reasons, resumed, robots)."""
    from corpusforge.flows.crawl import crawl

    if warc_out:
        settings = settings.model_copy(update={"crawl": settings.crawl.model_copy(update={"warc_out": warc_out})})
    return crawl(settings).details


def pages_rows(wh, **where) -> list[dict]:
    rows = wh.read("pages").to_pylist()
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def url_path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
