"""The sample site's HTTP server: content types, validators, conditional requests, redirects,
404s, robots.txt, fault injection, the request log and the command line (real sockets on
localhost, no mocks)."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from corpusforge.connectors.sample_site import (
    ORIGIN,
    SampleServer,
    load_manifest,
)
from tests.test_sample_site import by_kind

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(site):
    # A server of its own: tests here set fault injection on it, which must not reach other modules.
    with SampleServer(site) as srv:
        yield srv


def test_get_sets_type_etag_and_last_modified(server, site, manifest, http):
    entry = by_kind(manifest, "article")[0]
    r = http.get(server.url + entry["url_path"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["etag"])
    mtime = (site / entry["path"]).stat().st_mtime
    assert r.headers["last-modified"] == formatdate(mtime, usegmt=True)
    assert entry["known_sentence"] in r.text
    assert f'<link rel="canonical" href="{server.url}{entry["url_path"]}">' in r.text
    assert ORIGIN not in r.text
    assert int(r.headers["content-length"]) == len(r.content)
    for path, ctype in (
        ("/files/report.pdf", "application/pdf"),
        ("/data.json", "application/json"),
        ("/sitemap.xml", "application/xml"),
        ("/sitemap-extra.xml.gz", "application/gzip"),
        ("/robots.txt", "text/plain; charset=utf-8"),
        ("/feed.xml", "application/rss+xml"),
    ):
        assert http.get(server.url + path).headers["content-type"] == ctype, path
    extra = gzip.decompress(http.get(server.url + "/sitemap-extra.xml.gz").content).decode()
    assert f"<loc>{server.url}/about.html</loc>" in extra


def test_conditional_requests_and_head(server, manifest, http):
    url = server.url + by_kind(manifest, "article")[1]["url_path"]
    first = http.get(url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    r = http.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    r = http.get(url, headers={"If-Modified-Since": last_modified})
    assert r.status_code == 304 and r.content == b""
    r = http.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert r.status_code == 200 and r.content == first.content
    # If-None-Match wins over If-Modified-Since
    r = http.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified})
    assert r.status_code == 200
    head = http.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(first.content)) and head.headers["etag"] == etag


def test_redirects_404s_directories_and_robots(server, manifest, http):
    old = sorted(p for p in manifest["redirects"] if p.startswith("/old/"))[0]
    r = http.get(server.url + old)
    assert r.status_code == 301 and r.headers["location"] == manifest["redirects"][old]
    r = http.get(server.url + "/latest.html")
    assert r.status_code == 302 and r.headers["location"] == manifest["redirects"]["/latest.html"]
    assert http.get(server.url + "/loop/a").headers["location"] == "/loop/b"
    assert http.get(server.url + "/loop/b").headers["location"] == "/loop/a"
    with pytest.raises(httpx.TooManyRedirects):
        http.get(server.url + "/loop/a", follow_redirects=True)
    final = http.get(server.url + old, follow_redirects=True)
    assert final.status_code == 200 and str(final.url) == server.url + manifest["redirects"][old]
    for path in (*manifest["missing_paths"], "/_manifest.json", "/_redirects.json", "/../etc/passwd"):
        assert http.get(server.url + path).status_code == 404, path
    listing = http.get(server.url + "/section/guides/")
    assert listing.status_code == 200 and "<h1>Guides – page 1</h1>" in listing.text
    robots = http.get(server.url + "/robots.txt").text
    assert "Disallow: /private/" in robots and f"Sitemap: {server.url}/sitemap_index.xml" in robots


def test_fault_injection(site, manifest, tmp_path, http):
    path = by_kind(manifest, "article")[2]["url_path"]
    with SampleServer(site) as srv:
        srv.faults[path] = {"status": 429, "times": 2, "retry_after": 3}
        statuses = []
        for _ in range(3):
            r = http.get(srv.url + path)
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.headers["retry-after"] == "3"
        assert statuses == [429, 429, 200]
        srv.faults[path] = {"status": 503}
        assert http.get(srv.url + path).status_code == 503
        srv.faults[path] = {"delay": 0.3}
        start = time.monotonic()
        assert http.get(srv.url + path).status_code == 200
        assert time.monotonic() - start >= 0.3
        srv.faults[path] = {"body_bytes": 200_000}
        big = http.get(srv.url + path)
        assert big.status_code == 200 and len(big.content) == 200_000 and big.text.startswith("<!DOCTYPE html>")
        srv.faults.clear()
        srv.faults["*"] = {"status": 503, "times": 1}
        assert http.get(srv.url + "/robots.txt").status_code == 503
        assert http.get(srv.url + "/robots.txt").status_code == 200


def test_request_log_in_memory_and_on_disk(site, tmp_path, http):
    log = tmp_path / "requests.jsonl"
    with SampleServer(site, log_path=log) as srv:
        http.get(srv.url + "/", headers={"User-Agent": "corpusforge-test/1.0"})
        first = http.get(srv.url + "/robots.txt")
        http.get(srv.url + "/robots.txt", headers={"If-None-Match": first.headers["etag"]})
        http.get(srv.url + "/nope.html")
    keys = {"t", "method", "path", "status", "if_none_match", "if_modified_since", "user_agent", "bytes_sent"}
    entries = srv.requests
    assert [(e["path"], e["status"]) for e in entries] == [
        ("/", 200),
        ("/robots.txt", 200),
        ("/robots.txt", 304),
        ("/nope.html", 404),
    ]
    assert all(set(e) == keys for e in entries)
    assert entries[0]["user_agent"] == "corpusforge-test/1.0" and entries[0]["bytes_sent"] > 1000
    assert entries[2]["if_none_match"] == first.headers["etag"] and entries[2]["bytes_sent"] == 0
    on_disk = [json.loads(line) for line in log.read_text().splitlines()]
    assert on_disk == entries


def test_command_line_generates_serves_and_prints_its_url(tmp_path):
    site = tmp_path / "cli-site"
    log = tmp_path / "cli.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "corpusforge.connectors.sample_site.serve",
            str(site),
            "--generate",
            "30",
            "--quality",
            "--log",
            str(log),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and not url.endswith(":0")
        assert httpx.get(url + "/robots.txt", trust_env=False).status_code == 200
        assert load_manifest(site)["pages"] == 30 and load_manifest(site)["quality"] is True
    finally:
        proc.terminate()
        proc.wait(10)
    assert json.loads(log.read_text().splitlines()[0])["path"] == "/robots.txt"
    assert proc.stderr.read() == ""
