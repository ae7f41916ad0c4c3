"""`corpusforge serve` registers deployments that run when triggered through the API, and the
README's demo command works from a fresh clone with nothing else running."""

from __future__ import annotations

import asyncio
import json
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABEL_STUDIO_")}  # none configured
    env.update(PREFECT_API_URL=prefect_api, PYTHONUNBUFFERED="1")
    with open(log, "wb") as fh:
        proc = subprocess.Popen([CLI, "-c", str(config), "serve"], stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        refresh = asyncio.run(_wait_for_deployment("pipeline/refresh", 120))
        nightly = asyncio.run(_wait_for_deployment("pipeline/nightly", 30))
        assert refresh.global_concurrency_limit.limit == 1 and nightly.global_concurrency_limit.limit == 1
        assert [s.schedule.cron for s in refresh.schedules] == ["*/15 * * * *"]
        assert [s.schedule.cron for s in nightly.schedules] == ["0 2 * * *"]
        # no Label Studio: the hourly pull would fail every hour, so it is not registered, and serve says so
        with pytest.raises(AssertionError, match="not registered"):
            asyncio.run(_wait_for_deployment("annotate_pull/hourly", 3))
        assert "annotate_pull/hourly not registered: no Label Studio configured" in log.read_text()
        flow_run = run_deployment("pipeline/refresh", timeout=600)
        assert flow_run.state.is_completed(), (flow_run.state, log.read_text()[-3000:])
    finally:
        proc.terminate()
        proc.wait(30)
    from corpusforge.schemas.config import load_settings
    from corpusforge.warehouse import Warehouse

    con = Warehouse(load_settings(config).warehouse).connect()
    assert con.execute("select count(*) from documents").fetchone()[0] > 0


def test_serve_with_the_temporary_server_says_how_to_start_one(tmp_path):
    """Schedules must outlive the command: with a temporary Prefect server per command (the
    opt-out of the shared local server) `serve` refuses in one line."""
    (tmp_path / "corpusforge.yaml").write_text("warehouse: ./data\n")
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["CORPUSFORGE_PREFECT_SERVER"] = "ephemeral"
    out = subprocess.run([CLI, "serve"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1
    assert "PREFECT_API_URL is not set" in out.stderr and "Traceback" not in out.stderr


def test_a_flow_command_without_a_config_starts_no_prefect_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    out = subprocess.run([CLI, "crawl"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1 and "no corpusforge.yaml" in out.stderr
    assert not (tmp_path / "cache" / "corpusforge" / "prefect-server.json").exists()


def _choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def test_demo_from_a_fresh_clone_shows_the_whole_loop(tmp_path):
    """`corpusforge demo` from a fresh clone: the pipeline with a local Label Studio, a sample
    pushed with the filters' verdicts; then 5 tasks labelled through the API, pull, report."""
    from label_studio_sdk import LabelStudio

    from corpusforge.connectors.label_studio_server import DEMO_ACCOUNT, LabelStudioServer

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "LABEL_STUDIO_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # as on a fresh machine: a temporary server
    demo_dir = tmp_path / "demo"
    cli = [sys.executable, "-m", "corpusforge.flows.cli"]
    label_studio = LabelStudioServer(demo_dir / "label-studio")
    try:
        out = subprocess.run([*cli, "demo", "--pages", "30", "--dir", str(demo_dir)], cwd=clone, capture_output=True,
                             text=True, env=env, timeout=1200)  # fmt: skip
        both = out.stdout + out.stderr
        assert out.returncode == 0, both[-4000:]
        assert "Traceback" not in both
        assert "corpusforge pipeline summary" in out.stdout
        assert (demo_dir / "data" / "corpus.duckdb").exists()
        assert list((demo_dir / "exports" / "rag").glob("*/chunks.parquet"))
        url = json.loads((demo_dir / "label-studio" / "server.json").read_text())["url"]
        assert f"Label Studio: {url}  (log in as {DEMO_ACCOUNT.username} / {DEMO_ACCOUNT.password})" in out.stdout
        assert "annotate pull" in out.stdout and "annotate report" in out.stdout

        sdk = LabelStudio(base_url=url, api_key=DEMO_ACCOUNT.token)
        [project] = [p for p in sdk.projects.list() if p.title == "corpusforge review"]
        tasks = sorted(sdk.tasks.list(project=project.id, fields="all"), key=lambda t: t.id)
        assert len(tasks) >= 5 and all(t.predictions for t in tasks)  # the filters' verdicts, pre-filled
        for n, task in enumerate(tasks[:5]):
            sdk.annotations.create(task.id, result=[_choice("quality", "drop" if n % 2 else "keep")])

        config = str(demo_dir / "corpusforge.yaml")
        ls_env = {**env, "LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": DEMO_ACCOUNT.token}
        pull = subprocess.run([*cli, "-c", config, "annotate", "pull"], cwd=tmp_path, capture_output=True, text=True,
                              env=ls_env, timeout=600)  # fmt: skip
        assert pull.returncode == 0, pull.stderr[-3000:]
        new = next(line for line in pull.stdout.splitlines() if "new annotations" in line)
        assert new.strip(" │").split()[-1] == "5", pull.stdout
        report = subprocess.run([*cli, "-c", config, "annotate", "report"], cwd=tmp_path, capture_output=True,
                                text=True, env=ls_env, timeout=300)  # fmt: skip
        assert report.returncode == 0, report.stderr[-3000:]
        assert "filters vs human keep/drop (5 labelled documents)" in report.stdout
    finally:
        label_studio.stop()
