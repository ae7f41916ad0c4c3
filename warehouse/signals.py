"""Stored quality signals and human verdicts, read back for `corpusforge filters` (re-judging the
current corpus under another profile or thresholds, without cleaning again) and `filters tune`."""

from __future__ import annotations

import pyarrow as pa

from corpusforge.warehouse.selection import _LABEL_VOTES_SQL

_CURRENT_SQL = """
select doc_id, url, source, language, kept, coalesce(drop_reasons, []) as drop_reasons,
       map_keys(signals) as signal_names, map_values(signals) as signal_values
from documents
"""

# The human keep/drop of each labelled document (the majority of annotators' latest votes).
_LABELLED_SQL = f"""
with {_LABEL_VOTES_SQL}
select d.doc_id, d.source, q.quality as human,
       map_keys(d.signals) as signal_names, map_values(d.signals) as signal_values
from documents d join quality_vote q on q.doc_id = d.doc_id
where q.quality in ('keep', 'drop')
"""


def _fetch(wh, sql: str) -> list[dict]:
    con = wh.connect(read_only=True)
    try:
        result = con.sql(sql)
        fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
        table: pa.Table = fetch()
    finally:
        con.close()
    rows = table.to_pylist()
    for row in rows:
        row["signals"] = dict(zip(row.pop("signal_names") or [], row.pop("signal_values") or [], strict=True))
    return rows


def current_signals(wh) -> list[dict]:
    """Every current document: doc_id, url, source, language, kept, drop_reasons, signals (dict)."""
    return _fetch(wh, _CURRENT_SQL)


def labelled_signals(wh) -> list[dict]:
    """Every current document a human labelled keep or drop: doc_id, source, human, signals."""
    return _fetch(wh, _LABELLED_SQL)
