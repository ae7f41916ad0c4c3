"""Fixtures of the fault tests: the stalling site, configs written to disk, a crawl run as a
subprocess (so it can be sent SIGTERM or SIGKILL), and a small corpus taken through the stages once
per session by uninterrupted runs (what the kill -9 tests compare with)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.faults import kill9
from tests.faults.servers import DripSite

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def drip_site():
    with DripSite() as site:
        yield site


def write_config(folder: Path, url: str, **crawl) -> Path:
    cfg = {
        "warehouse": "data",
        "crawl": {"delay": 0, "retries": 0, "timeout": 3, "flush_seconds": 1, "lock_wait": 0, **crawl},
        "sources": [{"name": "drip", "kind": "site", "url": url + "/", "allow_private_network": True}],
    }
    path = folder / "corpusforge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start_crawl(config: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as fh:
        return subprocess.Popen([sys.executable, "-m", "tests.faults.crawl_driver", str(config)], cwd=REPO,
                                stdout=fh, stderr=subprocess.STDOUT, env=env)  # fmt: skip


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:g}s")


# ---- a small corpus through the stages, uninterrupted -------------------------------------------------
SMALL_PAGES = 30  # the smallest sample site: a few dozen documents


@dataclass(frozen=True)
class Stage:
    """A folder after a stage's uninterrupted run, and that run (its durations)."""

    folder: Path
    run: kill9.Run


def corpus_config(folder: Path, site: Path) -> Path:
    cfg = {
        "warehouse": "data",
        "clean": {"batch_size": 4, "workers": 2},
        # Two sources, so that the RAG export can take the smaller one (~30 chunks, not ~300).
        "sources": [
            {"name": "articles", "kind": "files", "path": str(site / "articles")},
            {"name": "site", "kind": "files", "path": str(site.with_name(site.name + "-rest"))},
        ],
        "exports": {"rag": [{"name": "default", "batch_size": 8, "sources": ["site"]}]},
    }
    path = folder / "corpusforge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="session")
def crawled(tmp_path_factory) -> Path:
    from corpusforge.connectors.sample_site import generate_site
    from corpusforge.schemas.config import load_settings
    from tests.faults.crawl_driver import crawl_all

    site = tmp_path_factory.mktemp("small-site")
    generate_site(site, pages=SMALL_PAGES, seed=15)
    shutil.copytree(site, site.with_name(site.name + "-rest"), ignore=shutil.ignore_patterns("articles"))
    folder = tmp_path_factory.mktemp("crawled")
    crawl_all(load_settings(corpus_config(folder, site)))
    return folder


def stage_run(src: Path, target: Path, table: str, *command: str, env: dict | None = None) -> Stage:
    """`command` run to its end on a copy of `src`; `table` is the table it locks while it works."""
    folder = kill9.copy(src, target)
    return Stage(folder, kill9.run(kill9.cli(folder, *command), folder, None, kill9.lock_holder(folder, table), env))


@pytest.fixture(scope="session")
def cleaned(prefect_api, crawled, tmp_path_factory) -> Stage:
    return stage_run(crawled, tmp_path_factory.mktemp("stages") / "cleaned", "documents", "clean")


@pytest.fixture(scope="session")
def deduped(cleaned, tmp_path_factory) -> Stage:
    return stage_run(cleaned.folder, tmp_path_factory.mktemp("stages") / "deduped", "clusters", "dedup")
