"""Commands that read the warehouse: `tables`, `query`, `search`, `report`. None of them loads
Prefect; only `search` loads the embedding model (it has to embed the question)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from corpusforge.flows.cli.context import CliContext, cli_context


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _cell(value) -> str:
    if value is None:
        return "NULL"
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _snippet(text: str, width: int = 160) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1].rsplit(" ", 1)[0] + " …"


def tables(ctx: typer.Context) -> None:
    """List every table of the warehouse with its row count, file count and size on disk."""
    from rich.table import Table

    from corpusforge.schemas import TABLES

    cli = cli_context(ctx)
    wh = cli.warehouse()
    wh.init()
    out = Table(title=f"warehouse {wh.root_url}")
    out.add_column("table")
    out.add_column("rows", justify="right")
    out.add_column("files", justify="right")
    out.add_column("size on disk", justify="right")
    for name in TABLES:
        st = wh.stats(name)
        out.add_row(name, f"{st.rows:,}", str(st.files), _human_bytes(st.bytes))
    cli.console.print(out)


QUERY_FORMATS = ("table", "csv", "json", "jsonl", "parquet")


def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="A read-only SQL query over the catalog's views.")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="table | csv | json (an array) | jsonl (one object a line) | parquet (needs --output).",
        ),
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the result to this file.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to print in table format.")] = 100,
) -> None:
    """Run SQL against the corpus (tables: pages, documents, clusters, chunks, ...).

    Example: corpusforge query "select reason, count(*) from tombstones group by 1"
    """
    if format not in QUERY_FORMATS:
        raise click.BadParameter(f"unknown format {format!r}; use {', '.join(QUERY_FORMATS)}", param_hint="--format")
    if format == "parquet" and output is None:
        raise click.BadParameter("parquet output needs --output FILE", param_hint="--format")
    cli = cli_context(ctx)
    if format == "table" and output is None and _answer_from_catalog_file(cli, sql, limit):
        return
    from corpusforge.warehouse.query import run_query, write_result

    result = run_query(cli.warehouse(), sql)
    if output is not None or format != "table":
        text = write_result(result, format if format != "table" else "csv", output)
        if output is None:
            sys.stdout.write(text)
        else:
            cli.err_console.print(f"wrote {result.num_rows:,} rows to {output}")
        return
    _print_rows(cli, result.column_names, [tuple(r.values()) for r in result.slice(0, limit).to_pylist()], limit)
    if result.num_rows > limit:
        cli.err_console.print(f"({result.num_rows:,} rows, first {limit} shown; use --limit or --output)")


def _answer_from_catalog_file(cli: CliContext, sql: str, limit: int) -> bool:
    """Print the answer read straight from a local warehouse's corpus.duckdb, as any DuckDB shell
    would, without loading the warehouse code (and pyarrow with it): the CLI answers at once.
    False, having printed nothing, when the catalog cannot answer as it is (none yet, a remote
    warehouse, a missing view, a moved folder): `query` then takes the full way, which rebuilds
    the catalog and words the error."""
    import os

    import duckdb

    root = cli.settings().warehouse
    if "://" in root and not root.startswith("file://"):
        return False
    catalog = os.path.join(os.path.abspath(root.removeprefix("file://")), "corpus.duckdb")
    if not os.path.exists(catalog):
        return False
    try:
        con = duckdb.connect(catalog, read_only=True)
    except duckdb.Error:
        return False
    try:
        rel = con.sql(sql)
        if rel is None:  # a statement with no result (SET, PRAGMA...)
            return False
        columns, rows = rel.columns, rel.fetchall()
    except (duckdb.CatalogException, duckdb.IOException, duckdb.BinderException):
        return False
    except duckdb.Error as exc:
        from corpusforge.warehouse.query import QueryError, duckdb_error_line

        raise QueryError(duckdb_error_line(exc)) from None
    finally:
        con.close()
    _print_rows(cli, columns, rows, limit)
    return True


def _print_rows(cli: CliContext, columns: list[str], rows: list, limit: int) -> None:
    from rich.table import Table

    out = Table(show_lines=False)
    for name in columns:
        out.add_column(name, overflow="fold")
    for row in rows[:limit]:
        out.add_row(*(_cell(v) for v in row))
    cli.console.print(out)
    if len(rows) > limit:
        cli.err_console.print(f"({len(rows):,} rows, first {limit} shown; use --limit or --output)")


SEARCH_SINKS = ("parquet", "lancedb", "chroma")


def search(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("-k", "--top", min=1, help="Number of chunks to show.")] = 5,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Which RAG export to search (default: the first configured).")
    ] = None,
    sink: Annotated[
        str,
        typer.Option(
            help="parquet (the export folder, with DuckDB) | lancedb (the export's LanceDB table) | chroma (its "
            "collection on the export's chroma_url).",
        ),
    ] = "parquet",
    hybrid: Annotated[
        bool, typer.Option("--hybrid", help="LanceDB only: fuse the vector ranking with full-text (BM25) search.")
    ] = False,
    device: Annotated[str | None, typer.Option(help="cpu | cuda (default: auto-detect).")] = None,
) -> None:
    """Search the RAG export: embed the question with the export's model and rank its chunks by cosine similarity.

    Example: corpusforge search "how do I parse command-line options" -k 5 --sink lancedb
    """
    from rich.table import Table

    if sink not in SEARCH_SINKS:
        raise click.BadParameter(f"unknown sink {sink!r}; use {', '.join(SEARCH_SINKS)}", param_hint="--sink")
    if hybrid and sink != "lancedb":
        raise click.BadParameter("hybrid search needs --sink lancedb", param_hint="--hybrid")
    cli = cli_context(ctx)
    settings = cli.settings()
    if name is None:
        name = settings.exports.rag[0].name if settings.exports.rag else "default"
    if sink == "parquet":
        from corpusforge.flows.search import search as search_export

        hits = search_export(cli.warehouse(), question, name, k, device)
    else:
        hits = _search_sink(cli, settings, question, name, sink, k, device, hybrid)
    where = "" if sink == "parquet" else f" ({sink}{', hybrid' if hybrid else ''})"
    out = Table(title=f"top {k} for {question!r}{where}", show_lines=True)
    for col, justify in (("score", "right"), ("title", "left"), ("heading path", "left"), ("url", "left")):
        out.add_column(col, justify=justify, overflow="fold")
    out.add_column("snippet", overflow="fold", ratio=2)
    for row in hits.to_pylist():
        out.add_row(
            f"{row['score']:.3f}",
            row["title"] or "",
            row["heading_path"] or "",
            row["url"] or "",
            _snippet(row["text"]),
        )
    cli.console.print(out)


def _search_sink(cli: CliContext, settings, question: str, name: str, sink: str, k: int, device, hybrid: bool):
    """The k nearest chunks from the export's vector store; the question is embedded with the
    model named in the export folder's manifest, as for the Parquet search."""
    from corpusforge.flows.search import embed_question
    from corpusforge.schemas.config import RagExport, chroma_address
    from corpusforge.warehouse import rag_store as store

    wh = cli.warehouse()
    cfg = next((c for c in settings.exports.rag if c.name == name), None) or RagExport(name=name)
    manifest = store.read_manifest(wh, name)
    if manifest is None:
        raise FileNotFoundError(
            f"no RAG export named {name!r} under {store.export_dir(wh, name)}; run `corpusforge export rag` first"
        )
    vector = embed_question(question, manifest, name, device)
    if sink == "lancedb":
        from corpusforge.connectors.sinks import LanceDBSink

        table = LanceDBSink(store.lancedb_dir(wh, cfg.lancedb_uri), name)
        return table.hybrid_search(question, vector, k) if hybrid else table.search(vector, k)
    if not cfg.chroma_url:
        raise click.BadParameter(f"exports.rag {name} has no chroma_url in the config", param_hint="--sink")
    from corpusforge.connectors.sinks import ChromaSink

    host, port = chroma_address(cfg)
    return ChromaSink.connect(host, port, name).search(vector, k)


def report(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the HTML page.")] = None,
) -> None:
    """Write one self-contained HTML page of charts about the corpus.

    Charts: documents per source and language, length and quality histograms, the filter funnel, drop reasons,
    duplicate cluster sizes, annotation progress and export sizes.
    """
    from corpusforge.flows.report import write_corpus_report

    cli = cli_context(ctx)
    wh = cli.warehouse()
    wh.init()
    path = write_corpus_report(wh, output)
    cli.console.print(f"report written: {path}")


def register(app: typer.Typer) -> None:
    for command in (search, tables, query, report):
        app.command(command.__name__)(command)
