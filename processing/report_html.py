"""The corpus report: one self-contained HTML page of charts (PNG images inlined as data URIs),
because a distribution is easier to look at than to read. Pure: stats in, HTML out."""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")  # no display: render to memory
import matplotlib.pyplot as plt  # noqa: E402


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def bar_chart(labels: list[str], values: list[float], title: str, horizontal: bool = True) -> str:
    fig, ax = plt.subplots(figsize=(7, max(2.2, 0.35 * len(labels) + 1)) if horizontal else (7, 3.2))
    if not labels:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center")
        ax.set_axis_off()
    elif horizontal:
        ax.barh(labels[::-1], values[::-1], color="#4c72b0")
    else:
        ax.bar(labels, values, color="#4c72b0")
    ax.set_title(title)
    return _png(fig)


def histogram(values: list[float], title: str, xlabel: str, bins: int = 30, log: bool = False) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if values:
        ax.hist(values, bins=bins, color="#55a868", log=log)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("documents")
    else:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title(title)
    return _png(fig)


def chart_sections(stats: dict) -> list[tuple[str, str]]:
    """(title, base64 png) for every chart of the report."""
    by_sl = stats["docs_by_source_language"]
    sections = [
        ("Documents per source and language",
         bar_chart([f"{r['source']} / {r['language']}" for r in by_sl], [r["n"] for r in by_sl],
                   "documents per source / language")),
        ("Filter funnel",
         bar_chart([r["step"] for r in stats["funnel"]], [r["n"] for r in stats["funnel"]], "from pages to exports")),
        ("Drop reasons",
         bar_chart([r["reason"] for r in stats["drop_reasons"]], [r["n"] for r in stats["drop_reasons"]],
                   "documents dropped, by reason (a document may have several)")),
        ("Document length",
         histogram([r["word_count"] for r in stats["word_counts"]], "length", "words per document", log=True)),
        ("Quality score",
         histogram([r["quality_score"] for r in stats["quality_scores"]], "quality score", "score (0..1)")),
        ("Duplicate cluster sizes",
         bar_chart([str(r["cluster_size"]) for r in stats["cluster_sizes"]],
                   [r["clusters"] for r in stats["cluster_sizes"]],
                   "clusters by size (1 = unique)", horizontal=False)),
    ]
    prog = stats["annotation_progress"][0] if stats["annotation_progress"] else {"sent": 0, "annotated": 0}
    sections.append(("Annotation progress",
                     bar_chart(["sent to Label Studio", "annotated"], [prog["sent"], prog["annotated"]],
                               "documents")))
    ex = stats["training_examples"]
    sections.append(("Export sizes",
                     bar_chart([f"{r['export_name']}@{r['export_version']}/{r['split']}" for r in ex]
                               + ["RAG: documents chunked"],
                               [r["n"] for r in ex] + [stats["funnel"][-1]["n"]], "rows")))
    return sections


def render_report(stats: dict, title: str = "corpusforge corpus report", generated_at: str = "") -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
        "figure{margin:1.5em 0}img{max-width:100%}td,th{padding:2px 10px;text-align:right}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
        f"<p>Generated {html.escape(generated_at)}.</p>",
        "<h2>Funnel</h2><table><tr><th>step</th><th>count</th></tr>",
        *(f"<tr><td>{html.escape(r['step'])}</td><td>{r['n']:,}</td></tr>" for r in stats["funnel"]),
        "</table>",
    ]
    for name, png in chart_sections(stats):
        parts.append(
            f"<figure class='chart'><h2>{html.escape(name)}</h2>"
            f"<img alt='{html.escape(name)}' src='data:image/png;base64,{png}'></figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
