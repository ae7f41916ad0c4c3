"""The crawl flow crawls each source in a worker process that imports no Prefect
(flows/crawl_worker.py): it dies with the command, and its WARC records reach the shared file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from corpusforge.warehouse import Warehouse

CLI = str(Path(sys.executable).with_name("corpusforge"))


def _crawl_worker(proc: subprocess.Popen, timeout: float) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(proc.pid).children(recursive=True):
            try:
                if "corpusforge.flows.crawl_worker" in " ".join(child.cmdline()):
                    return child
            except psutil.Error:
                pass
        assert proc.poll() is None, "the crawl command ended before its worker was seen"
        time.sleep(0.1)
    raise AssertionError(f"no crawl worker process within {timeout:.0f}s")


def test_a_crawl_command_killed_with_sigkill_takes_its_worker_with_it(prefect_api, serve, sample_site_dir, tmp_path):
    srv = serve(sample_site_dir)
    srv.faults["*"] = {"delay": 1.0}  # slow answers: the crawl is still running when the command is killed
    config = tmp_path / "corpusforge.yaml"
    config.write_text(json.dumps({
        "warehouse": str(tmp_path / "data"),
        "crawl": {"delay": 0, "concurrency_per_host": 2, "retries": 0},
        "sources": [{"name": "sample", "kind": "site", "url": srv.url + "/", "allow_private_network": True}],
    }))  # fmt: skip
    proc = subprocess.Popen([CLI, "-c", str(config), "crawl"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        worker = _crawl_worker(proc, 120)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        worker.wait(10)  # psutil.TimeoutExpired if the worker outlived the command
    finally:
        if proc.poll() is None:
            proc.kill()


def test_each_source_worker_writes_its_records_into_the_one_warc(prefect_api, serve, sample_site_dir, tmp_path):
    from corpusforge.flows.crawl import crawl
    from corpusforge.schemas.config import Settings

    srv = serve(sample_site_dir)
    warc = tmp_path / "out.warc.gz"
    settings = Settings.model_validate({
        "warehouse": str(tmp_path / "data"),
        "crawl": {"delay": 0, "concurrency_per_host": 4, "warc_out": str(warc)},
        "sources": [{"name": n, "kind": "site", "url": srv.url + "/", "allow_private_network": True,
                     "max_pages": 8} for n in ("one", "two")],
    })  # fmt: skip
    summary = crawl(settings)
    assert not summary.failed, summary.error
    from warcio.archiveiterator import ArchiveIterator

    with open(warc, "rb") as fh:
        warc_urls = sorted(r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh))
    fetched = Warehouse(str(tmp_path / "data")).read("pages").to_pylist()
    assert warc_urls == sorted(r["url"] for r in fetched if r["fetch_status"] == "fetched")
    assert len(warc_urls) == sum(r["counts"]["fetched"] for r in summary.details) > 8  # both sources' records
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]  # the workers' parts were moved in


def test_the_crawling_process_never_imports_duckdb_and_a_recrawl_still_knows_the_pages(
    serve, sample_site_dir, tmp_path, monkeypatch
):
    """The flow's process reads the crawl state for the worker; a `duckdb` that refuses to load,
    first on the worker's path, proves the worker never needs it (its library is 45 MB resident)."""
    from corpusforge.flows.configs import fetch_policy
    from corpusforge.flows.crawl_worker import crawl_in_worker
    from corpusforge.schemas.config import Settings

    refusing = tmp_path / "refusing"
    refusing.mkdir()
    (refusing / "duckdb.py").write_text("raise ImportError('the crawl worker imported duckdb')\n")
    monkeypatch.setenv("PYTHONPATH", f"{refusing}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    srv = serve(sample_site_dir)
    settings = Settings.model_validate({
        "warehouse": str(tmp_path / "data"),
        "crawl": {"delay": 0, "concurrency_per_host": 4},
        "sources": [{"name": "sample", "kind": "site", "url": srv.url + "/", "allow_private_network": True,
                     "max_pages": 12}],
    })  # fmt: skip
    wh = Warehouse(settings.warehouse)
    wh.init()
    source = settings.sources[0]
    policy = fetch_policy(settings.crawl, source)
    first = crawl_in_worker(wh, settings, source, policy)
    fetched = first["counts"]["fetched"]
    assert fetched >= 8 and not first["resumed"]
    # The second run's requests are conditional: the state the flow's process read reached the worker.
    second = crawl_in_worker(wh, settings, source, policy)
    assert second["counts"].get("fetched", 0) == 0
    assert second["counts"]["not_modified"] == fetched
