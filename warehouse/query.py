"""Read-only SQL over the catalog, and writing a result as CSV, JSON or Parquet."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from corpusforge.schemas import TABLES

# Errors in the SQL itself: no file needs checking.
_SQL_MISTAKES = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)


class QueryError(ValueError):
    """The SQL failed; the message is DuckDB's first line (e.g. the missing table) with its hint."""


def duckdb_error_line(exc: BaseException) -> str:
    """DuckDB's first line, with its own hint kept (`Did you mean "documents"?`): the rest of
    its message is the SQL echoed back with a caret, noise on one line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    hint = next((line for line in lines[1:] if line.startswith("Did you mean")), None)
    return f"{lines[0]} {hint}" if hint else lines[0]


def run_query(wh, sql: str) -> pa.Table:
    con = wh.connect(read_only=True)
    try:
        rel = con.sql(sql)
        if rel is None:  # a statement with no result (SET, PRAGMA...)
            return pa.table({})
        return rel.fetch_arrow_table()
    except duckdb.Error as exc:
        first = duckdb_error_line(exc)
        if not isinstance(exc, _SQL_MISTAKES):  # maybe a broken file: DuckDB's message often names none
            named = wh.explain_read_error(exc, TABLES)
            first = first if named is exc else str(named)
        raise QueryError(first) from None
    finally:
        con.close()


def write_result(result: pa.Table, fmt: str, output: Path | None) -> str:
    """Write the result to `output` (or return it as text when output is None): `json` is one
    JSON array (what `json.load` reads), `jsonl` one object per line."""
    if fmt == "parquet":
        pq.write_table(result, output, compression="zstd")
        return ""
    if fmt == "csv":
        buf = io.BytesIO()
        pacsv.write_csv(result, buf)
        text = buf.getvalue().decode()
    elif fmt == "json":
        text = json.dumps(result.to_pylist(), default=str, ensure_ascii=False, indent=1) + "\n"
    elif fmt == "jsonl":
        text = "".join(json.dumps(row, default=str, ensure_ascii=False) + "\n" for row in result.to_pylist())
    else:
        raise QueryError(f"unknown format {fmt!r}")
    if output is not None:
        Path(output).write_text(text)
    return text
