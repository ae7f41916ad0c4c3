"""`corpusforge report`: one self-contained HTML page of charts about the corpus."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from corpusforge.processing.report_html import render_report
from corpusforge.warehouse import Warehouse
from corpusforge.warehouse.report_stats import collect_report_stats


def default_report_path(wh: Warehouse) -> Path:
    return Path(wh.root).parent / "reports" / "corpus-report.html"


def write_corpus_report(wh: Warehouse, output: Path | None = None) -> Path | str:
    """Collect the numbers, render the page, write it atomically; returns its path (a URL for the
    default place of a warehouse on object storage)."""
    output = Path(output or default_report_path(wh))
    con = wh.connect()
    try:
        stats = collect_report_stats(con)
    finally:
        con.close()
    page = render_report(stats, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    if not wh.is_local and output == default_report_path(wh):  # beside the tables, in the bucket
        with wh.fs.open_output_stream(output.as_posix()) as fh:  # one PUT: whole or absent
            fh.write(page.encode("utf-8"))
        return wh.location(output.as_posix())
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(output)
    return output
