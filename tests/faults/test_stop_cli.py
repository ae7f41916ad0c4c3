"""Issue 15.2 through the real CLI: SIGTERM on `corpusforge crawl` stuck on a dripping server
stops it within seconds (flows/crawl.py runs each source under the crawl locks' RunGuard with its
stop token), releases the locks, and the next run resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpusforge.warehouse import Warehouse
from tests.faults.conftest import wait_until, write_config
from tests.faults.test_stop import CRAWL_TABLES, page_view

CLI = str(Path(sys.executable).with_name("corpusforge"))


def cli_crawl(config: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with open(log, "ab") as fh:
        return subprocess.Popen([CLI, "-c", str(config), "crawl"], cwd=config.parent, env=env, stdout=fh,
                                stderr=subprocess.STDOUT)  # fmt: skip


@pytest.mark.slow
def test_sigterm_on_the_crawl_command_stops_it_and_the_next_run_resumes(prefect_api, drip_site, tmp_path):
    config = write_config(tmp_path, drip_site.url, timeout=600, concurrency_per_host=1)
    log = tmp_path / "crawl.log"
    proc = cli_crawl(config, log)
    try:
        wait_until(lambda: "/drip.html" in drip_site.requests, 120, "the crawl reaches the dripping page")
        time.sleep(0.5)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 10 s after SIGTERM; locks left: "
                        f"{[t for t in CRAWL_TABLES if (tmp_path / 'data' / t / '_lock').exists()]}")  # fmt: skip
        assert time.monotonic() - sent < 10 and proc.returncode != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not [t for t in CRAWL_TABLES if (tmp_path / "data" / t / "_lock").exists()]

    drip_site.drip = False
    assert cli_crawl(config, log).wait(120) == 0, log.read_text()[-3000:]
    runs = Warehouse(str(tmp_path / "data")).read("crawl_runs").to_pylist()
    assert len({r["crawl_run_id"] for r in runs}) == 1  # the second run resumed the first
    assert {u for u, *_ in page_view(Warehouse(str(tmp_path / "data")))} == {
        "", "ok-0.html", "ok-1.html", "ok-2.html", "drip.html"}  # fmt: skip
