"""The `corpusforge` command line.

Stage modules add their commands through a `register(app)` function, so each stage keeps its
CLI beside its flow. Every failure ends as one line on stderr and a non-zero exit; `--debug`
shows the traceback instead.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table

from corpusforge.schemas.config import Settings, load_settings

STAGE_MODULES = (
    "corpusforge.flows.crawl",
    "corpusforge.flows.clean",
    "corpusforge.flows.dedup",
    "corpusforge.flows.annotate",
    "corpusforge.flows.export_training",
    "corpusforge.flows.export_rag",
    "corpusforge.flows.pipeline",
    "corpusforge.flows.report",
    "corpusforge.flows.demo",
    "corpusforge.flows.serve",
)

app = typer.Typer(
    name="corpusforge",
    help="Turn web sources into a clean, deduplicated, annotated corpus, and export it for "
    "fine-tuning and for RAG. Data lives as Parquet under the warehouse root; "
    "`corpusforge query` asks it questions in SQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
console = Console()
err_console = Console(stderr=True)


class State:
    debug = False
    config_path: str | None = None
    _settings: Settings | None = None

    @classmethod
    def settings(cls) -> Settings:
        if cls._settings is None:
            cls._settings = load_settings(cls.config_path)
        return cls._settings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("corpusforge")
    except PackageNotFoundError:
        return "0+unknown"


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"corpusforge {_version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", help="Config file (default: $CORPUSFORGE_CONFIG or ./corpusforge.yaml)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    State.debug = debug
    State.config_path = config
    State._settings = None


def warehouse():
    from corpusforge.warehouse import Warehouse

    return Warehouse(State.settings().warehouse)


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@app.command()
def tables() -> None:
    """List every table of the warehouse with its row count, file count and size on disk."""
    from corpusforge.schemas import TABLES

    wh = warehouse()
    wh.init()
    out = Table(title=f"warehouse {wh.root_url}")
    out.add_column("table")
    out.add_column("rows", justify="right")
    out.add_column("files", justify="right")
    out.add_column("size on disk", justify="right")
    for name in TABLES:
        st = wh.stats(name)
        out.add_row(name, f"{st.rows:,}", str(st.files), _human_bytes(st.bytes))
    console.print(out)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL query over the catalog's views.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="table | csv | json | parquet (parquet needs --output).")
    ] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the result to this file.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to print in table format.")] = 100,
) -> None:
    """Run SQL against the corpus (tables: pages, documents, clusters, chunks, ...).

    Example: corpusforge query "select reason, count(*) from tombstones group by 1"
    """
    from corpusforge.warehouse.query import run_query, write_result

    if format not in ("table", "csv", "json", "parquet"):
        raise click.BadParameter(f"unknown format {format!r}; use table, csv, json or parquet", param_hint="--format")
    if format == "parquet" and output is None:
        raise click.BadParameter("parquet output needs --output FILE", param_hint="--format")
    result = run_query(warehouse(), sql)
    if output is not None or format != "table":
        text = write_result(result, format if format != "table" else "csv", output)
        if output is None:
            sys.stdout.write(text)
        else:
            err_console.print(f"wrote {result.num_rows:,} rows to {output}")
        return
    out = Table(show_lines=False)
    for name in result.column_names:
        out.add_column(name, overflow="fold")
    for row in result.slice(0, limit).to_pylist():
        out.add_row(*(_cell(v) for v in row.values()))
    console.print(out)
    if result.num_rows > limit:
        err_console.print(f"({result.num_rows:,} rows, first {limit} shown; use --limit or --output)")


def _cell(value) -> str:
    if value is None:
        return "NULL"
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _load_stage_commands() -> None:
    for module_name in STAGE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # stage not built yet
            raise
        module.register(app)


def _error_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


def _quiet_prefect_defaults() -> None:
    """Set before prefect is imported: the temporary server's analytics write races its own
    SQLite database at start ("database is locked" tracebacks), and are of no use offline."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from installed packages only


def main(argv: list[str] | None = None) -> int:
    _quiet_prefect_defaults()
    _load_stage_commands()
    try:
        rv = app(args=argv, standalone_mode=False)
        if isinstance(rv, int):
            return rv
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as exc:  # every other failure: one line, traceback only with --debug
        if State.debug or "--debug" in (argv or sys.argv):
            raise
        err_console.print(f"[red]error:[/red] {_error_line(exc)}", highlight=False, soft_wrap=True)
        return 1
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
