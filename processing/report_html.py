"""The corpus report: one self-contained HTML page (charts inlined as PNG data URIs), for a
person deciding whether the corpus and its filters are right. Pure: stats in, HTML out.

Each section is a chart, a table or both; a section with no data yet says so in a sentence
(with the command that would fill it) rather than drawing an empty chart."""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import urlsplit

from corpusforge.processing.report_charts import bar_figure, kept_dropped_figure, signal_figure, to_png

STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222;line-height:1.4}"
    "section{margin:2em 0}img{max-width:100%}table{border-collapse:collapse;margin:.5em 0}"
    "td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}p.no-data{color:#666;font-style:italic}"
    ".snippet{color:#555;font-size:.9em}.reason{margin:1.2em 0}code{background:#f4f4f4;padding:0 3px}"
)


@dataclass
class Section:
    """One part of the page: a title, an optional chart, optional HTML (tables), or a note."""

    title: str
    png: str | None = None
    body: str = ""
    note: str = ""

    def html(self) -> str:
        css = "chart" if self.png else ("no-data" if self.note and not self.body else "table")
        parts = [f"<section class='{css}'><h2>{esc(self.title)}</h2>"]
        if self.note:
            parts.append(f"<p class='no-data'>{self.note}</p>")
        if self.png:
            parts.append(f"<figure class='chart'><img alt='{esc(self.title)}' src='data:image/png;base64,{self.png}'>"
                         "</figure>")  # fmt: skip
        parts.append(self.body)
        parts.append("</section>")
        return "".join(parts)


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


def _num(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3g}"
    return f"{int(value):,}"


def table(headers: list[str], rows: list[list], numeric_from: int = 1) -> str:
    """An HTML table; columns from `numeric_from` on are right-aligned numbers."""

    def cell(i, v, tag="td"):
        cls = " class='n'" if i >= numeric_from else ""
        return f"<{tag}{cls}>{_num(v) if i >= numeric_from and tag == 'td' else esc(v)}</{tag}>"

    head = "".join(cell(i, h, "th") for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


# ---- sections -------------------------------------------------------------------------------------
def funnel_section(stats: dict) -> Section:
    total = table(["step", "documents"], [[r["step"], r["n"]] for r in stats["funnel"]])
    per_source = table(
        ["source", "pages fetched", "extracted", "kept by filters", "representatives", "in training export",
         "chunked for RAG"],
        [[r["source"], r["fetched"], r["extracted"], r["kept"], r["representatives"], r["in_training"], r["chunked"]]
         for r in stats["source_funnel"]],
    )  # fmt: skip
    steps = stats["funnel"]
    png = None
    if any(r["n"] for r in steps):
        png = to_png(bar_figure([r["step"] for r in steps], [r["n"] for r in steps], "from pages to exports",
                                xlabel="documents"))  # fmt: skip
    return Section("Funnel: from fetched pages to the exports", png, body=total + "<h3>Per source</h3>" + per_source)


def sources_section(stats: dict) -> Section:
    rows = stats["docs_by_source_language"]
    if not rows:
        return Section("Documents per source and language", note="No documents yet: run <code>corpusforge run</code>.")
    labels = [f"{r['source']} / {r['language']}" for r in rows]
    return Section("Documents per source and language",
                   to_png(bar_figure(labels, [r["n"] for r in rows], "documents per source / language")))  # fmt: skip


def drop_reasons_section(stats: dict) -> Section:
    reasons = stats["drop_reasons"]
    title = "Drop reasons, with example documents"
    if not reasons:
        return Section(title, note="No document was dropped by the filters.")
    fig = bar_figure([r["reason"] for r in reasons], [r["n"] for r in reasons],
                     "documents dropped, by reason (a document may have several)", xlabel="documents")  # fmt: skip
    chart = to_png(fig)
    examples: dict[str, list[dict]] = {}
    for ex in stats["drop_examples"]:
        examples.setdefault(ex["reason"], []).append(ex)
    blocks = [_reason_block(r["reason"], r["n"], examples.get(r["reason"], [])) for r in reasons]
    return Section(title, chart, body="".join(blocks))


def _reason_block(reason: str, count: int, examples: list[dict]) -> str:
    items = "".join(_example_item(ex) for ex in examples)
    return (f"<div class='reason'><h3 id='reason-{esc(reason)}'><code>{esc(reason)}</code>: {_documents(count)}</h3>"
            f"<ol class='examples'>{items}</ol></div>")  # fmt: skip


def _documents(count: int) -> str:
    return f"{count:,} document" + ("" if count == 1 else "s")


def _example_item(ex: dict) -> str:
    decision = ex.get("decision") or {}
    signal = ""
    if decision.get("value") is not None:
        signal = (f" <span class='signal'>{esc(decision.get('filter'))} = {_num(decision['value'])}"
                  f" (threshold {_num(decision.get('threshold'))})</span>")  # fmt: skip
    url = ex.get("url") or ""
    title = ex.get("title") or urlsplit(url).path or url
    snippet = " ".join((ex.get("snippet") or "").split())
    return (f"<li><a href='{esc(url)}'>{esc(title)}</a>{signal}<br><span class='url'>{esc(url)}</span>"
            f"<div class='snippet'>{esc(snippet)}…</div></li>")  # fmt: skip


def signals_section(stats: dict) -> Section:
    title = "Signals against their thresholds"
    rows = stats["signal_values"]
    if not rows:
        return Section(title, note="No filter recorded a signal value yet.")
    drops = {}
    for r in rows:
        if not r["kept"]:
            drops[r["filter"]] = drops.get(r["filter"], 0) + 1
    note = "Green: documents the filter kept; red: dropped by it; dashed line: its threshold."
    return Section(title, to_png(signal_figure(rows, drops)), note="", body=f"<p>{note}</p>")


def kept_dropped_section(stats: dict) -> Section:
    title = "Kept vs dropped documents"
    if not stats["kept_vs_dropped"]:
        return Section(title, note="No documents yet: run <code>corpusforge run</code>.")
    summary = table(["documents", "count", "median words", "median quality score"],
                    [["kept" if r["kept"] else "dropped", r["documents"], r["median_words"], r["median_quality"]]
                     for r in stats["kept_vs_dropped_summary"]])  # fmt: skip
    return Section(title, to_png(kept_dropped_figure(stats["kept_vs_dropped"])), body=summary)


def clusters_section(stats: dict) -> Section:
    title = "Duplicate cluster sizes"
    rows = stats["cluster_sizes"]
    if not rows:
        return Section(title, note="No clusters yet: run <code>corpusforge dedup</code>.")
    fig = bar_figure([str(r["cluster_size"]) for r in rows], [r["clusters"] for r in rows],
                     "clusters by size (1 = unique)", horizontal=False, xlabel="documents in the cluster",
                     ylabel="clusters")  # fmt: skip
    return Section(title, to_png(fig))


def annotation_section(stats: dict) -> Section:
    title = "Annotation progress"
    prog = stats["annotation_progress"][0] if stats["annotation_progress"] else {"sent": 0, "annotated": 0}
    if not prog["sent"]:
        return Section(title, note="No documents have been sent to Label Studio yet: "
                                   "<code>corpusforge annotate push</code> sends a sample, "
                                   "<code>corpusforge annotate pull</code> brings the labels back.")  # fmt: skip
    fig = bar_figure(["sent to Label Studio", "annotated"], [prog["sent"], prog["annotated"]], "documents",
                     xlabel="documents")  # fmt: skip
    note = "" if prog["annotated"] else "No labels pulled yet: <code>corpusforge annotate pull</code>."
    return Section(title, to_png(fig), note=note)


def exports_section(stats: dict) -> Section:
    title = "Exports: examples and tokens (current versions only)"
    training = stats["training_examples"]
    rag = stats["rag_chunks"][0] if stats["rag_chunks"] else {"chunks": 0}
    if not training and not rag["chunks"]:
        return Section(title, note="No export built yet: <code>corpusforge export training</code>, "
                                   "<code>corpusforge export rag</code>.")  # fmt: skip
    rows = [[f"training {r['export_name']}@{r['export_version']}", r["split"], r["n"], r["tokens"]] for r in training]
    if rag["chunks"]:
        rows.append(["RAG chunks", f"{rag['documents']:,} documents", rag["chunks"], rag["tokens"]])
    body = table(["export", "split", "rows", "tokens"], rows, numeric_from=2)
    labels = [f"{r[0]} / {r[1]}" if r[0] != "RAG chunks" else "RAG chunks" for r in rows]
    tokens = [r[3] or 0 for r in rows]
    png = to_png(bar_figure(labels, tokens, "tokens per export and split", xlabel="tokens")) if any(tokens) else None
    return Section(title, png, body=body)


def report_sections(stats: dict) -> list[Section]:
    return [funnel_section(stats), sources_section(stats), drop_reasons_section(stats), signals_section(stats),
            kept_dropped_section(stats), clusters_section(stats), annotation_section(stats),
            exports_section(stats)]  # fmt: skip


def render_report(stats: dict, title: str = "corpusforge corpus report", generated_at: str = "") -> str:
    sections = report_sections(stats)
    contents = "".join(f"<li>{esc(s.title)}</li>" for s in sections)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1><p>Generated {esc(generated_at)}.</p><ul class='contents'>{contents}</ul>",
        *(s.html() for s in sections),
        "</body></html>",
    ]
    return "\n".join(parts)
