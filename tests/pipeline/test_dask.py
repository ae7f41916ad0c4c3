"""The Dask task runner (prefect-dask, a LocalCluster) gives the same tables as the default one."""

from __future__ import annotations

import shutil

import pytest

from tests.pipeline.conftest import write_config

pytestmark = pytest.mark.slow

STAGES = ["clean", "dedup"]


def _tables(config) -> dict:
    from corpusforge.schemas.config import load_settings
    from corpusforge.warehouse import Warehouse

    con = Warehouse(load_settings(config).warehouse).connect()
    return {
        "documents": con.execute(
            "select url, content_hash, kept, drop_reasons, language, quality_score from documents order by url"
        ).fetchall(),
        "clusters": con.execute(
            "select d.url, c.cluster_id, c.is_representative, c.reason from clusters c "
            "join documents d using (doc_id) order by d.url"
        ).fetchall(),
    }


def _worker_counts(summary, field: str) -> dict[str, int]:
    """{Dask worker: pages or documents} that a stage's summary reports under `field`."""
    [counts] = [d[field] for d in summary["details"] if field in d]
    return counts


def test_dask_runner_gives_the_same_tables(prefect_api, pipeline_site, tmp_path):
    from corpusforge.flows.pipeline import pipeline

    server, _root = pipeline_site
    (tmp_path / "default").mkdir()
    default_cfg = write_config(tmp_path / "default", server.url)
    # One crawl for both: the representative rule looks at fetch times, which differ between crawls.
    pipeline(config=str(default_cfg), only=["crawl"])
    shutil.copytree(tmp_path / "default", tmp_path / "dask")
    dask_cfg = write_config(tmp_path / "dask", server.url, task_runner="dask")
    pipeline(config=str(default_cfg), only=STAGES)
    state = pipeline(config=str(dask_cfg), only=STAGES, return_state=True)
    assert state.is_completed()
    clean, dedup = (next(r for r in state.result() if r["stage"] == stage) for stage in STAGES)
    expected, got = _tables(default_cfg), _tables(dask_cfg)
    assert len(expected["documents"]) > 40
    # The CPU work went to Dask workers as batch tasks: each batch reports the worker it ran on.
    cleaned_on = _worker_counts(clean, "cleaned_on")
    assert "driver" not in cleaned_on and sum(cleaned_on.values()) == len(expected["documents"]), cleaned_on
    signed_on = _worker_counts(dedup, "signed_on")
    signed = dedup["counts"]["signed (new or changed)"]
    assert "driver" not in signed_on and sum(signed_on.values()) == signed, signed_on
    for table in ("documents", "clusters"):
        differing = [(a, b) for a, b in zip(got[table], expected[table], strict=False) if a != b]
        assert len(got[table]) == len(expected[table]), table
        assert not differing, (table, differing[:3])
