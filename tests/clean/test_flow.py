"""The clean flow end to end: pages in the warehouse -> documents, incremental re-runs, the time
limit, per-source languages and PII settings (real Prefect API, Parquet and DuckDB)."""

from __future__ import annotations

import pytest

from corpusforge.flows.clean import clean
from corpusforge.schemas.config import CleanSettings, ConfigError, Settings, SourceConfig
from tests.clean.pages import HUGE_PAGE, page_row, write_pages


def settings_for(wh, clean: CleanSettings | None = None, **sources: dict) -> Settings:
    return Settings(
        warehouse=wh.root,
        sources=[SourceConfig(name=name, kind="site", url="http://127.0.0.1/", **cfg) for name, cfg in sources.items()],
        clean=clean or CleanSettings(workers=2),
    )


def _rows(result) -> list[dict]:
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def documents(wh, sql: str = "select * from documents order by url") -> list[dict]:
    con = wh.connect()
    try:
        return _rows(con.execute(sql))
    finally:
        con.close()


def test_clean_fills_documents_and_is_incremental(prefect_api, wh, sample_pages):
    write_pages(wh, sample_pages)
    settings = settings_for(wh, sample={})

    first = clean(settings)
    assert first.counts["pages to clean"] == len(sample_pages)
    assert first.counts["kept"] + first.counts["dropped"] == len(sample_pages)
    assert first.drops["gopher_too_few_words"] >= 1
    docs = documents(wh)
    assert len(docs) == len(sample_pages)
    assert all(d["pipeline_version"] and d["clean_run_id"] for d in docs)
    reason_sql = "select reason, count(*) as n from (select unnest(drop_reasons) as reason from documents) group by 1"
    reasons = {r["reason"]: r["n"] for r in documents(wh, reason_sql)}
    assert reasons == first.drops

    # Nothing new: nothing cleaned, nothing written.
    second = clean(settings)
    assert second.counts["pages to clean"] == 0
    assert second.outputs == []
    assert len(documents(wh, "select * from documents_history")) == len(sample_pages)

    # A changed page is cleaned again, alone.
    changed = dict(sample_pages[0])
    changed_body = changed["body"].replace(
        b"</div><!-- end article-body -->",
        b"<p>A brand new closing paragraph was added to this article.</p></div><!-- end article-body -->",
    )
    write_pages(wh, [page_row(changed["url"], changed_body, changed["content_type"], "sample")])
    third = clean(settings)
    assert third.counts["pages to clean"] == 1
    doc = documents(wh, f"select * from documents where url = '{changed['url']}'")[0]
    assert "A brand new closing paragraph was added to this article." in doc["text"]

    # A settings change (a new pipeline version) re-cleans every page of the source.
    stricter = settings_for(wh, sample={"filters": {"gopher_min_words": 200}})
    fourth = clean(stricter)
    assert fourth.counts["pages to clean"] == len(sample_pages)


def test_time_limit_languages_and_pii_per_source(prefect_api, wh, sample_pages, articles_by_url):
    english = next(p for p in sample_pages if articles_by_url[p["url"]]["kind"] == "article")
    pii = next(p for p in sample_pages if articles_by_url[p["url"]]["kind"] == "pii")
    huge = HUGE_PAGE
    rows = [
        page_row("http://slow.test/huge.html", huge, "text/html", "slow"),
        page_row(english["url"], english["body"], english["content_type"], "german_only"),
        page_row(pii["url"], pii["body"], pii["content_type"], "no_redaction"),
        page_row("http://files.test/report.pdf", b"%PDF-1.4 not html", "application/pdf", "slow"),
    ]
    write_pages(wh, rows)
    settings = settings_for(
        wh,
        CleanSettings(workers=2, extract_timeout=1.0),
        slow={},
        german_only={"languages": ["de"]},
        no_redaction={"redact_pii": False},
    )
    result = clean(settings)
    assert result.counts["pages to clean"] == 4
    docs = {d["url"]: d for d in documents(wh)}

    slow = docs["http://slow.test/huge.html"]
    assert (slow["kept"], slow["drop_reasons"]) == (False, ["extract_timeout"])
    assert slow["error"].startswith("extract_timeout")
    assert docs["http://files.test/report.pdf"]["drop_reasons"] == ["unsupported_content_type"]

    assert docs[english["url"]]["language"] == "en"
    assert "language_not_allowed" in docs[english["url"]]["drop_reasons"]

    unredacted = docs[pii["url"]]
    assert "@example." in unredacted["text"] and "[EMAIL]" not in unredacted["text"]
    assert not unredacted["pii_counts"]
    assert result.drops["extract_timeout"] == 1


def test_unknown_threshold_is_a_one_line_config_error(wh):
    with pytest.raises(ConfigError, match="sources\\[typo\\].filters: unknown filter threshold 'gopher_min_wrds'"):
        from corpusforge.flows.configs import clean_configs

        clean_configs(settings_for(wh, typo={"filters": {"gopher_min_wrds": 3}}))
