"""`corpusforge report`: one self-contained HTML page of charts about the corpus."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from corpusforge.processing.report_html import render_report
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.report_stats import collect_report_stats


def default_report_path(wh: Warehouse) -> Path:
    return Path(wh.root).parent / "reports" / "corpus-report.html"


def write_corpus_report(wh: Warehouse, output: Path | None = None) -> Path:
    """Collect the numbers, render the page, write it atomically; returns its path."""
    output = Path(output or default_report_path(wh))
    con = wh.connect()
    try:
        stats = collect_report_stats(con)
    finally:
        con.close()
    page = render_report(stats, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(output)
    return output
