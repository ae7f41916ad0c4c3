"""The corpus report from a hand-made warehouse: every section present, example documents per
drop reason, thresholds drawn, only current export versions, no empty chart, integer count axes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import lxml.html
import pytest

from corpusforge.processing.report_charts import bar_figure, kept_dropped_figure, signal_figure
from corpusforge.processing.report_html import render_report
from corpusforge.schemas import conform
from corpusforge.warehouse.report_stats import collect_report_stats
from tests.annotate.factories import decision, document, write_documents

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SECTIONS = [
    "Funnel: from fetched pages to the exports",
    "Documents per source and language",
    "Drop reasons, with example documents",
    "Signals against their thresholds",
    "Kept vs dropped documents",
    "Duplicate cluster sizes",
    "Annotation progress",
    "Exports: examples and tokens (current versions only)",
]


def _doc(n: int, words: int, punct: float, source: str) -> dict:
    too_few = decision("gopher_too_few_words", words >= 50, float(words), 50.0)
    punct_ratio = decision("fineweb_line_punct_ratio", punct >= 0.12, punct, 0.12)
    doc = document(n, kept=too_few["kept"] and punct_ratio["kept"], decisions=[too_few, punct_ratio], source=source)
    doc.update(word_count=words, text=f"Opening words of document {n}. " + "More prose follows here. " * 20,
               drop_reasons=[d["reason"] for d in (too_few, punct_ratio) if not d["kept"]])  # fmt: skip
    return doc


@pytest.fixture()
def corpus(wh):
    # 4 docs too short (3 of them also short of punctuation), 2 more short of punctuation, 6 kept.
    docs = [_doc(n, 10 + n, 0.05 if n < 3 else 0.3, "docs") for n in range(4)]
    docs += [_doc(n, 300, 0.01, "blog") for n in range(4, 6)]
    docs += [_doc(n, 200 + n, 0.4, "docs" if n % 2 else "blog") for n in range(6, 12)]
    write_documents(wh, docs)
    kept = [d for d in docs if d["kept"]]
    examples = []
    for version, built, tokens in (("stale-v1", T0, 7), ("current-v2", T0 + timedelta(days=1), 100)):
        for i, d in enumerate(kept):
            examples.append({"example_id": f"{version}-{i}", "export_name": "sample", "export_version": version,
                             "format": "text", "split": "train" if i < 4 else "validation", "text": d["text"],
                             "token_count": tokens, "doc_id": d["doc_id"], "source": d["source"],
                             "created_at": built})  # fmt: skip
    wh.write("training_examples", conform("training_examples", examples), "test-export")
    return wh, docs


def _render(wh) -> str:
    con = wh.connect()
    try:
        return render_report(collect_report_stats(con), generated_at="2024-01-02 00:00 UTC")
    finally:
        con.close()


@pytest.fixture()
def page(corpus):
    wh, docs = corpus
    return lxml.html.fromstring(_render(wh)), docs


@pytest.fixture()
def page_file(corpus, tmp_path):
    path = tmp_path / "corpus-report.html"
    path.write_text(_render(corpus[0]), encoding="utf-8")
    return path


def _section(tree, title: str):
    (section,) = [s for s in tree.iter("section") if s.findtext("h2") == title]
    return section


def test_every_section_is_present_in_order(page):
    tree, _ = page
    assert [s.findtext("h2") for s in tree.iter("section")] == SECTIONS


def test_each_drop_reason_lists_its_count_and_three_example_documents(page):
    tree, docs = page
    by_url = {d["url"]: d for d in docs}
    section = _section(tree, "Drop reasons, with example documents")
    blocks = {b.find("h3").text_content(): b for b in section.find_class("reason")}
    assert set(blocks) == {"gopher_too_few_words_failed: 4 documents", "fineweb_line_punct_ratio_failed: 5 documents"}
    for heading, block in blocks.items():
        reason = heading.split(":")[0]
        items = block.findall(".//li")
        assert len(items) == 3
        for item in items:
            link = item.find("a")
            doc = by_url[link.get("href")]
            assert reason in doc["drop_reasons"] and link.text == doc["title"]
            assert doc["url"] in item.text_content()
            assert item.find_class("snippet")[0].text_content().startswith(doc["text"][:30])
            # the signal's value against its threshold, from the filter that gave this reason
            signal = item.find_class("signal")[0].text_content()
            filter_name = reason.removesuffix("_failed")
            verdict = next(d for d in doc["decisions"] if d["filter"] == filter_name)
            assert signal == f"{filter_name} = {verdict['value']:g} (threshold {verdict['threshold']:g})"


def test_only_the_current_export_version_is_counted_with_its_tokens(page):
    tree, docs = page
    section = _section(tree, "Exports: examples and tokens (current versions only)")
    text = section.text_content()
    assert "current-v2" in text and "stale-v1" not in tree.text_content()
    rows = [[td.text_content() for td in tr.findall("td")] for tr in section.iter("tr")][1:]
    assert rows == [["training sample@current-v2", "train", "4", "400"],
                    ["training sample@current-v2", "validation", "2", "200"]]  # fmt: skip
    funnel = {tr[0].text_content(): tr[1].text_content() for tr in _section(tree, SECTIONS[0]).find("table")[1:]}
    assert funnel["documents in the training export"] == "6" and funnel["kept by filters"] == "6"


def test_per_source_funnel(page):
    tree, _ = page
    per_source = _section(tree, SECTIONS[0]).findall("table")[1]
    rows = {tr[0].text_content(): [td.text_content() for td in tr[1:]] for tr in per_source[1:]}
    # source: fetched, extracted, kept, representatives, in training, chunked
    assert rows == {"blog": ["0", "5", "3", "0", "3", "0"], "docs": ["0", "7", "3", "0", "3", "0"]}


def test_no_empty_chart_and_a_sentence_where_there_is_no_data(page):
    tree, _ = page
    for section in tree.iter("section"):
        images = section.findall(".//img")
        notes = section.find_class("no-data")
        assert images or notes or section.find(".//table") is not None, section.findtext("h2")
        for img in images:
            assert base64.b64decode(img.get("src").split(",", 1)[1]).startswith(b"\x89PNG")
    annotation = _section(tree, "Annotation progress")
    assert not annotation.findall(".//img")
    assert "No documents have been sent to Label Studio yet" in annotation.text_content()
    assert "No clusters yet" in _section(tree, "Duplicate cluster sizes").text_content()


def _count_ticks(axis) -> list[float]:
    lo, hi = axis.get_view_interval()
    return [t for t in axis.get_majorticklocs() if lo <= t <= hi]


def test_small_counts_get_a_linear_axis_with_integer_ticks():
    fig = bar_figure(["a", "b"], [1, 7], "t")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear" and all(t == int(t) for t in _count_ticks(ax.xaxis))
    rows = [{"kept": i % 3 > 0, "word_count": 100 + i, "quality_score": i / 10} for i in range(9)]
    fig = kept_dropped_figure(rows)
    fig.canvas.draw()
    for ax in fig.axes:
        assert ax.get_yscale() == "linear" and all(t == int(t) for t in _count_ticks(ax.yaxis))


def test_signal_histograms_draw_the_threshold():
    rows = [{"filter": "f", "value": v / 10, "threshold": 0.35, "kept": v / 10 >= 0.35} for v in range(10)]
    fig = signal_figure(rows, {"f": 4})
    lines = [line.get_xdata()[0] for line in fig.axes[0].get_lines()]
    assert lines == [0.35]
    assert "4 dropped, threshold 0.35" in fig.axes[0].get_title()


def test_the_page_in_a_browser_shows_every_chart_or_a_note(page_file):
    from tests.pipeline.browser import chromium, screenshot

    with chromium() as browser:
        browser.get(page_file.as_uri())
        sections = browser.execute_script(
            "return [...document.querySelectorAll('section')].map(s => ({"
            "  title: s.querySelector('h2').textContent,"
            "  images: [...s.querySelectorAll('img')].map(i => i.complete && i.naturalWidth > 100),"
            "  note: [...s.querySelectorAll('p.no-data')].map(p => p.innerText).join(' '),"
            "  tables: s.querySelectorAll('table').length}))"
        )
        browser.set_window_size(1200, browser.execute_script("return document.body.scrollHeight") + 100)
        screenshot(browser, "corpus-report-hand-made.png")
    assert [s["title"] for s in sections] == SECTIONS
    for s in sections:
        assert all(s["images"]), f"{s['title']}: an image did not load"
        assert s["images"] or s["note"] or s["tables"], f"{s['title']}: empty section"
    charts = {s["title"] for s in sections if s["images"]}
    assert charts == set(SECTIONS) - {"Duplicate cluster sizes", "Annotation progress"}
    notes = {s["title"]: s["note"] for s in sections if s["note"]}
    assert set(notes) == {"Duplicate cluster sizes", "Annotation progress"}
    assert notes["Annotation progress"].startswith("No documents have been sent to Label Studio yet")


def test_annotation_progress_is_a_chart_once_tasks_were_sent():
    from corpusforge.processing.report_html import annotation_section

    sent_only = annotation_section({"annotation_progress": [{"sent": 5, "annotated": 0, "labels": 0}]})
    assert sent_only.png and "No labels pulled yet" in sent_only.note
    labelled = annotation_section({"annotation_progress": [{"sent": 5, "annotated": 3, "labels": 4}]})
    assert labelled.png and not labelled.note
