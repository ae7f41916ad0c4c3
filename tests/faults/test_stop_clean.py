"""Issue 15.2 for the clean stage, through the real CLI: SIGTERM on `corpusforge clean` while its
workers are cleaning stops it within 10 s, writes the rows already cleaned, releases the documents
lock only after that, and the next run ends with the same documents as a clean never interrupted."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from corpusforge.connectors.sample_site import generate_site
from corpusforge.schemas.config import load_settings
from tests.faults.conftest import wait_until
from tests.faults.crawl_driver import crawl_all
from tests.faults.kill9 import table_rows

CLI = str(Path(sys.executable).with_name("corpusforge"))
PAGES = 600  # several seconds of cleaning on 2 cores: the signal lands mid-run


def start_clean(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with open(folder / "clean.log", "ab") as log:
        return subprocess.Popen([CLI, "-c", str(folder / "corpusforge.yaml"), "clean"], cwd=folder, env=env,
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def workers_cpu_seconds(proc: subprocess.Popen) -> float:
    """CPU time the pool's workers (the leaves below the command) have spent: a progress measure
    that a loaded machine does not fool, unlike a fixed sleep."""
    total = 0.0
    try:
        for child in psutil.Process(proc.pid).children(recursive=True):
            if not child.children():
                times = child.cpu_times()
                total += times.user + times.system
    except psutil.Error:
        pass
    return total


def workers_running(proc: subprocess.Popen) -> bool:
    """The clean's process pool is up (forkserver and two workers below the command)."""
    try:
        return len(psutil.Process(proc.pid).children(recursive=True)) >= 3
    except psutil.Error:
        return False


@pytest.mark.slow
def test_sigterm_on_the_clean_command_keeps_what_was_cleaned_and_the_next_run_finishes(prefect_api, tmp_path):
    site = tmp_path / "site"
    generate_site(site, pages=PAGES, seed=3)
    crawled = tmp_path / "crawled"
    crawled.mkdir()
    cfg = {"warehouse": "data", "clean": {"workers": 2, "batch_size": 50},
           "sources": [{"name": "docs", "kind": "files", "path": str(site)}]}  # fmt: skip
    (crawled / "corpusforge.yaml").write_text(yaml.safe_dump(cfg))
    crawl_all(load_settings(crawled / "corpusforge.yaml"))
    reference, stopped = (shutil.copytree(crawled, tmp_path / name) for name in ("reference", "stopped"))

    assert start_clean(reference).wait(300) == 0, (reference / "clean.log").read_text()[-3000:]
    expected = table_rows(reference, "documents")
    assert len(expected) > PAGES // 2

    proc = start_clean(stopped)
    try:
        wait_until(lambda: workers_running(proc), 120, "the clean's workers start")
        # some batches done, most still to come (the whole clean takes the workers ~10 s of CPU)
        wait_until(lambda: workers_cpu_seconds(proc) >= 2.0, 120, "the workers clean for a while")
        assert proc.poll() is None, "the clean finished before the signal: the test proves nothing"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail("still running 10 s after SIGTERM")
        assert time.monotonic() - sent < 10 and proc.returncode != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = (stopped / "clean.log").read_text()
    assert "stopped by SIGTERM" in log, log[-3000:]
    assert not (stopped / "data" / "documents" / "_lock").exists()
    kept = table_rows(stopped, "documents")
    assert 0 < len(kept) < len(expected)  # what was cleaned before the signal was written, not the rest
    assert set(kept) <= set(expected)

    assert start_clean(stopped).wait(300) == 0, (stopped / "clean.log").read_text()[-3000:]
    assert table_rows(stopped, "documents") == expected
