"""Extraction on the sample site, fetched over real HTTP: article text in, boilerplate out,
metadata read, languages identified, PII redacted."""

from __future__ import annotations

import pytest

from corpusforge.processing.clean import CleanConfig, clean_page
from corpusforge.processing.quality import merge_thresholds


@pytest.fixture(scope="module")
def cleaned(sample_pages, articles_by_url) -> list[tuple[dict, dict]]:
    config = CleanConfig(thresholds=merge_thresholds("domain"))
    version = config.pipeline_version()
    return [(articles_by_url[p["url"]], clean_page(p, config, version)) for p in sample_pages]


def test_article_text_kept_and_boilerplate_dropped(cleaned, sample_manifest):
    boilerplate = sample_manifest["boilerplate_sentences"]
    articles = [(a, doc) for a, doc in cleaned if a["kind"] in ("article", "near_duplicate", "exact_duplicate", "pii")]
    assert len(articles) >= 30
    for article, doc in articles:
        assert doc["error"] is None
        assert article["known_sentence"] in doc["text"], article["url_path"]
        assert article["known_sentence"] in doc["markdown"].replace("\\", ""), article["url_path"]
        for sentence in boilerplate:
            assert sentence not in doc["text"], (article["url_path"], sentence)


def test_metadata_and_markdown_structure(cleaned, site_server):
    for article, doc in cleaned:
        if article["kind"] != "article":
            continue
        assert doc["title"] == article["title"]
        assert doc["author"] == article["author"]
        assert doc["published"] == article["published"][:10]
        assert doc["canonical_url"] == f"{site_server.url}{article['url_path']}"
        assert doc["sitename"]
        assert doc["description"]
    markdowns = [doc["markdown"] for a, doc in cleaned if a["kind"] == "article"]
    assert any("\n## " in md or md.startswith("## ") for md in markdowns)  # headings kept
    assert any("\n- " in md for md in markdowns)  # lists kept
    assert any("\n| " in md for md in markdowns)  # tables kept


def test_languages_identified(cleaned):
    for article, doc in cleaned:
        if article["kind"] in ("article", "foreign"):
            assert doc["language"] == article["language"], article["url_path"]
            assert 0.5 < doc["language_score"] <= 1.0


def test_planted_spam_and_thin_pages_are_dropped_with_reasons(cleaned):
    by_kind = {}
    for article, doc in cleaned:
        by_kind.setdefault(article["kind"], []).append(doc)
    for doc in by_kind["spam"]:
        assert not doc["kept"]
        assert "keyword_stuffing" in doc["drop_reasons"]
    for doc in by_kind["thin"]:
        assert not doc["kept"]
        assert "gopher_too_few_words" in doc["drop_reasons"]
    kept_articles = [doc["kept"] for doc in by_kind["article"]]
    assert sum(kept_articles) >= 0.9 * len(kept_articles)
    assert min(d["quality_score"] for d in by_kind["article"] if d["kept"]) > max(
        d["quality_score"] for d in by_kind["spam"] + by_kind["thin"]
    )


def test_pii_pages_are_redacted(cleaned):
    for article, doc in cleaned:
        if article["kind"] != "pii":
            continue
        counts = dict(doc["pii_counts"])
        for item in article["pii"]:
            assert item["value"] not in doc["text"]
            assert item["value"] not in doc["markdown"]
            assert counts.get(item["type"], 0) >= 1
        assert "[EMAIL]" in doc["text"] and "[PHONE]" in doc["text"]
