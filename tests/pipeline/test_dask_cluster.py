"""The pipeline on a Dask cluster as it is deployed: `dask scheduler` and two `dask worker`
processes started from the command line with default settings (a nanny, daemonic worker
processes), a warehouse on object storage (a moto S3 server) that the workers read and write
themselves, the pipeline pointed at them by `task_runner: dask` and `dask_address`.

The tables and both exports equal those of the default runner on the same crawl, and the clean
and embedding tasks ran on the workers: each such Prefect task run is matched to the Dask task
whose computation covers it in the scheduler's task stream, which names the worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.conftest import free_port
from tests.foundation.conftest import s3_endpoint, s3_url  # noqa: F401 - the S3 server fixture
from tests.pipeline.conftest import write_config

pytestmark = pytest.mark.slow

STAGES = ["clean", "dedup", "export_training", "export_rag"]
SITE_PAGES = 30  # the smallest sample site: about 40 pages to crawl
# Embedding dominates the test's cost (twice: each runner): the RAG export holds the documents in
# these languages only (a few of the site's), the training export every document.
RAG_EXPORT = {"name": "sample", "languages": ["de", "es", "fr"]}
REPO = Path(__file__).resolve().parents[2]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as fh:
        return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=REPO, stdout=fh, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory, s3_endpoint):  # noqa: F811 - after the S3 server: workers get its credentials
    """A scheduler and two workers, each its own process, as on separate machines."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask-cluster")
    address = f"tcp://127.0.0.1:{free_port()}"
    procs = [_start(["scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
                    logs / "scheduler.log")]  # fmt: skip
    for n in (1, 2):
        worker = ["worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--name", f"w{n}"]
        procs.append(_start([*worker, "--local-directory", str(logs / f"w{n}")], logs / f"worker{n}.log"))
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
            client.get_task_stream(start=time.time())  # the scheduler records the task stream from now
            yield address, client
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def small_site(tmp_path_factory):
    from corpusforge.connectors.sample_site import SampleServer, generate_site

    root = tmp_path_factory.mktemp("dask-cluster-site")
    generate_site(root, pages=SITE_PAGES, seed=0)
    with SampleServer(root) as server:
        yield server


def _warehouse(config: Path):
    from corpusforge.schemas.config import load_settings
    from corpusforge.warehouse import Warehouse

    return Warehouse(load_settings(config).warehouse)


def _tables(config: Path) -> dict:
    con = _warehouse(config).connect()
    queries = {
        "documents": "select url, content_hash, kept, drop_reasons, language, quality_score, text from documents",
        "clusters": "select d.url, c.cluster_id, c.is_representative, c.reason "
        "from clusters c join documents d using (doc_id)",
        "chunks": "select chunk_id, doc_id, position, char_start, char_end, text_hash, token_count from chunks",
        "embeddings": "select distinct text_hash, model_id from embeddings",
    }
    try:
        return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}
    finally:
        con.close()


def _exports(config: Path) -> dict:
    """Every Parquet file of both exports, on the warehouse's filesystem (training version folders
    by their path without the version id, which names the run's snapshot), rows sorted, vectors
    apart."""
    import pyarrow.fs as pafs

    wh = _warehouse(config)
    root = f"{wh.root.rsplit('/', 1)[0]}/exports"
    out = {}
    files = wh.fs.get_file_info(pafs.FileSelector(root, recursive=True))
    for path in sorted(i.path for i in files if i.path.endswith(".parquet")):
        parts = path[len(root) + 1 :].split("/")
        version_ids = {p for p in parts[:-1] if len(p) == 12 and p.isalnum()}
        key = "/".join(p for p in parts if p != "__versions__" and p not in version_ids)
        table = pq.read_table(path, filesystem=wh.fs)
        vectors = None
        if "embedding" in table.column_names:
            order = np.argsort(table.column("chunk_id").to_numpy(zero_copy_only=False))
            vectors = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))[order]
            table = table.drop_columns(["embedding"])
        drop = [c for c in ("created_at", "run_id", "deleted_at") if c in table.column_names]
        rows = sorted(table.drop_columns(drop).to_pylist(), key=repr)
        out[key] = (rows, vectors)
    return out


async def _task_runs(names: tuple[str, ...], since) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterStartTime

    async with get_client() as client:
        runs = await client.read_task_runs(
            task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=since))
        )
    return [r for r in runs if any(r.name.startswith(n) for n in names) and r.state.is_completed()]


def _worker_of(run, stream: list[dict]) -> str | None:
    """The worker whose Dask task computation overlaps the Prefect task run the most."""
    start, end = run.start_time.timestamp(), run.end_time.timestamp()
    best, worker = 0.0, None
    for record in stream:
        for span in record.get("startstops", ()):
            if span["action"] != "compute":
                continue
            overlap = min(end, span["stop"]) - max(start, span["start"])
            if overlap > best:
                best, worker = overlap, record["worker"]
    return worker


def test_pipeline_on_a_dask_cluster_equals_the_default_runner(
    prefect_api,
    s3_endpoint,  # noqa: F811
    dask_cluster,
    small_site,
    tmp_path,
    monkeypatch,
):
    from datetime import UTC, datetime

    import pyarrow.fs as pafs

    from corpusforge.flows.pipeline import pipeline

    address, client = dask_cluster
    for key in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        os.environ.pop(key, None)
    monkeypatch.chdir(tmp_path)  # where a bucket path taken for a local one would land
    (tmp_path / "default").mkdir()
    (tmp_path / "dask").mkdir()
    warehouses = {run: s3_url(s3_endpoint, f"dask-cluster/{run}/data") for run in ("default", "dask")}
    exports = {"training": [{"name": "sample", "format": "text", "jsonl": False}], "rag": [RAG_EXPORT]}
    default_cfg = write_config(tmp_path / "default", small_site.url, exports=exports, warehouse=warehouses["default"])
    # One crawl for both: the representative rule looks at fetch times, which differ between crawls.
    pipeline(config=str(default_cfg), only=["crawl"])
    crawled = _warehouse(default_cfg)
    target = f"{crawled.root.rsplit('/', 2)[0]}/dask/data"
    pafs.copy_files(crawled.root, target, source_filesystem=crawled.fs, destination_filesystem=crawled.fs)
    dask_cfg = write_config(
        tmp_path / "dask", small_site.url, exports=exports, warehouse=warehouses["dask"], task_runner="dask",
        dask_address=address,
    )  # fmt: skip
    pipeline(config=str(default_cfg), only=STAGES)

    since = datetime.now(UTC)
    results = pipeline(config=str(dask_cfg), only=STAGES)
    stream = client.get_task_stream(start=since.timestamp())

    expected, got = _tables(default_cfg), _tables(dask_cfg)
    assert len(expected["documents"]) >= 30 and len(expected["chunks"]) >= 6
    for table in expected:
        assert got[table] == expected[table], table
    assert not _warehouse(dask_cfg).is_local and not (tmp_path / "corpus").exists()
    expected_exports, got_exports = _exports(default_cfg), _exports(dask_cfg)
    assert any("rag" in k for k in expected_exports) and any("training" in k for k in expected_exports)
    assert sorted(got_exports) == sorted(expected_exports)
    for key, (rows, vectors) in expected_exports.items():
        assert got_exports[key][0] == rows, key
        if vectors is not None:  # batches differ between the runners: the same vectors up to float noise
            np.testing.assert_allclose(got_exports[key][1], vectors, atol=1e-4)

    workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2
    runs = asyncio.run(_task_runs(("clean-batch", "export-rag-embed"), since))
    ran_on = {(run.name.rsplit("-", 1)[0], _worker_of(run, stream)) for run in runs}
    kinds = {kind for kind, _ in ran_on}
    assert kinds == {"clean-batch", "export-rag-embed"}, ran_on
    assert {worker for _, worker in ran_on} <= workers, (ran_on, workers)
    embedded_on = {worker for kind, worker in ran_on if kind == "export-rag-embed"}
    assert embedded_on == workers, "both workers embed"
    rag = next(r for r in results if r["stage"] == "export_rag")
    reported = {a for d in rag["details"] for part in d.get("details", [d]) for a in part.get("embedded_on", {})}
    assert reported == embedded_on, (reported, embedded_on)
