"""How summaries look on a terminal: one stage's table, and the pipeline's one-row-per-stage table."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from corpusforge.flows.stage import StageSummary


def stage_table(summary: StageSummary) -> Table:
    out = Table(title=f"{summary.stage}: done in {summary.seconds:.1f}s", show_header=True)
    out.add_column("what")
    out.add_column("count", justify="right")
    for key, value in summary.counts.items():
        out.add_row(key, f"{value:,}")
    for reason, value in summary.drops.most_common():
        out.add_row(f"dropped: {reason}", f"{value:,}")
    return out


def print_summary(summary: StageSummary, console: Console) -> None:
    console.print(stage_table(summary))
    if summary.failed:
        console.print(f"  [red]failed:[/red] {summary.error}", highlight=False, soft_wrap=True)
    for path in summary.outputs:
        console.print(f"  output: {path}")
    for note in summary.notes:
        console.print(f"  {note}")


# What "in" and "out" mean for each stage's headline, from the keys of its own counts.
HEADLINE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "crawl": (("fetched", "not_modified", "unchanged", "failed", "skipped", "gone"),
              ("fetched", "not_modified", "unchanged")),
    "clean": (("pages to clean",), ("kept",)),
    "dedup": (("documents in",), ("clusters",)),
    "annotate": ((), ()),
    "export_training": (("documents selected",), ("examples",)),
    "export_rag": (("documents selected",), ("chunks exported",)),
}  # fmt: skip


def _headline(result: dict) -> tuple[str, str]:
    keys_in, keys_out = HEADLINE.get(result["stage"], ((), ()))
    counts = result.get("counts", {})

    def total(keys: tuple[str, ...]) -> str:
        found = [counts[k] for k in keys if k in counts]
        return f"{sum(found):,}" if found else "-"

    return total(keys_in), total(keys_out)


def _top_drops(drops: dict, n: int = 3) -> str:
    ordered = sorted(drops.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = [f"{reason} {count:,}" for reason, count in ordered[:n]]
    if len(ordered) > n:
        lines.append(f"... {len(ordered) - n} more reasons")
    return "\n".join(lines) or "-"


def _short_path(path: str) -> str:
    if "://" in path:  # a URL (s3://...): relpath would fold its '//'
        return path
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def pipeline_table(results: list[dict]) -> Table:
    """Per stage: counts in and out, the main drop reasons, time, where the output is.
    Every count and every reason is in the stage's own summary and Prefect artifact."""
    out = Table(title="corpusforge pipeline summary")
    for col, justify in (("stage", "left"), ("in", "right"), ("out", "right"), ("top drop reasons", "left"),
                         ("time", "right"), ("output", "left")):  # fmt: skip
        out.add_column(col, justify=justify, overflow="fold")
    for r in results:
        if r["stage"] == "report":
            continue
        n_in, n_out = _headline(r)
        if r.get("error"):
            n_out = "[red]FAILED[/red]"
        elif r["stage"] == "annotate" and not r.get("counts"):
            n_in = n_out = "skipped"
        output = r.get("outputs", [])[:1]
        out.add_row(r["stage"], n_in, n_out, _top_drops(r.get("drops", {})), f"{r.get('seconds', 0):.1f}s",
                    _short_path(output[0]) if output else "-")  # fmt: skip
    return out


def print_pipeline(results: list[dict], console: Console, config_path: str | None) -> None:
    console.print(pipeline_table(results))
    for r in results:
        if r.get("error"):
            console.print(f"  [red]{r['stage']} failed:[/red] {r['error']}", highlight=False, soft_wrap=True)
        for note in r.get("notes", []):
            console.print(f"  {note}", highlight=False, soft_wrap=True)
    report = next((r for r in results if r["stage"] == "report"), None)
    if report:
        console.print(f"corpus report: {report['outputs'][0]}")
    cfg = f" -c {config_path}" if config_path else ""
    console.print("try:")
    console.print(f'  corpusforge{cfg} query "select source, language, count(*) from documents group by all"')
    console.print(f'  corpusforge{cfg} search "how do I read a file line by line"')
