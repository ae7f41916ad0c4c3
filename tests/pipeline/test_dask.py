"""The Dask task runner (prefect-dask, a LocalCluster) gives the same tables as the default one."""

from __future__ import annotations

import asyncio
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


async def _batch_task_runs(name: str = "clean-batch") -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    async with get_client() as client:
        runs = await client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=name)))
    return sum(1 for r in runs if r.state.is_completed())


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
    expected, got = _tables(default_cfg), _tables(dask_cfg)
    assert len(expected["documents"]) > 40
    assert asyncio.run(_batch_task_runs()) > 0, "the CPU work did not go to Dask as batch tasks"
    assert asyncio.run(_batch_task_runs("dedup-sign-batch")) > 0, "signatures were not made by Dask tasks"
    for table in ("documents", "clusters"):
        differing = [(a, b) for a, b in zip(got[table], expected[table], strict=False) if a != b]
        assert len(got[table]) == len(expected[table]), table
        assert not differing, (table, differing[:3])
