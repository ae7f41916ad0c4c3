"""The pipeline on a Dask cluster as it is deployed: `dask scheduler` and two `dask worker`
processes started from the command line with default settings (a nanny, daemonic worker
processes), a warehouse on object storage (a moto S3 server) that the workers read and write
themselves, the pipeline pointed at them by `task_runner: dask` and `dask_address`.

One comparison covers both "the Dask runner equals the default one" and "a warehouse on S3
equals a local one": the default runner on a local warehouse against the Dask runner on the S3
warehouse, from the same crawl (made on S3, copied down). The tables and both exports are equal
(vectors up to float noise), the clean and embedding tasks ran on the workers (each such Prefect
task run is matched to the Dask task whose computation covers it in the scheduler's task stream,
which names the worker), nothing of the S3 run lands on the local disk, and the export on S3
serves export.duckdb and a LanceDB sync as the local one does."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.conftest import free_port, s3_url
from tests.pipeline.conftest import write_config

pytestmark = pytest.mark.slow

STAGES = ["clean", "dedup", "export_training", "export_rag"]
SITE_PAGES = 30  # the smallest sample site: about 40 pages to crawl
# Embedding dominates the test's cost (twice: each runner): the RAG export holds the documents in
# these languages only (a few of the site's), the training export every document.
RAG_EXPORT = {"name": "sample", "languages": ["de", "es", "fr"]}
EXPORTS = {"training": [{"name": "sample", "format": "text", "jsonl": False}], "rag": [RAG_EXPORT]}
S3_PREFIX = "dask-cluster"  # the S3 run's warehouse is <bucket>/<prefix>/data, its exports <prefix>/exports
REPO = Path(__file__).resolve().parents[2]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as fh:
        return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=REPO, stdout=fh, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory, s3_endpoint):
    """A scheduler and two workers, each its own process, as on separate machines. Started after
    the S3 server, whose AWS_* credentials are in the environment the workers inherit."""
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


def _tables(wh) -> dict:
    con = wh.connect()
    queries = {
        "documents": "select url, content_hash, kept, drop_reasons, language, quality_score, text from documents",
        "clusters": "select d.url, c.cluster_id, c.is_representative, c.reason "
        "from clusters c join documents d using (doc_id)",
        "chunks": "select chunk_id, doc_id, position, char_start, char_end, text_hash, token_count from chunks",
        "embeddings": "select distinct text_hash, model_id from embeddings",
        "training_examples": "select example_id, split, doc_id from training_examples",
    }
    try:
        return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}
    finally:
        con.close()


def _exports(wh) -> dict:
    """Every Parquet file of both exports, on the warehouse's filesystem (training version folders
    by their path without the version id, which names the run's snapshot), rows sorted, vectors
    apart."""
    import pyarrow.fs as pafs

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


def _training_export(wh) -> dict:
    """The published version: its manifest's version and counts, and every file's bytes but the
    manifest's (it names the input files, whose names hold run ids); the card with the snapshot id
    (a hash of those names) masked."""
    from corpusforge.warehouse import training_export as te

    latest = te.latest_path(wh, "sample")
    files = {}
    for info in wh.fs.get_file_info(te.pafs.FileSelector(latest, recursive=True)):
        rel = info.path[len(latest) + 1 :]
        if info.type == te.pafs.FileType.File and rel != te.MANIFEST:
            with wh.fs.open_input_stream(info.path) as fh:
                files[rel] = fh.read()
    with wh.fs.open_input_stream(f"{latest}/{te.MANIFEST}") as fh:
        manifest = json.loads(fh.read())
    snapshot_id = manifest["snapshot"]["snapshot_id"].encode()
    files["README.md"] = files["README.md"].replace(snapshot_id, b"<snapshot>")
    return {"version": manifest["version"], "counts": manifest["counts"], "files": files}


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


def _crawl_on_s3_copied_down(dask_cfg: Path, default_cfg: Path) -> None:
    """One crawl for both runs (the representative rule looks at fetch times, which differ between
    crawls): made on the S3 warehouse, copied to the local one."""
    import pyarrow.fs as pafs

    from corpusforge.flows.pipeline import pipeline

    pipeline(config=str(dask_cfg), only=["crawl"])
    remote, local = _warehouse(dask_cfg), _warehouse(default_cfg)
    pafs.copy_files(remote.root, local.root, source_filesystem=remote.fs, destination_filesystem=pafs.LocalFileSystem())


def test_dask_cluster_on_s3_equals_the_default_runner_on_a_local_warehouse(
    prefect_api, s3_endpoint, dask_cluster, small_site, tmp_path, monkeypatch
):
    from datetime import UTC, datetime

    from corpusforge.flows.pipeline import pipeline

    address, client = dask_cluster
    for key in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # where a bucket path taken for a local one would land
    (tmp_path / "default").mkdir()
    (tmp_path / "dask").mkdir()
    default_cfg = write_config(tmp_path / "default", small_site.url, exports=EXPORTS)  # warehouse ./data
    dask_cfg = write_config(
        tmp_path / "dask", small_site.url, exports=EXPORTS, warehouse=s3_url(s3_endpoint, f"{S3_PREFIX}/data"),
        task_runner="dask", dask_address=address,
    )  # fmt: skip
    _crawl_on_s3_copied_down(dask_cfg, default_cfg)
    pipeline(config=str(default_cfg), only=STAGES)

    since = datetime.now(UTC)
    results = pipeline(config=str(dask_cfg), only=STAGES)
    stream = client.get_task_stream(start=since.timestamp())
    local, remote = _warehouse(default_cfg), _warehouse(dask_cfg)

    # The S3 run wrote to the bucket only: its report there, nothing beside its config or in the cwd.
    assert local.is_local and not remote.is_local
    assert remote.fs.get_file_info(f"corpus/{S3_PREFIX}/reports/corpus-report.html").size > 0
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == ["corpusforge.yaml"]
    assert not (tmp_path / "corpus").exists(), "a path in the bucket was written to the local disk"

    expected, got = _tables(local), _tables(remote)
    assert len(expected["documents"]) >= 30 and len(expected["chunks"]) >= 6 and expected["training_examples"]
    for table in expected:
        assert got[table] == expected[table], table

    expected_exports, got_exports = _exports(local), _exports(remote)
    assert any("rag" in k for k in expected_exports) and any("training" in k for k in expected_exports)
    assert sorted(got_exports) == sorted(expected_exports)
    for key, (rows, vectors) in expected_exports.items():
        assert got_exports[key][0] == rows, key
        if vectors is not None:  # batches differ between the runners: the same vectors up to float noise
            np.testing.assert_allclose(got_exports[key][1], vectors, atol=1e-4)

    expected_training, got_training = _training_export(local), _training_export(remote)
    assert expected_training["files"] and "README.md" in expected_training["files"]
    assert got_training == expected_training
    manifest = f"corpus/{S3_PREFIX}/exports/training/sample/__versions__/{got_training['version']}/manifest.json"
    assert remote.fs.get_file_info(manifest).size > 0

    _ran_on_the_workers(client, stream, since, results)
    expected_rag = _rag_export(local)
    assert len(expected_rag) == len(expected["chunks"])
    _sinks_read_the_export_on_s3(local, s3_endpoint, tmp_path, expected_rag)
    _export_views_on_s3(remote, tmp_path / "copied", expected_rag)


def _ran_on_the_workers(client, stream: list[dict], since, results: list[dict]) -> None:
    """Each clean batch and embedding batch of the Dask run ran on one of the cluster's workers,
    both workers embedded, and the RAG stage's summary names the workers that did."""
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


def _rag_export(wh) -> list[dict]:
    from corpusforge.warehouse import rag_store

    path = f"{rag_store.export_dir(wh, 'sample')}/chunks.parquet"
    return pq.read_table(path, filesystem=wh.fs).sort_by("chunk_id").to_pylist()


def _sinks_read_the_export_on_s3(local, endpoint: str, tmp_path, expected_rag: list[dict]) -> None:
    """LanceDB synced from the export on S3 (by URL, no copy) into a database on S3 holds what a sync
    from the local export gives (vectors up to the runners' float noise)."""
    from corpusforge.connectors.sinks import ExportFolder, LanceDBSink
    from corpusforge.warehouse import rag_store

    columns = ["chunk_id", "doc_id", "url", "heading_path", "text", "fetched_at"]
    from_local = LanceDBSink(str(tmp_path / "lancedb"), "sample")
    from_local.sync(rag_store.export_dir(local, "sample"))
    on_s3 = LanceDBSink(s3_url(endpoint, f"{S3_PREFIX}/exports/lancedb"), "sample")
    result = on_s3.sync(ExportFolder.open(s3_url(endpoint, f"{S3_PREFIX}/exports/rag/sample")))
    assert result.inserted == result.rows == len(expected_rag)
    tables = [s.table.to_arrow().sort_by("chunk_id") for s in (from_local, on_s3)]
    assert tables[1].select(columns).to_pylist() == tables[0].select(columns).to_pylist()
    vectors = [np.stack(t.column("embedding").to_numpy(zero_copy_only=False)) for t in tables]
    np.testing.assert_allclose(vectors[1], vectors[0], atol=1e-4)


def _export_views_on_s3(wh, copy_to, expected_rag: list[dict]) -> None:
    """export.duckdb written into the export on S3 names the files relative to its folder: the
    folder copied down opens as a local one does."""
    import pyarrow.fs as pafs

    from corpusforge.warehouse import rag_store
    from corpusforge.warehouse.export_views import connect_export_views, write_export_views

    folder = rag_store.export_dir(wh, "sample")
    write_export_views(folder, wh.fs)
    copy_to.mkdir()
    pafs.copy_files(folder, str(copy_to), source_filesystem=wh.fs, destination_filesystem=pafs.LocalFileSystem())
    con = connect_export_views(copy_to)
    rows = con.execute("select chunk_id, typeof(embedding) from chunks order by chunk_id").fetchall()
    dim = len(expected_rag[0]["embedding"])
    assert rows == [(r["chunk_id"], f"FLOAT[{dim}]") for r in expected_rag]
