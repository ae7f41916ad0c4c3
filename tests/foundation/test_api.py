"""The Python API (`import corpusforge`): lazy imports, one stage, the pipeline, SQL as Arrow."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

import corpusforge
from tests.dedup.conftest import make_doc, random_text, write_docs


def test_import_loads_neither_prefect_nor_torch():
    code = "import sys, corpusforge; print(sorted(m for m in ('prefect', 'torch', 'duckdb') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_query_returns_an_arrow_table(tmp_path):
    config = {"warehouse": str(tmp_path / "data")}
    wh = corpusforge.open_warehouse(config)
    assert wh.root_url.endswith("data")
    table = corpusforge.query("select count(*) as n from pages", config)
    assert isinstance(table, pa.Table) and table.to_pylist() == [{"n": 0}]


def test_unknown_stage_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown stage 'dedupe'; stages are: crawl, clean, dedup"):
        corpusforge.run_stage("dedupe", {"warehouse": str(tmp_path / "data")})


def _latest_stage_table(key: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC, limit=1
        )
        if not found:
            return None, None
        run = client.read_flow_run(found[0].flow_run_id) if found[0].flow_run_id else None
        return found[0], run


def test_run_stage_and_run_from_a_config_dict(tmp_path, prefect_api, recwarn):
    config = {"warehouse": str(tmp_path / "data")}
    wh = corpusforge.open_warehouse(config)
    text = random_text(1)
    write_docs(wh, [make_doc("a", text), make_doc("b", text), make_doc("c", random_text(2))])

    before, _ = _latest_stage_table("stage-dedup")
    summary = corpusforge.run_stage("dedup", config)
    # The stage's table artifact is published on the stage's flow run, without Prefect's
    # deprecation of artifacts created outside a flow run (run_stage is called from plain Python).
    table, run = _latest_stage_table("stage-dedup")
    assert table is not None and (before is None or table.id != before.id)
    assert run is not None and run.name.startswith("dedup 20") and '"documents in"' in table.data
    assert not [w for w in recwarn if "Artifact creation outside" in str(w.message)]
    assert summary.stage == "dedup" and summary.counts["documents in"] == 3
    assert summary.drops["exact_duplicate_of"] == 1
    sizes = corpusforge.query("select doc_id, cluster_size from clusters order by doc_id", config).to_pylist()
    assert sizes == [{"doc_id": "a", "cluster_size": 2}, {"doc_id": "b", "cluster_size": 2},
                     {"doc_id": "c", "cluster_size": 1}]  # fmt: skip

    (again,) = corpusforge.run(config, only=["dedup"])
    assert again.stage == "dedup" and again.counts["signed (new or changed)"] == 0
