"""The filter profiles on the quality sample site, fetched over real HTTP: per kind of page, what
the `domain` profile (the default) and the `web` profile keep and drop, with which reason.

The manifest's `expected` is what a user who points corpusforge at their own documentation wants.
"""

from __future__ import annotations

import pytest

from corpusforge.processing.clean import CleanConfig, clean_page
from corpusforge.processing.gates import build_gate, gated_reasons
from corpusforge.processing.quality import merge_thresholds
from tests.clean.pages import fetch_pages

# The reason the domain profile gives each kind of junk (one of them is enough).
JUNK_REASONS = {
    "soft_404": {"error_page"},
    "error_page": {"error_page"},
    "consent_wall": {"consent_wall"},
    "javascript_wall": {"javascript_wall"},
    "login_wall": {"login_wall"},
    "link_list": {"link_list"},
    "directory": {"link_list"},
    "tag_cloud": {"tag_cloud"},
    "lorem_ipsum": {"c4_lorem_ipsum"},
    "filler": {"filler"},
    "keyword_stuffing": {"keyword_stuffing"},
    "gibberish": {"gibberish", "gibberish_word_order"},
    "price_list": {"price_list"},
    "coming_soon": {"coming_soon"},
    # trafilatura drops repeated lines itself, so what is left is one line: a thin page.
    "repeated_line": {"repeated_lines", "gopher_too_few_words"},
    "spam": {"keyword_stuffing"},
    "thin": {"gopher_too_few_words"},
}


@pytest.fixture(scope="module")
def quality_site(tmp_path_factory):
    from corpusforge.connectors.sample_site import SampleServer, generate_site

    root = tmp_path_factory.mktemp("quality-site")
    manifest = generate_site(root, pages=30, seed=0, quality=True)
    with SampleServer(root) as server:
        entries = [a for a in manifest["articles"] if a["kind"] != "private"]
        pages = fetch_pages(server.url, [a["url_path"] for a in entries])
        yield list(zip(entries, pages, strict=True))


def _cleaned(quality_site, profile: str) -> list[tuple[dict, dict]]:
    config = CleanConfig(thresholds=merge_thresholds(profile), profile=profile)
    return [(entry, clean_page(page, config, config.pipeline_version())) for entry, page in quality_site]


@pytest.fixture(scope="module")
def domain(quality_site):
    return _cleaned(quality_site, "domain")


@pytest.fixture(scope="module")
def web(quality_site):
    return _cleaned(quality_site, "web")


def test_domain_profile_keeps_every_page_the_user_wants_and_drops_every_junk_page(domain):
    wrong = [
        (e["kind"], e["language"], e["url_path"], d["drop_reasons"])
        for e, d in domain
        if d["kept"] != (e["expected"] == "keep")
    ]
    assert not wrong


@pytest.mark.parametrize("kind", sorted(JUNK_REASONS))
def test_each_junk_kind_is_dropped_with_its_reason_in_both_profiles(domain, web, kind):
    for cleaned in (domain, web):
        pages = [(e, d) for e, d in cleaned if e["kind"] == kind]
        assert pages, f"the quality site has no {kind} page"
        for entry, doc in pages:
            assert not doc["kept"], (kind, entry["url_path"])
            assert JUNK_REASONS[kind] & set(doc["drop_reasons"]), (kind, entry["language"], doc["drop_reasons"])


@pytest.mark.parametrize("kind", ["reference", "api_reference", "changelog", "faq"])
def test_documentation_is_kept_and_in_both_default_exports_under_domain(domain, kind):
    rag, training = build_gate("rag", None), build_gate("training", None)
    pages = [(e, d) for e, d in domain if e["kind"] == kind]
    assert pages
    for entry, doc in pages:
        assert doc["kept"], (entry["url_path"], doc["drop_reasons"])
        assert not gated_reasons(doc["drop_reasons"], rag, "domain"), entry["url_path"]
        assert not gated_reasons(doc["drop_reasons"], training, "domain"), (entry["url_path"], doc["drop_reasons"])


def test_chinese_and_japanese_documentation_is_kept(domain):
    cjk = [(e, d) for e, d in domain if e["language"] in ("zh", "ja") and e["expected"] == "keep"]
    assert {e["language"] for e, _ in cjk} == {"zh", "ja"}
    for entry, doc in cjk:
        assert doc["language"] == entry["language"] and doc["kept"], (entry["url_path"], doc["drop_reasons"])


def test_web_profile_applies_the_published_rules_to_code_pages(domain, web):
    """The same reference pages the domain profile keeps lose pages to the open-web rules."""
    code_pages = {e["url_path"] for e, _ in domain if e["kind"] in ("reference", "api_reference", "faq")}
    web_dropped = {e["url_path"]: d["drop_reasons"] for e, d in web if e["url_path"] in code_pages and not d["kept"]}
    assert len(web_dropped) >= len(code_pages) // 2
    assert any("c4_curly_bracket" in reasons for reasons in web_dropped.values())
