"""`corpusforge filters` and `corpusforge inspect` on a real warehouse: the quality sample site
fetched over HTTP, its pages and documents written as Parquet, the commands run as a user runs
them (a subprocess of the installed CLI), reading stored signals through DuckDB."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from corpusforge.processing.clean import CleanConfig, clean_page
from corpusforge.processing.quality import merge_thresholds
from corpusforge.schemas import conform
from tests.clean.pages import fetch_pages, write_pages


@pytest.fixture(scope="module")
def quality_warehouse(tmp_path_factory):
    from corpusforge.connectors.sample_site import SampleServer, generate_site
    from corpusforge.warehouse import Warehouse, utc_now

    root = tmp_path_factory.mktemp("filters-cli")
    manifest = generate_site(root / "site", pages=30, seed=1, quality=True)
    with SampleServer(root / "site") as server:
        entries = [a for a in manifest["articles"] if a["kind"] != "private"]
        pages = fetch_pages(server.url, [a["url_path"] for a in entries])
        base = server.url
    wh = Warehouse(str(root / "data"))
    wh.init()
    write_pages(wh, pages)
    config = CleanConfig(thresholds=merge_thresholds("domain"), profile="domain")
    docs = [{**clean_page(p, config, config.pipeline_version()), "cleaned_at": utc_now()} for p in pages]
    wh.write("documents", conform("documents", docs), "test-clean")
    cfg = root / "corpusforge.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "warehouse": str(root / "data"),
                "sources": [{"name": "sample", "kind": "site", "url": base + "/", "allow_private_network": True}],
            }
        )
    )
    return {"config": cfg, "entries": entries, "docs": docs, "base": base}


def corpusforge(config, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "corpusforge.flows.cli", "-c", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _drops(out: str, reason: str) -> int:
    line = next(line for line in out.splitlines() if re.search(rf"\b{reason}\b", line))
    return int(line.split("│")[5].strip().replace(",", ""))


def test_filters_lists_every_rule_with_its_drops_on_the_current_corpus(quality_warehouse):
    done = corpusforge(quality_warehouse["config"], "filters")
    assert done.returncode == 0, done.stderr
    docs = quality_warehouse["docs"]
    for reason in ("error_page", "keyword_stuffing", "link_list", "consent_wall"):
        assert _drops(done.stdout, reason) == sum(reason in d["drop_reasons"] for d in docs), reason
    assert re.search(r"c4_max_curly_brackets .*│\s+off\s+│", done.stdout)  # not run by the domain profile
    kept = sum(d["kept"] for d in docs)
    assert f"{kept} of {len(docs)} documents kept (now: {kept})" in done.stdout


def test_filters_profile_web_rejudges_stored_signals_without_cleaning(quality_warehouse):
    domain = corpusforge(quality_warehouse["config"], "filters")
    web = corpusforge(quality_warehouse["config"], "filters", "--profile", "web")
    assert web.returncode == 0, web.stderr
    assert _drops(web.stdout, "c4_curly_bracket") > 0  # reference pages with code
    kept_web = int(re.search(r"under web: (\d+) of", web.stdout).group(1))
    kept_domain = int(re.search(r"under each source's profile: (\d+) of", domain.stdout).group(1))
    assert kept_web < kept_domain
    bad = corpusforge(quality_warehouse["config"], "filters", "--profile", "pretraining")
    assert bad.returncode != 0 and "unknown profile 'pretraining'" in bad.stderr


def test_inspect_shows_fetch_text_signals_and_why_an_export_leaves_it_out(quality_warehouse):
    stuffing = next(e for e in quality_warehouse["entries"] if e["kind"] == "keyword_stuffing")
    done = corpusforge(quality_warehouse["config"], "inspect", quality_warehouse["base"] + stuffing["url_path"])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "fetched 200" in out and "bytes" in out  # the fetch
    assert stuffing["title"].split()[0] in out  # the text's first lines
    assert re.search(r"junk_max_top10_word_fraction.*drop: keyword_stuffing", out)
    assert "training export 'default': left out: filtered (keyword_stuffing)" in out
    assert "rag export 'default': left out: filtered (keyword_stuffing)" in out


def test_inspect_of_kept_reference_page_and_of_an_unknown_target(quality_warehouse):
    reference = next(e for e in quality_warehouse["entries"] if e["kind"] == "api_reference")
    done = corpusforge(quality_warehouse["config"], "inspect", quality_warehouse["base"] + reference["url_path"])
    assert done.returncode == 0, done.stderr
    assert "rag export 'default': selected" in done.stdout
    missing = corpusforge(quality_warehouse["config"], "inspect", "http://nowhere.test/x")
    assert missing.returncode != 0
    assert "no current document" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
