"""`corpusforge serve` registers deployments that run when triggered through the API, and the
README's demo command works from a fresh clone with nothing else running."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.conftest import write_config

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "corpusforge")


async def _wait_for_deployment(name: str, timeout: float):
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    async with get_client() as client:
        while time.monotonic() < deadline:
            try:
                return await client.read_deployment_by_name(name)
            except ObjectNotFound:
                await asyncio.sleep(1)
    raise AssertionError(f"deployment {name} was not registered within {timeout:.0f}s")


def test_serve_registers_scheduled_deployments_that_run(prefect_api, pipeline_site, tmp_path):
    from prefect.deployments import run_deployment

    server, _root = pipeline_site
    config = write_config(tmp_path, server.url)
    log = tmp_path / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([CLI, "-c", str(config), "serve"], stdout=fh, stderr=subprocess.STDOUT,
                                env={**os.environ, "PREFECT_API_URL": prefect_api})
    try:
        refresh = asyncio.run(_wait_for_deployment("pipeline/refresh", 120))
        nightly = asyncio.run(_wait_for_deployment("pipeline/nightly", 30))
        assert refresh.global_concurrency_limit.limit == 1 and nightly.global_concurrency_limit.limit == 1
        assert [s.schedule.cron for s in refresh.schedules] == ["*/15 * * * *"]
        assert [s.schedule.cron for s in nightly.schedules] == ["0 2 * * *"]
        flow_run = run_deployment("pipeline/refresh", timeout=600)
        assert flow_run.state.is_completed(), (flow_run.state, log.read_text()[-3000:])
    finally:
        proc.terminate()
        proc.wait(30)
    from corpusforge.schemas.config import load_settings
    from corpusforge.warehouse import Warehouse

    con = Warehouse(load_settings(config).warehouse).connect()
    assert con.execute("select count(*) from documents").fetchone()[0] > 0


def test_serve_without_a_prefect_server_says_how_to_start_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    out = subprocess.run([CLI, "serve"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1
    assert "PREFECT_API_URL is not set" in out.stderr and "Traceback" not in out.stderr


def test_demo_from_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # as on a fresh machine: a temporary server
    out = subprocess.run(
        [sys.executable, "-m", "corpusforge.flows.cli", "demo", "--pages", "40", "--dir", str(tmp_path / "demo")],
        cwd=clone, capture_output=True, text=True, env=env, timeout=900,
    )
    both = out.stdout + out.stderr
    assert out.returncode == 0, both[-4000:]
    assert "Traceback" not in both
    assert "corpusforge pipeline summary" in out.stdout
    assert (tmp_path / "demo" / "data" / "corpus.duckdb").exists()
    assert list((tmp_path / "demo" / "exports" / "rag").glob("*/chunks.parquet"))
