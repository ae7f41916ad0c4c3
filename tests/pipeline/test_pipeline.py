"""The whole pipeline end to end on the sample site, against a real Prefect server: flow and
subflow runs complete, artifacts exist, a second run adds nothing, the UI shows the summary."""

from __future__ import annotations

import os

import pytest

from tests.pipeline.conftest import write_config

pytestmark = pytest.mark.slow


def _flow_runs(client_fn):
    import asyncio

    from prefect.client.orchestration import get_client

    async def go():
        async with get_client() as client:
            return await client_fn(client)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def first_run(prefect_api, pipeline_site, tmp_path_factory):
    from corpusforge.flows.pipeline import pipeline

    server, _root = pipeline_site
    os.environ.pop("LABEL_STUDIO_URL", None)
    os.environ.pop("LABEL_STUDIO_API_KEY", None)
    workdir = tmp_path_factory.mktemp("pipeline-run")
    config = write_config(workdir, server.url)
    state = pipeline(config=str(config), return_state=True)
    return {"state": state, "results": state.result(), "config": config, "workdir": workdir}


def _by_stage(results: list[dict]) -> dict:
    return {r["stage"]: r for r in results}


def test_pipeline_completes_with_every_stage(first_run):
    assert first_run["state"].is_completed()
    stages = _by_stage(first_run["results"])
    for stage in ("crawl", "clean", "dedup", "annotate", "export_training", "export_rag"):
        assert stage in stages, stage
    assert any("skipped" in n and "LABEL_STUDIO_URL" in n for n in stages["annotate"]["notes"])
    report = stages["report"]["outputs"][0]
    assert report.endswith(".html") and os.path.exists(report)


def test_warehouse_is_filled_and_traceable(first_run):
    from corpusforge.schemas.config import load_settings
    from corpusforge.warehouse import Warehouse

    wh = Warehouse(load_settings(first_run["config"]).warehouse)
    con = wh.connect()
    n_docs = con.execute("select count(*) from documents").fetchone()[0]
    assert n_docs >= 40
    # chunk -> document version -> page fetch -> cluster: every chunk joins all the way back
    orphans = con.execute(
        """select count(*) from chunks c
           left join documents d on d.doc_id = c.doc_id and d.content_hash = c.content_hash
           left join pages p on p.page_id = d.page_id
           left join clusters k on k.doc_id = d.doc_id
           where p.page_id is null or k.doc_id is null"""
    ).fetchone()[0]
    assert con.execute("select count(*) from chunks").fetchone()[0] > 0
    assert orphans == 0


def test_prefect_api_shows_completed_subflows_and_artifacts(first_run):
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )

    run_id = first_run["state"].state_details.flow_run_id

    async def query(client):
        parent = await client.read_flow_run(run_id)
        children = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id]))
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
        flows = {f.id: f.name for f in await client.read_flows()}
        return parent, children, artifacts, flows

    parent, children, artifacts, flows = _flow_runs(query)
    assert parent.state.is_completed()
    child_flows = {flows[c.flow_id] for c in children}
    assert {"crawl", "clean", "dedup", "export_training", "export_rag"} <= child_flows, child_flows
    assert all(c.state.is_completed() for c in children)
    # run names say what ran, not Prefect's random words
    assert parent.name.startswith("pipeline 20") and parent.name.endswith(" · 1 source"), parent.name
    for child in children:
        assert child.name.startswith(flows[child.flow_id] + " 20"), (child.name, flows[child.flow_id])
    assert {a.key for a in artifacts} == {"pipeline-summary", "pipeline-progress"}
    summary = next(a for a in artifacts if a.key == "pipeline-summary")
    assert "Drops by reason" in summary.data and "Per source: from fetched to exported" in summary.data
    assert "file://" not in summary.data and "corpusforge report" in summary.data
    # each stage's table sits on its own subflow run
    for child in children:
        stage = flows[child.flow_id]
        on_child = _flow_runs(lambda client, run=child.id: client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run]))))  # fmt: skip
        assert f"stage-{stage.replace('_', '-')}" in {a.key for a in on_child}, stage


def test_second_run_adds_nothing(first_run):
    from corpusforge.flows.pipeline import pipeline

    results = _by_stage(pipeline(config=str(first_run["config"])))
    assert results["crawl"]["counts"]["fetched"] == 0
    assert results["crawl"]["counts"]["not_modified"] + results["crawl"]["counts"]["unchanged"] > 40
    assert results["clean"]["counts"]["pages to clean"] == 0
    assert results["dedup"]["counts"]["signed (new or changed)"] == 0
    assert results["export_rag"]["counts"]["chunks embedded"] == 0


def test_prefect_ui_shows_the_summary_artifact(first_run, prefect_api):
    from tests.pipeline.browser import chromium, click_text, screenshot, wait_for_text

    run_id = first_run["state"].state_details.flow_run_id
    base = prefect_api.removesuffix("/api")
    with chromium() as browser:
        browser.get(f"{base}/runs/flow-run/{run_id}")
        click_text(browser, "Artifacts")
        assert wait_for_text(browser, "pipeline-summary")
        shot = screenshot(browser, "prefect-ui-flow-run-artifacts.png")
    assert shot.stat().st_size > 10_000


def test_report_page_shows_its_charts(first_run):
    from tests.pipeline.browser import chromium, screenshot

    report = _by_stage(first_run["results"])["report"]["outputs"][0]
    with chromium() as browser:
        browser.get(f"file://{report}")
        loaded = browser.execute_script(
            "return [...document.querySelectorAll('figure.chart img')].map(i => i.complete && i.naturalWidth > 0)"
        )
        screenshot(browser, "corpus-report.png")
    assert len(loaded) >= 7 and all(loaded)


def test_a_down_label_studio_fails_annotate_only(first_run, prefect_api):
    """Label Studio configured but nothing listening: annotate is marked failed (summary and
    Prefect UI), both exports still run, the summary prints, the command exits non-zero."""
    import subprocess
    import sys
    from pathlib import Path

    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.client.schemas.sorting import FlowRunSort

    from tests.conftest import free_port

    cli = str(Path(sys.executable).parent / "corpusforge")
    env = {**os.environ, "LABEL_STUDIO_URL": f"http://127.0.0.1:{free_port()}", "LABEL_STUDIO_API_KEY": "k"}
    out = subprocess.run([cli, "-c", str(first_run["config"]), "run"], capture_output=True, text=True, env=env,
                         timeout=600)  # fmt: skip
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]
    assert "corpusforge pipeline summary" in out.stdout and "annotate failed:" in out.stdout
    rows = {line.split("│")[1].strip(): line for line in out.stdout.splitlines() if line.count("│") > 3}
    assert "FAILED" in rows["annotate"]
    assert "FAILED" not in rows["export_training"] and "FAILED" not in rows["export_rag"]
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: annotate failed:"), out.stderr[-3000:]
    assert "Traceback" not in out.stderr

    async def latest_run(client):
        [parent] = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["pipeline"])), sort=FlowRunSort.START_TIME_DESC, limit=1
        )
        children = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent.id]))
        )
        flows = {f.id: f.name for f in await client.read_flows()}
        return parent, {flows[c.flow_id]: c for c in children}

    parent, children = _flow_runs(latest_run)
    assert parent.state.is_failed()
    assert children["annotate"].state.is_failed()
    assert children["export_training"].state.is_completed() and children["export_rag"].state.is_completed()
