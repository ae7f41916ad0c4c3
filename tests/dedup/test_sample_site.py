"""Dedup on the sample site's article text, through `corpusforge dedup` (the Prefect flow on a
real Prefect server): the generator's exact and near copies end in their originals' clusters."""

from __future__ import annotations

from pathlib import Path

import trafilatura

from corpusforge.processing.dedup import true_jaccard
from corpusforge.processing.ids import doc_id_for
from tests.dedup.conftest import make_doc, write_docs

BASE = "http://sample.test"
MARGIN = 0.05  # MinHash estimates near the threshold go either way; see test_dedup.py


def site_documents(site_dir: Path, manifest: dict) -> dict[str, dict]:
    docs = {}
    for i, article in enumerate(manifest["articles"]):
        html = (site_dir / article["path"]).read_text(encoding="utf-8")
        text = trafilatura.extract(html, include_comments=False)
        if text:
            url = BASE + article["url_path"]
            docs[url] = make_doc(doc_id_for(url), text, quality=0.5, fetched_days=i)
    return docs


def test_cli_dedup_clusters_sample_site_duplicates(tmp_path, sample_site_dir, sample_manifest, prefect_api):
    from corpusforge.flows.cli import main
    from corpusforge.warehouse import Warehouse

    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    docs = site_documents(sample_site_dir, sample_manifest)
    write_docs(wh, list(docs.values()))
    config = tmp_path / "corpusforge.yaml"
    config.write_text(f"warehouse: {tmp_path / 'data'}\ndedup:\n  workers: 1\n")

    assert main(["--config", str(config), "dedup"]) == 0

    con = wh.connect()
    cluster_of = dict(con.sql("select doc_id, cluster_id from clusters").fetchall())
    reason_of = dict(con.sql("select doc_id, reason from clusters").fetchall())
    con.close()
    copies = [a for a in sample_manifest["articles"] if a["kind"] in ("exact_duplicate", "near_duplicate")]
    assert copies
    checked = 0
    for article in copies:
        copy, original = docs[BASE + article["url_path"]], docs[BASE + article["original"]]
        jaccard = true_jaccard(copy["text"], original["text"])
        same = cluster_of[copy["doc_id"]] == cluster_of[original["doc_id"]]
        if article["kind"] == "exact_duplicate":
            assert same and {reason_of[copy["doc_id"]], reason_of[original["doc_id"]]} == {"exact_duplicate_of", None}
        elif jaccard >= 0.8 + MARGIN:
            assert same, f"{article['path']} (Jaccard {jaccard:.2f}) not clustered with its original"
            assert {reason_of[copy["doc_id"]], reason_of[original["doc_id"]]} == {"near_duplicate_of", None}
        elif jaccard <= 0.8 - MARGIN:
            assert not same, f"{article['path']} (Jaccard {jaccard:.2f}) clustered with its original"
        else:
            continue
        checked += 1
    assert checked >= 2
    # a second run changes nothing
    assert main(["--config", str(config), "dedup"]) == 0
    assert wh.stats("clusters").files == 1  # only the first run wrote clusters rows
