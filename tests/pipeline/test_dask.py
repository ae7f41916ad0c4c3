"""The Dask task runner (prefect-dask, a LocalCluster) gives the same tables as the default one."""

from __future__ import annotations

import pytest

from tests.pipeline.conftest import write_config

pytestmark = pytest.mark.slow

STAGES = ["crawl", "clean", "dedup"]


def _tables(config) -> dict:
    from flows.settings import load_settings
    from warehouse import Warehouse

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


def test_dask_runner_gives_the_same_tables(prefect_api, pipeline_site, tmp_path):
    from prefect.client.orchestration import get_client  # noqa: F401  (the API is the test server)

    from flows.pipeline import pipeline

    server, _root = pipeline_site
    (tmp_path / "default").mkdir()
    (tmp_path / "dask").mkdir()
    default_cfg = write_config(tmp_path / "default", server.url)
    dask_cfg = write_config(tmp_path / "dask", server.url, task_runner="dask")
    pipeline(config=str(default_cfg), only=STAGES)
    state = pipeline(config=str(dask_cfg), only=STAGES, return_state=True)
    assert state.is_completed()
    expected, got = _tables(default_cfg), _tables(dask_cfg)
    assert len(expected["documents"]) > 40
    assert got == expected
