"""The crawler against the sample site on a real local HTTP server: robots, delay, retries,
redirects, size cap, conditional re-crawl, tombstones, private addresses, sitemaps and feeds."""

from __future__ import annotations

from collections import Counter

import pytest

from corpusforge.connectors.sample_site import delete_page, edit_page
from corpusforge.processing.ids import doc_id_for
from tests.crawl.conftest import make_settings, pages_rows, run_crawl, url_path

pytestmark = pytest.mark.usefixtures("prefect_api")  # every crawl runs as a Prefect flow


def requests_of(srv) -> list[dict]:
    """The server's own request log ({t, path, status, if_none_match, user_agent, ...})."""
    return list(srv.requests)


def public_article_paths(manifest) -> set[str]:
    return {a["url_path"] for a in manifest["articles"] if a["kind"] != "private"}


def test_site_crawl_obeys_robots_and_fetches_every_allowed_page_once(serve, sample_site_dir, sample_manifest, wh):
    srv = serve(sample_site_dir)
    results = run_crawl(make_settings(wh.root, srv.url + "/"))
    log = requests_of(srv)
    requested = Counter(e["path"] for e in log)
    # robots.txt disallows /private/: never requested (checked from the server's own log)
    assert not [p for p in requested if p.startswith(sample_manifest["disallowed_prefix"])]
    rows = pages_rows(wh)
    private_rows = [r for r in rows if url_path(r["url"]).startswith("/private/")]
    assert private_rows and {r["fetch_status"] for r in private_rows} == {"skipped"}
    assert {r["error"].split(":")[0] for r in private_rows} == {"robots_disallowed"}
    fetched = {url_path(r["url"]) for r in rows if r["fetch_status"] == "fetched"}
    assert public_article_paths(sample_manifest) <= fetched
    # each page requested exactly once, and one pages row per URL
    assert all(requested[p] == 1 for p in fetched)
    assert max(Counter(r["url"] for r in rows).values()) == 1
    # non-HTML is skipped with its reason, without keeping the body
    non_html = {url_path(r["url"]): r for r in rows if r["error"] and r["error"].startswith("content_type")}
    assert set(sample_manifest["non_html"]) <= set(non_html)
    assert all(r["body"] is None for r in non_html.values())
    assert results[0]["skipped_by_robots"] == len(private_rows)


def test_redirects_loop_and_chain_limit(serve, sample_site_dir, sample_manifest, wh):
    srv = serve(sample_site_dir)
    run_crawl(make_settings(wh.root, srv.url + "/", max_redirects=1))
    rows = {url_path(r["url"]): r for r in pages_rows(wh)}
    loop_a, loop_b = sample_manifest["redirect_loop"]
    assert rows[loop_a]["fetch_status"] == "skipped" and rows[loop_a]["error"].startswith("redirect: ")
    assert rows[loop_b]["fetch_status"] == "failed" and rows[loop_b]["error"].startswith("redirect_loop: ")
    very_old = next(p for p in sample_manifest["redirects"] if p.startswith("/very-old/"))
    old = sample_manifest["redirects"][very_old]
    # /very-old/x -> /old/x -> /articles/x is two redirects: over the limit of one
    assert rows[old]["fetch_status"] == "failed" and rows[old]["error"].startswith("too_many_redirects: ")
    assert rows[old]["redirects"] == [srv.url + very_old]
    # a plain redirect's target is fetched once, as a page of its own
    first_old = sorted(p for p in sample_manifest["redirects"] if p.startswith("/old/"))[0]
    target = sample_manifest["redirects"][first_old]
    assert rows[first_old]["final_url"] == srv.url + target
    assert rows[target]["fetch_status"] == "fetched"


def test_oversized_page_is_cut_and_recorded(serve, sample_site_dir, sample_manifest, wh):
    srv = serve(sample_site_dir)
    article = sorted(public_article_paths(sample_manifest))[0]
    srv.faults[article] = {"body_bytes": 3_000_000}
    settings = make_settings(wh.root, srv.url + article, max_body_bytes=100_000, source={"max_depth": 0})
    run_crawl(settings)
    (row,) = pages_rows(wh)
    assert row["fetch_status"] == "fetched" and row["truncated"] is True
    assert len(row["body"]) == 100_000 and row["content_length"] == 100_000


def test_per_host_delay_and_robots_crawl_delay_are_honoured(serve, site_copy, wh):
    robots = site_copy / "robots.txt"
    srv = serve(site_copy)
    run_crawl(make_settings(wh.root, srv.url + "/", delay=0.2, concurrency_per_host=2, source={"max_pages": 6}))
    # After robots.txt, as below: the worker process's first connection (set up after its start was
    # granted) makes robots.txt arrive late, so its server-side gap to the next request looks short.
    starts = [e["t"] for e in requests_of(srv)[1:]]
    assert requests_of(srv)[0]["path"] == "/robots.txt" and len(starts) >= 6
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= 0.2 * 0.9  # server-side timestamps

    robots.write_text(robots.read_text().replace("User-agent: *\n", "User-agent: *\nCrawl-delay: 0.3\n", 1))
    n = len(srv.requests)
    run_crawl(make_settings(wh.root, srv.url + "/", name="slow", source={"max_pages": 5}))
    starts = [e["t"] for e in requests_of(srv)[n + 1 :]]  # after robots.txt
    assert len(starts) >= 4
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= 0.3 * 0.9


def test_retry_after_and_backoff_are_honoured(serve, sample_site_dir, sample_manifest, wh):
    srv = serve(sample_site_dir)
    articles = sorted(public_article_paths(sample_manifest))
    busy, broken, flaky = articles[0], articles[1], articles[2]
    srv.faults[busy] = {"status": 429, "times": 1, "retry_after": 1}
    srv.faults[broken] = {"status": 503}  # never recovers
    srv.faults[flaky] = {"status": 500, "times": 1}
    urls = [srv.url + p for p in (busy, broken, flaky)]
    for url in urls:
        run_crawl(make_settings(wh.root, url, name=url_path(url), source={"max_depth": 0}))
    rows = {url_path(r["url"]): r for r in pages_rows(wh)}
    assert rows[busy]["fetch_status"] == "fetched" and rows[flaky]["fetch_status"] == "fetched"
    assert rows[broken]["fetch_status"] == "failed" and rows[broken]["status"] == 503
    assert rows[broken]["error"].startswith("http_503: after 3 attempt(s)")
    hits = [e for e in requests_of(srv) if e["path"] == busy]
    assert [e["status"] for e in hits] == [429, 200]
    assert hits[1]["t"] - hits[0]["t"] >= 1.0 * 0.95  # waited as long as Retry-After asked
    assert [e["status"] for e in requests_of(srv) if e["path"] == broken] == [503, 503, 503]
    assert all(e["user_agent"].startswith("corpusforge/") for e in requests_of(srv))


def test_recrawl_transfers_no_bodies_then_changes_and_deletions_are_seen(serve, site_copy, wh):
    from corpusforge.connectors.sample_site import load_manifest

    manifest = load_manifest(site_copy)
    srv = serve(site_copy)
    settings = make_settings(wh.root, srv.url + "/")
    run_crawl(settings)
    first = {r["url"]: r for r in pages_rows(wh, fetch_status="fetched")}
    n_log = len(requests_of(srv))

    second = run_crawl(settings)[0]
    log2 = requests_of(srv)[n_log:]
    assert second["counts"].get("fetched", 0) == 0
    assert second["counts"]["not_modified"] == len(first)
    html_requests = [e for e in log2 if srv.url + e["path"] in first]
    assert html_requests and {e["status"] for e in html_requests} == {304}
    run2 = pages_rows(wh, crawl_run_id=second["run_id"])
    assert all(r["body"] is None for r in run2)

    articles = sorted(public_article_paths(manifest))
    edited, deleted = articles[0], articles[1]
    edit_page(site_copy, edited, "A sentence that was added after the first crawl.")
    delete_page(site_copy, deleted)
    third = run_crawl(settings)[0]
    run3 = {url_path(r["url"]): r for r in pages_rows(wh, crawl_run_id=third["run_id"])}
    assert run3[edited]["fetch_status"] == "fetched"
    assert b"added after the first crawl" in run3[edited]["body"]
    assert run3[deleted]["fetch_status"] == "gone" and run3[deleted]["status"] == 404
    tombstones = wh.read("tombstones").to_pylist()
    assert [(t["doc_id"], t["reason"]) for t in tombstones] == [(doc_id_for(srv.url + deleted), "http_404")]
    assert third["counts"]["fetched"] == 1 and third["counts"]["gone"] == 1

    # a page that stays gone gets no second tombstone
    run_crawl(settings)
    assert len(wh.read("tombstones")) == 1
    con = wh.connect()
    state = dict(con.execute("select url, fetch_status from crawl_state").fetchall())
    con.close()
    assert state[srv.url + deleted] == "gone"


def test_private_address_refused_unless_allowed(serve, sample_site_dir, wh):
    srv = serve(sample_site_dir)
    results = run_crawl(make_settings(wh.root, srv.url + "/", allow_private=False))
    (row,) = pages_rows(wh)
    assert row["fetch_status"] == "skipped" and row["error"].startswith("private_address: ")
    assert "loopback" in row["error"]
    assert requests_of(srv) == []  # not even robots.txt
    assert results[0]["counts"] == {"skipped": 1}


def test_sitemap_source_reads_index_gzip_and_robots(serve, sample_site_dir, sample_manifest, wh):
    srv = serve(sample_site_dir)
    run_crawl(make_settings(wh.root, srv.url + "/", kind="sitemap", name="sm"))
    fetched = {url_path(r["url"]) for r in pages_rows(wh, fetch_status="fetched")}
    assert public_article_paths(sample_manifest) <= fetched
    assert "/about.html" in fetched  # from the gzipped sitemap named by the index
    assert not [p for p in fetched if p.startswith("/private/")]


def test_feed_source_fetches_entry_links(serve, sample_site_dir, sample_manifest, wh):
    srv = serve(sample_site_dir)
    for feed, name in ((sample_manifest["feed"], "rss"), (sample_manifest["atom"], "atom")):
        run_crawl(make_settings(wh.root, srv.url + feed, kind="feed", name=name))
        fetched = {url_path(r["url"]) for r in pages_rows(wh, source=name, fetch_status="fetched")}
        assert fetched == set(sample_manifest["feed_items"])
