"""The `training_examples` table: every row of every training export version, recorded once per
(name, version) so that a version can be traced back to its documents with a query."""

from __future__ import annotations

import pyarrow.dataset as ds

from corpusforge.warehouse.store import utc_now


def recorded_example_count(wh, name: str, version: str) -> int:
    flt = (ds.field("export_name") == name) & (ds.field("export_version") == version)
    return wh.read("training_examples", columns=["example_id"], filter=flt).num_rows


def record_training_examples(
    wh, rows: list[dict], name: str, version: str, fmt: str, snapshot_id: str, run_id: str
) -> int:
    """Append an export's rows to `training_examples` once per (name, version); returns rows added.
    The caller holds the table lock."""
    if not rows or recorded_example_count(wh, name, version):
        return 0
    created_at = utc_now()
    table_rows = [
        {
            "example_id": r["example_id"],
            "export_name": name,
            "export_version": version,
            "format": fmt,
            "split": r["split"],
            "text": r.get("text"),
            "messages": r.get("messages"),
            "prompt": r.get("prompt"),
            "completion": r.get("completion"),
            "token_count": r["token_count"],
            "doc_id": r["doc_id"],
            "content_hash": r["content_hash"],
            "cluster_id": r["cluster_id"],
            "url": r["url"],
            "source": r["source"],
            "language": r["language"],
            "origin": r["origin"],
            "snapshot_id": snapshot_id,
            "created_at": created_at,
        }
        for r in rows
    ]
    with wh.writer("training_examples", run_id) as writer:
        for start in range(0, len(table_rows), 10_000):
            writer.write(table_rows[start : start + 10_000])
    return len(table_rows)
