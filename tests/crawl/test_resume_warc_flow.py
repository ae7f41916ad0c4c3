"""A crawl killed with SIGKILL resumes and ends like an uninterrupted one; WARC out and in
round-trip; local files; the Prefect flow and the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from corpusforge.processing.urls import Scope, normalize_url
from corpusforge.warehouse import Warehouse
from tests.crawl.conftest import make_settings, pages_rows, run_crawl, url_path

pytestmark = pytest.mark.usefixtures("prefect_api")  # every crawl runs as a Prefect flow

REPO = Path(__file__).resolve().parents[2]


def _final_pages(wh) -> set[tuple]:
    return {(r["url"], r["fetch_status"], r["status"], r["body_sha256"]) for r in pages_rows(wh)}


def test_sigkilled_crawl_resumes_and_equals_an_uninterrupted_one(serve, sample_site_dir, tmp_path):
    srv = serve(sample_site_dir)
    # A small per-host delay makes the crawl last long enough to be killed half-way.
    crawl = {"delay": 0.03, "concurrency_per_host": 1, "flush_rows": 5, "flush_seconds": 0.5}
    killed = make_settings(str(tmp_path / "killed"), srv.url + "/", **crawl)
    config = tmp_path / "corpusforge.yaml"
    config.write_text(yaml.safe_dump(killed.model_dump(mode="json")))
    proc = subprocess.Popen([sys.executable, str(REPO / "tests/crawl/run_crawl.py"), str(config)], cwd=REPO)
    wh = Warehouse(killed.warehouse)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(wh.files("pages")) >= 4:  # schema file + at least three batches
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the crawl finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = pages_rows(wh)
    assert partial, "nothing was kept from the killed run"

    resumed = run_crawl(killed)[0]
    assert resumed["resumed"] is True and resumed["counts"]["resumed"] >= 1
    rows = pages_rows(wh)
    assert max(Counter(r["url"] for r in rows).values()) == 1  # nothing fetched twice into pages
    assert {r["crawl_run_id"] for r in rows} == {resumed["run_id"]}

    whole = make_settings(str(tmp_path / "whole"), srv.url + "/")
    run_crawl(whole)
    assert _final_pages(wh) == _final_pages(Warehouse(whole.warehouse))


def test_warc_out_and_in_round_trip(serve, sample_site_dir, tmp_path):
    srv = serve(sample_site_dir)
    warc = tmp_path / "crawl.warc.gz"
    out = make_settings(str(tmp_path / "out"), srv.url + "/")
    run_crawl(out, warc_out=str(warc))
    fetched = {r["url"]: r["body_sha256"] for r in pages_rows(Warehouse(out.warehouse), fetch_status="fetched")}

    back = make_settings(str(tmp_path / "in"), None, kind="warc", name="archive", source={"path": str(warc)})
    first = run_crawl(back)[0]
    wh_in = Warehouse(back.warehouse)
    ingested = {r["url"]: r["body_sha256"] for r in pages_rows(wh_in, fetch_status="fetched")}
    assert ingested == fetched
    assert first["counts"] == {"fetched": len(fetched)}
    second = run_crawl(back)[0]  # the same archive again adds no bodies
    assert second["counts"] == {"unchanged": len(fetched)}


def test_files_source(sample_site_dir, tmp_path):
    settings = make_settings(str(tmp_path / "wh"), None, kind="files", name="local",
                             source={"path": str(sample_site_dir / "articles")})  # fmt: skip
    result = run_crawl(settings)[0]
    rows = pages_rows(Warehouse(settings.warehouse))
    n_files = len(list((sample_site_dir / "articles").rglob("*.html")))
    assert result["counts"] == {"fetched": n_files} and len(rows) == n_files
    assert all(r["url"].startswith("file://") and r["body"] for r in rows)


def test_url_normalisation_and_scope():
    assert normalize_url("HTTP://Example.COM:80/a/./b/../c?b=2&a=1#top") == "http://example.com/a/c?a=1&b=2"
    assert normalize_url("/x y", "http://h.org/dir/page") == "http://h.org/x%20y"
    assert normalize_url("mailto:someone@example.com") is None
    assert normalize_url("http://h.org") == "http://h.org/"
    scope = Scope.for_start("http://h.org/", include=[r"/docs/"], exclude=[r"\.pdf$"])
    assert scope.reason_out_of_scope("http://other.org/docs/") == "out_of_scope"
    assert scope.reason_out_of_scope("http://h.org/blog/") == "not_included"
    assert scope.reason_out_of_scope("http://h.org/docs/a.pdf") == "excluded"
    assert scope.reason_out_of_scope("http://h.org/docs/a.html") is None


def test_crawl_flow_and_cli(prefect_api, serve, sample_site_dir, sample_manifest, tmp_path):
    from corpusforge.flows.cli import main
    from corpusforge.flows.crawl import crawl

    srv = serve(sample_site_dir)
    settings = make_settings(str(tmp_path / "wh"), srv.url + "/")
    settings.sources.append(
        settings.sources[0].model_copy(update={"name": "feed", "kind": "feed", "url": srv.url + "/feed.xml"})
    )
    summary = crawl(settings)
    assert summary.stage == "crawl" and summary.counts["sources"] == 2
    assert summary.counts["fetched"] >= len(sample_manifest["articles"])
    assert summary.drops["robots_disallowed"] >= 1
    assert [d["source"] for d in summary.details] == ["sample", "feed"]

    config = tmp_path / "corpusforge.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json")))
    assert main(["--config", str(config), "crawl", "--source", "feed"]) == 0
    rows = pages_rows(Warehouse(settings.warehouse), source="feed")
    assert Counter(r["fetch_status"] for r in rows)["not_modified"] == len(sample_manifest["feed_items"])
    assert main(["--config", str(config), "crawl", "--source", "nope"]) == 1
    assert {url_path(r["url"]) for r in rows} == set(sample_manifest["feed_items"])
