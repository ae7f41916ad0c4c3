"""The `corpusforge` command line: one module per command group.

Start-up is kept short: this package imports only typer and rich at load time; each command
imports the stage flows (Prefect), DuckDB or the embedding model when it runs, so `--help`,
`query` and `tables` never load Prefect or torch.
"""

from corpusforge.flows.cli.main import app, main, run

__all__ = ["app", "main", "run"]
