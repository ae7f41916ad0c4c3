"""Fixtures of the fault tests: the stalling site, configs written to disk, and a crawl run as a
subprocess (so it can be sent SIGTERM or SIGKILL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

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
