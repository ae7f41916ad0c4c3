"""`corpusforge inspect`: one document from its fetch to the exports, on the terminal."""

from __future__ import annotations

import math

import click
from rich.table import Table

from corpusforge.flows.cli.context import CliContext


def _num(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _fetch_lines(fetches: list[dict]) -> list[str]:
    lines = []
    for f in fetches:
        size = f"{f['content_length']:,} bytes" if f.get("content_length") is not None else "no body"
        took = f", {f['elapsed_ms']:.0f} ms" if f.get("elapsed_ms") is not None else ""
        error = f", {f['error']}" if f.get("error") else ""
        lines.append(f"  {f['fetched_at']}  {f['fetch_status']} {f.get('status') or ''}  {size}{took}{error}")
    return lines or ["  (no fetch recorded)"]


def _signal_table(doc: dict, thresholds: dict[str, float]) -> Table:
    from corpusforge.processing.quality import FILTERS, judge

    out = Table(title="filters (this source's profile)", show_lines=False)
    for col, justify in (("filter", "left"), ("signal", "left"), ("value", "right"), ("threshold", "right")):
        out.add_column(col, justify=justify)
    out.add_column("verdict")
    for rule in FILTERS:
        value = doc["signals"].get(rule.signal)
        if rule.name not in thresholds:
            out.add_row(rule.name, rule.signal, _num(value), "off", "-")
            continue
        decision = judge(rule, value, thresholds[rule.name])
        verdict = "keep" if decision.kept else f"[red]drop: {rule.reason}[/red] ({rule.category})"
        bound = "≥" if rule.bound == "min" else "≤"
        out.add_row(rule.name, rule.signal, _num(value), f"{bound} {thresholds[rule.name]:g}", verdict)
    return out


def _export_lines(cli: CliContext, doc: dict, found: dict) -> list[str]:
    from corpusforge.flows.configs import export_gate
    from corpusforge.warehouse.selection import verdict_of

    settings, wh, lines = cli.settings(), cli.warehouse(), []
    exports = [("training", e) for e in settings.exports.training] + [("rag", e) for e in settings.exports.rag]
    for target, export in exports:
        gate = export_gate(settings, export.exclude, target)
        kwargs = {"sources": export.sources or None, "languages": export.languages or None, "gate": gate}
        if target == "training":
            kwargs["min_quality"] = export.min_quality or None
        # The one document's verdict, not the whole selection.
        detail = verdict_of(wh, target, doc["doc_id"], **kwargs) or {"exclusion": "not current", "filtered_by": []}
        if detail["exclusion"] is None:
            verdict = "selected"
        else:
            verdict = f"left out: {detail['exclusion']}" + (
                f" ({', '.join(detail['filtered_by'])})" if detail.get("filtered_by") else ""
            )
        held = ""
        if target == "rag" and found["chunks"]:
            held = f"; {sum(c['chunks'] for c in found['chunks'])} chunks in the warehouse"
        if target == "training":
            versions = [e for e in found["examples"] if e["export_name"] == export.name]
            if versions:
                held = f"; {versions[0]['examples']} examples in version {versions[0]['export_version']}"
        lines.append(f"  {target} export {export.name!r}: {verdict}{held}")
    return lines


def show_document(cli: CliContext, target: str) -> None:
    """Print everything corpusforge knows about one document (see the `inspect` command)."""
    from corpusforge.flows.cli.quality import _thresholds_for
    from corpusforge.warehouse.inspect import find_document, trace

    wh = cli.warehouse()
    doc = find_document(wh, target)
    if doc is None:
        raise click.UsageError(f"no current document with doc_id or URL {target!r} (try: corpusforge query ...)")
    found = trace(wh, doc)
    console = cli.console
    console.print(f"[bold]{doc.get('title') or '(no title)'}[/bold]  {doc['url']}", highlight=False)
    console.print(
        f"doc_id {doc['doc_id']}  source {doc['source']}  language {doc.get('language')}"
        f"  words {doc.get('word_count')}  kept {doc['kept']}  quality {_num(doc.get('quality_score'))}",
        highlight=False,
    )
    console.print("fetches (newest first):\n" + "\n".join(_fetch_lines(found["fetches"])), highlight=False)
    text_lines = [line for line in (doc.get("text") or "").splitlines() if line.strip()][:5]
    console.print("text:\n" + "\n".join(f"  {line[:160]}" for line in text_lines), highlight=False)
    console.print(_signal_table(doc, _thresholds_for(cli, None)(doc["source"])))
    cluster = found["cluster"]
    if cluster:
        role = "representative" if cluster["is_representative"] else f"{cluster['reason']} {cluster['duplicate_of']}"
        console.print(f"cluster {cluster['cluster_id']} ({cluster['members']} docs): {role}", highlight=False)
    else:
        console.print("cluster: none (not deduplicated: not kept, or dedup has not run since)")
    console.print("exports:\n" + "\n".join(_export_lines(cli, doc, found)), highlight=False)
