"""The `corpusforge` app: top-level options, the command groups, and one-line errors.

Every failure ends as one line on stderr and a non-zero exit; `--debug` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import click
import typer
from rich.console import Console

from corpusforge.flows.cli import annotate, data, export, init, pipeline, quality, stages
from corpusforge.flows.cli.context import CliContext

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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("corpusforge")
    except PackageNotFoundError:
        return "0+unknown"


def _version_callback(value: bool) -> None:
    if value:
        Console().print(f"corpusforge {_version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
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
    ctx.obj = CliContext(config_path=config, debug=debug)
    if debug:  # the flows' own loggers keep their tracebacks (flows/cli/logs.py)
        os.environ["CORPUSFORGE_DEBUG"] = "1"
    else:
        os.environ.pop("CORPUSFORGE_DEBUG", None)


for group in (init, pipeline, stages, annotate, export, data, quality):
    group.register(app)


def _error_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _quiet_prefect_defaults() -> None:
    """Set before prefect is imported: the temporary server's analytics write races its own
    SQLite database at start ("database is locked" tracebacks), and are of no use offline."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary server (no PREFECT_API_URL) needs more than Prefect's 20 s to start on a busy
    # small machine; waiting longer beats failing the run.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from installed packages only


def main(argv: list[str] | None = None) -> int:
    _quiet_prefect_defaults()
    args = sys.argv[1:] if argv is None else argv
    err_console = Console(stderr=True)
    try:
        from corpusforge.flows.prefect_server import use_shared_server  # no Prefect import: stdlib only

        use_shared_server(args)  # no PREFECT_API_URL: one local server, started once, reused (not one per command)
        rv = app(args=args, standalone_mode=False)
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
        if "--debug" in args:
            raise
        err_console.print(f"[red]error:[/red] {_error_line(exc)}", highlight=False, soft_wrap=True)
        return 1
    return 0


def run() -> None:
    sys.exit(main())
