"""The `corpusforge export` command group, shared by the two exports.

`flows.export_training` adds `export training` and `flows.export_rag` adds `export rag` to
`export_app`; each module's `register(app)` calls `add_export_group(app)`, which adds the group
to the main app only once, so the order in which the stage modules register does not matter.
"""

from __future__ import annotations

import typer

export_app = typer.Typer(
    help="Export the corpus: a versioned dataset for fine-tuning (`training`) or chunks with "
    "embeddings for RAG indexes (`rag`).",
    no_args_is_help=True,
)


def add_export_group(app: typer.Typer) -> None:
    """Add `export` to the main app unless it is already there (safe to call twice)."""
    if any(group.typer_instance is export_app for group in app.registered_groups):
        return
    app.add_typer(export_app, name="export")
