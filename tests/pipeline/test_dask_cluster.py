"""The pipeline on a Dask cluster as it is deployed: `dask scheduler` and two `dask worker`
processes started from the command line with default settings (a nanny, daemonic worker
processes), a warehouse on object storage (a moto S3 server) that the workers read and write
themselves, the pipeline pointed at them by `task_runner: dask` and `dask_address`.

One comparison covers both "the Dask runner equals the default one" and "a warehouse on S3
equals a local one": the default runner on a local warehouse against the Dask runner on the S3
warehouse, from the same crawl (made by the workers on S3, copied down; its pages equal a crawl by
the default runner). The tables and both exports are equal (vectors up to float noise), the
crawl, clean, signing, training-example and embedding tasks ran on the workers (the scheduler's
task stream names each task's kind and worker, and each stage's summary names the same workers),
nothing of the S3 run lands on the local disk, and the export on S3 serves export.duckdb and a
LanceDB sync as the local one does.

The crawl on the cluster also keeps each host's delay while two hosts crawl at once, and a crawl
whose flow is stopped (SIGTERM) or killed (kill -9) stops on the workers and resumes to the default
runner's pages."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import free_port, s3_url
from tests.pipeline import cluster_checks as checks
from tests.pipeline.cluster_checks import S3_PREFIX
from tests.pipeline.conftest import write_config

pytestmark = pytest.mark.slow

STAGES = ["clean", "dedup", "export_training", "export_rag"]
SITE_PAGES = 30  # the smallest sample site: about 40 pages to crawl
# Embedding dominates the test's cost (twice: each runner): the RAG export holds the documents in
# these languages only (a few of the site's), the training export every document.
RAG_EXPORT = {"name": "sample", "languages": ["de", "es", "fr"]}
EXPORTS = {"training": [{"name": "sample", "format": "text", "jsonl": False}], "rag": [RAG_EXPORT]}
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
        # Not the default client: the flows here must find their own, as in a process of their own.
        with Client(address, timeout=60, set_as_default=False) as client:
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


@pytest.fixture(scope="module")
def default_crawl(prefect_api, small_site, tmp_path_factory):
    """The warehouse of the small site crawled by the default runner (what the crawls on Dask equal)."""
    from corpusforge.flows.crawl import crawl
    from corpusforge.schemas.config import load_settings

    config = write_config(tmp_path_factory.mktemp("default-crawl"), small_site.url)
    crawl(load_settings(config))
    return checks.warehouse(config)


def _crawl_on_s3_copied_down(dask_cfg: Path, default_cfg: Path) -> list[dict]:
    """One crawl for both runs (the representative rule looks at fetch times, which differ between
    crawls): made by the workers on the S3 warehouse, copied to the local one; its summaries."""
    import pyarrow.fs as pafs

    from corpusforge.flows.pipeline import pipeline

    results = pipeline(config=str(dask_cfg), only=["crawl"])
    remote, local = checks.warehouse(dask_cfg), checks.warehouse(default_cfg)
    pafs.copy_files(remote.root, local.root, source_filesystem=remote.fs, destination_filesystem=pafs.LocalFileSystem())
    return results


def test_dask_cluster_on_s3_equals_the_default_runner_on_a_local_warehouse(
    prefect_api, s3_endpoint, dask_cluster, small_site, default_crawl, tmp_path, monkeypatch
):
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
    crawl_since = datetime.now(UTC)
    crawl = _crawl_on_s3_copied_down(dask_cfg, default_cfg)
    assert checks.pages_view(checks.warehouse(dask_cfg)) == checks.pages_view(default_crawl)
    _crawled_on_the_workers(client, client.get_task_stream(start=crawl_since.timestamp()), crawl)
    pipeline(config=str(default_cfg), only=STAGES)

    since = datetime.now(UTC)
    results = pipeline(config=str(dask_cfg), only=STAGES)
    stream = client.get_task_stream(start=since.timestamp())
    local, remote = checks.warehouse(default_cfg), checks.warehouse(dask_cfg)

    # The S3 run wrote to the bucket only: its report there, nothing beside its config or in the cwd.
    assert local.is_local and not remote.is_local
    assert remote.fs.get_file_info(f"corpus/{S3_PREFIX}/reports/corpus-report.html").size > 0
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == ["corpusforge.yaml"]
    assert not (tmp_path / "corpus").exists(), "a path in the bucket was written to the local disk"

    expected, got = checks.tables(local), checks.tables(remote)
    assert len(expected["documents"]) >= 30 and len(expected["chunks"]) >= 6 and expected["training_examples"]
    for table in expected:
        assert got[table] == expected[table], table

    expected_exports, got_exports = checks.exports(local), checks.exports(remote)
    assert any("rag" in k for k in expected_exports) and any("training" in k for k in expected_exports)
    assert sorted(got_exports) == sorted(expected_exports)
    for key, (rows, vectors) in expected_exports.items():
        assert got_exports[key][0] == rows, key
        if vectors is not None:  # batches differ between the runners: the same vectors up to float noise
            np.testing.assert_allclose(got_exports[key][1], vectors, atol=1e-4)

    expected_training, got_training = checks.training_export(local), checks.training_export(remote)
    assert expected_training["files"] and "README.md" in expected_training["files"]
    assert got_training == expected_training
    manifest = f"corpus/{S3_PREFIX}/exports/training/sample/__versions__/{got_training['version']}/manifest.json"
    assert remote.fs.get_file_info(manifest).size > 0

    _ran_on_the_workers(client, stream, results)
    expected_rag = checks.rag_export(local)
    assert len(expected_rag) == len(expected["chunks"])
    checks.sinks_read_the_export_on_s3(local, s3_endpoint, tmp_path, expected_rag)
    checks.export_views_on_s3(remote, tmp_path / "copied", expected_rag)


def _ran_on_the_workers(client, stream: list[dict], results: list[dict]) -> None:
    """The clean batches, signature batches, embedding batches and training groups of the Dask
    run were tasks on the cluster's workers (Dask's task stream: each task's key names its kind,
    each record its worker), both workers embedded, and each stage's summary names the workers
    the stream shows for it."""
    workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2
    ran_on = checks.workers_by_kind(stream)
    kinds = ("clean-batch", "dedup-sign-batch", "export-rag-embed", "export-training-build")
    assert set(kinds) <= set(ran_on), ran_on
    assert set().union(*ran_on.values()) <= workers, (ran_on, workers)
    assert ran_on["export-rag-embed"] == workers, "both workers embed"
    reported = {
        "clean-batch": checks.reported_workers(results, "clean", "cleaned_on"),
        "dedup-sign-batch": checks.reported_workers(results, "dedup", "signed_on"),
        "export-rag-embed": checks.reported_workers(results, "export_rag", "embedded_on"),
        "export-training-build": checks.reported_workers(results, "export_training", "built_on"),
    }
    for kind, named in reported.items():
        assert named == ran_on[kind], (kind, named, ran_on[kind])
    # The tasks are plain functions from Prefect-free modules: a worker never imports Prefect (whose
    # task runs cost a tenth of the run, and which starts a server of its own without an API URL).
    assert client.run(_imported_prefect) == dict.fromkeys(workers, False)


def _imported_prefect() -> bool:
    return "prefect" in sys.modules


def _crawled_on_the_workers(client, stream: list[dict], results: list[dict]) -> None:
    """Every crawl task ran on one of the cluster's workers, the one its source's summary names."""
    workers = set(client.scheduler_info()["workers"])
    crawl_tasks = [r for r in stream if str(r["key"]).startswith("crawl-host-")]
    crawl = next(r for r in results if r["stage"] == "crawl")
    assert len(crawl_tasks) == len(crawl["details"]) == 1, crawl_tasks
    assert {r["worker"] for r in crawl_tasks} == {d["crawled_on"] for d in crawl["details"]}
    assert {d["crawled_on"] for d in crawl["details"]} <= workers


def _crawl_stage(settings):
    """The crawl flow on the task runner the pipeline gives it (the cluster at `dask_address`)."""
    from corpusforge.flows.crawl import crawl
    from corpusforge.flows.stage import stage_task_runner

    runner = stage_task_runner("crawl", settings.task_runner, settings.dask_address)
    assert runner is not None
    return crawl.with_options(task_runner=runner)(settings)


DELAY = 0.25  # seconds between two requests to one host


def _requests_since(server, n: int) -> list[tuple[float, str]]:
    """(when, path) of each request the server got after its n-th."""
    return [(e["t"], e["path"]) for e in server.requests[n:]]


def _kept_the_delay(requests: list[tuple[float, str]]) -> None:
    """One host's requests, as the server saw them, came DELAY apart: on average over all of them
    (two crawlers at once would halve it), and each from the one before up to the server's own
    jitter (a thread of the test's busy process timestamps them). A crawl's robots.txt arrives
    late (its first connection is set up after its start was granted): the gap after it is not
    its crawler's spacing and is left out of both checks; the gap before it (from the last
    source's last request) is. (With the sample server's 40 ms stall per response gone, a late
    robots.txt is no longer made up for by the gaps after it.)"""
    gaps = [b[0] - a[0] for a, b in zip(requests, requests[1:], strict=False) if a[1] != "/robots.txt"]
    assert sum(gaps) >= len(gaps) * DELAY - 0.1, requests
    assert min(gaps) >= DELAY / 2, requests


def test_two_hosts_crawl_at_once_on_two_workers_each_at_its_own_delay(prefect_api, dask_cluster, small_site, tmp_path):
    """127.0.0.1 (two sources: a site and its sitemap) and localhost (a site) on the cluster: the
    hosts crawl at the same time on the two workers, and on each host every request waits the
    delay, also from the last request of one source to the first of the next on the same host."""
    from corpusforge.connectors.sample_site import SampleServer
    from corpusforge.connectors.warc import iter_warc_responses
    from corpusforge.schemas.config import Settings

    address, _ = dask_cluster
    polite = {"delay": DELAY, "concurrency": 1, "allow_private_network": True}
    with SampleServer(small_site.root, host="localhost") as other:
        sources = [
            {"name": "ip", "kind": "site", "url": small_site.url + "/", "max_pages": 6, **polite},
            {"name": "ip-sitemap", "kind": "sitemap", "url": small_site.url + "/sitemap.xml", "max_pages": 4, **polite},
            {"name": "name", "kind": "site", "url": other.url + "/", "max_pages": 8, **polite},
        ]
        warc = tmp_path / "crawl.warc.gz"
        settings = Settings.model_validate({"warehouse": str(tmp_path / "data"), "sources": sources,
                                            "crawl": {"warc_out": str(warc)}, "task_runner": "dask",
                                            "dask_address": address})  # fmt: skip
        before = len(small_site.requests)
        summary = _crawl_stage(settings)
        on_ip, on_name = _requests_since(small_site, before), _requests_since(other, 0)

    details = {d["source"]: d for d in summary.details}
    assert sorted(details) == ["ip", "ip-sitemap", "name"] and not summary.failed
    assert all(d["counts"]["fetched"] >= 3 for d in details.values()), details
    assert len(on_ip) >= 12 and len(on_name) >= 9  # robots.txt and sitemap.xml included
    for requests in (on_ip, on_name):
        _kept_the_delay(requests)
    (ip_start, _), (ip_end, _), (name_start, _), (name_end, _) = on_ip[0], on_ip[-1], on_name[0], on_name[-1]
    assert ip_start < name_end and name_start < ip_end, "the two hosts crawled at the same time"
    assert details["ip"]["crawled_on"] != details["name"]["crawled_on"]
    with open(warc, "rb") as fh:  # every worker's WARC part reached the flow's WARC
        assert len(list(iter_warc_responses(fh))) == sum(d["counts"]["fetched"] for d in details.values())
    assert not (tmp_path / "data" / "_warc_parts").exists() or not any((tmp_path / "data" / "_warc_parts").iterdir())


def _slow_crawl_config(folder: Path, site_url: str, address: str) -> Path:
    """The small site's crawl on the cluster, slow enough to be killed half way (a delay, one
    request at a time) and writing its pages every 3 rows."""
    from corpusforge.flows.demo import demo_config

    cfg = demo_config(site_url, pages=50)
    cfg["sources"][0].update(delay=0.05, concurrency=1)
    cfg.update(task_runner="dask", dask_address=address, crawl={"flush_rows": 3, "flush_seconds": 0.5})
    path = folder / "corpusforge.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _kill_flow_once_it_wrote(config: Path, log: Path, written) -> int:
    """`corpusforge run --only crawl` as a user starts it, killed with SIGKILL once the workers wrote
    a pages file of its own; its exit code."""
    before = written()
    with open(log, "wb") as out:
        flow = subprocess.Popen([sys.executable, "-m", "corpusforge.flows.cli", "-c", str(config), "run", "--only",
                                 "crawl"], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        _wait_until(lambda: written() > before or flow.poll() is not None, 120, "the flow wrote no pages")
        assert flow.poll() is None, log.read_text()[-2000:]
    finally:
        flow.kill()
    return flow.wait()


@contextlib.contextmanager
def _sigterm_once_it_wrote(written):
    """SIGTERM to this process once the workers wrote pages, while the block runs the crawl flow
    here (its handler, installed in this main thread, turns it into a stop request). Should the
    flow not handle it, the handler installed here keeps the test process alive and says so."""
    unhandled = []
    previous = signal.signal(signal.SIGTERM, lambda *_: unhandled.append("SIGTERM reached the test"))
    done = threading.Event()

    def send() -> None:
        while not done.wait(0.05):
            if written() >= 1:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        yield
    finally:
        done.set()
        sender.join()
        signal.signal(signal.SIGTERM, previous)
    assert not unhandled, "the crawl flow did not handle SIGTERM"


def test_a_crawl_on_dask_stopped_then_killed_with_its_flow_resumes(
    prefect_api, dask_cluster, small_site, default_crawl, tmp_path
):
    """SIGTERM to the flow's process once the workers wrote pages: the crawl task stops, and the
    flow ends only after it has (its host's lease is back). Then the next run gets kill -9 in
    turn: its crawl task stops on its own (the flow's client is gone) and gives the lease back.
    A last run resumes the interrupted run to the default runner's pages, no page written twice."""
    from corpusforge.connectors.crawler import CrawlStopped
    from corpusforge.flows.pipeline import pipeline

    address, client = dask_cluster
    config = _slow_crawl_config(tmp_path, small_site.url, address)
    pages, runs = tmp_path / "data" / "pages", tmp_path / "data" / "crawl_runs"

    def written() -> int:
        return len([p for p in pages.glob("*.parquet") if not p.name.startswith("00000000")]) if pages.exists() else 0

    def leases() -> list[Path]:
        return list(runs.glob("_host-*"))

    with pytest.raises(CrawlStopped, match="stopped by a stop request"), _sigterm_once_it_wrote(written):
        pipeline(config=str(config), only=["crawl"])  # the crawl a subflow, as `corpusforge run` runs it
    assert not leases(), "the flow ended before its crawl task stopped"

    assert _kill_flow_once_it_wrote(config, tmp_path / "killed.log", written) == -signal.SIGKILL
    _wait_until(lambda: not leases(), 20, "the killed flow's crawl task still holds its host")
    stopped_at = written()
    time.sleep(0.5)
    assert written() == stopped_at, "the killed flow's crawl task still writes"

    # The resume as a user types it: `corpusforge crawl` runs on the configured runner (the cluster)
    # as `corpusforge run` does; its crawl-host task in the cluster's task stream is the proof.
    since = time.time()
    resumed = subprocess.run([sys.executable, "-m", "corpusforge.flows.cli", "-c", str(config), "crawl"],
                             cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "sample: resumed interrupted run" in resumed.stdout, resumed.stdout
    ran = checks.workers_by_kind(client.get_task_stream(start=since)).get("crawl-host")
    assert ran, "corpusforge crawl did not run on the cluster"
    # Depth is the link depth at which a URL was first met: a slower, one-at-a-time crawl may meet
    # a URL through another page than the default runner's eight requests at a time did.
    assert checks.pages_view(checks.warehouse(config), ("depth",)) == checks.pages_view(default_crawl, ("depth",))
