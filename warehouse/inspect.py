"""One document traced through the warehouse: its fetches, its current version, its duplicate
cluster and what the exports hold of it (read-only queries for `corpusforge inspect`)."""

from __future__ import annotations


def _rows(con, sql: str, params: list) -> list[dict]:
    result = con.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def find_document(wh, target: str) -> dict | None:
    """The current `documents` row of a doc_id or a URL (fetched, final or canonical), or None."""
    con = wh.connect(read_only=True)
    try:
        found = _rows(
            con,
            "select * exclude (signals) , map_keys(signals) as signal_names, map_values(signals) as signal_values"
            " from documents where doc_id = ? or url = ? or canonical_url = ?"
            " or page_id in (select page_id from pages where final_url = ?) limit 1",
            [target, target, target, target],
        )
    finally:
        con.close()
    if not found:
        return None
    doc = found[0]
    doc["signals"] = dict(zip(doc.pop("signal_names") or [], doc.pop("signal_values") or [], strict=True))
    return doc


def trace(wh, doc: dict) -> dict:
    """The fetches of the document's URL (newest first), its cluster rows, and the rows the
    exports hold of it (chunks and training examples, by export)."""
    con = wh.connect(read_only=True)
    try:
        fetches = _rows(
            con,
            "select fetched_at, fetch_status, status, content_type, content_length, elapsed_ms, error, final_url"
            " from pages_history where url = ? order by fetched_at desc limit 5",
            [doc["url"]],
        )
        cluster = _rows(
            con,
            "select c.*, (select count(*) from clusters m where m.cluster_id = c.cluster_id) as members"
            " from clusters c where c.doc_id = ?",
            [doc["doc_id"]],
        )
        chunks = _rows(
            con, "select model_id, count(*) as chunks from chunks where doc_id = ? group by 1", [doc["doc_id"]]
        )
        examples = _rows(
            con,
            "select export_name, export_version, split, count(*) as examples from training_examples"
            " where doc_id = ? group by all order by export_version desc",
            [doc["doc_id"]],
        )
    finally:
        con.close()
    return {"fetches": fetches, "cluster": cluster[0] if cluster else None, "chunks": chunks, "examples": examples}
