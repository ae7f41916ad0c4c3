"""`corpusforge export training | rag`: the two exports, every configured one or one by name."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from corpusforge.flows.cli.context import cli_context
from corpusforge.flows.cli.output import print_summary
from corpusforge.flows.cli.progress import RichProgress

if TYPE_CHECKING:
    from corpusforge.flows.stage import StageSummary
    from corpusforge.schemas.config import RagExport, TrainingExport

export_app = typer.Typer(
    help="Export the corpus: a versioned dataset for fine-tuning (`training`) or chunks with "
    "embeddings for RAG indexes (`rag`).",
    no_args_is_help=True,
)


def training_exports_named(exports: list[TrainingExport], name: str | None) -> list[TrainingExport]:
    if name is None:
        return exports
    chosen = [e for e in exports if e.name == name]
    if not chosen:
        known = ", ".join(e.name for e in exports) or "none"
        raise ValueError(f"no training export named {name!r} in exports.training (have: {known})")
    return chosen


def rag_exports_named(exports: list[RagExport], name: str | None) -> list[RagExport]:
    if name is None:
        return exports
    chosen = [e for e in exports if e.name == name]
    if not chosen:  # a typo must not silently build a new export under the misspelt name
        known = ", ".join(e.name for e in exports) or "none"
        raise ValueError(f"no RAG export named {name!r} in exports.rag (have: {known})")
    return chosen


def _only(settings, **exports):
    """`settings` with these exports in place of the configured ones (the flows build every export)."""
    return settings.model_copy(update={"exports": settings.exports.model_copy(update=exports)})


def _use_shared_server() -> None:
    """Before an export flow runs: the shared local Prefect server (prefect_server.CHECK_FIRST_COMMANDS)."""
    from corpusforge.flows.prefect_server import point_at_shared_server

    point_at_shared_server()


def print_parts(summary: StageSummary, console: Console, drops_prefix: str = "") -> None:
    """One table per export, each under its own name."""
    from corpusforge.flows.stage import StageSummary

    for detail in summary.details:
        part = StageSummary.from_dict(detail)
        part.drops = Counter({drops_prefix + reason: n for reason, n in part.drops.items()})
        print_summary(part, console)


@export_app.command("training")
def training(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Export to build (default: every exports.training entry).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even if this version already exists.")] = False,
) -> None:
    """Write a versioned fine-tuning dataset to exports/training/NAME/__versions__/VERSION/, and make it latest/.

    Parquet shards in the Hugging Face layout, optional OpenAI chat JSONL, manifest.json and a dataset card.

    Load the latest version with datasets.load_dataset("exports/training/NAME"); versions never mix.

    The version is a hash of the selected rows and the config: a run that changes neither writes nothing.
    """
    cli = cli_context(ctx)
    settings = cli.settings()
    settings = _only(settings, training=training_exports_named(settings.exports.training, name))
    from corpusforge.flows.export_plan import idle_training_summary  # no Prefect: an up-to-date export answers at once

    summary = idle_training_summary(settings, force)
    if summary is None:  # there is work: the flow runs (and Prefect is imported) only now
        _use_shared_server()
        from corpusforge.flows.export_training import export_training
        from corpusforge.flows.stage import configured_flow

        with RichProgress(cli.err_console, transient=True) as progress:
            summary = configured_flow(export_training, "export_training", settings)(settings, progress, force=force)
    print_parts(summary, cli.console)


@export_app.command("rag")
def rag(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Export to build (default: every exports.rag entry).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="cpu | cuda (default: auto-detect).")] = None,
) -> None:
    """Chunk and embed the corpus into exports/rag/NAME/ for vector indexes.

    chunks.parquet holds every chunk with its vector (a fixed-size float32 list);
    deletions.parquet lists the chunk_ids that left since the previous export (apply them to
    your index); manifest.json records the snapshot, model and chunker config. Embeddings are
    computed once: a second run with no changes embeds nothing. export.duckdb holds views
    with the vector typed FLOAT[dim]. With sink: lancedb or chroma in the config, the export is
    also synced into that vector store. Then try corpusforge search "your question" [--sink lancedb].
    """
    cli = cli_context(ctx)
    settings = cli.settings()
    exports = rag_exports_named(settings.exports.rag, name)
    if device:
        exports = [cfg.model_copy(update={"device": device}) for cfg in exports]
    settings = _only(settings, rag=exports)
    from corpusforge.flows.export_plan import idle_rag_summary  # no Prefect, no torch when nothing changed

    summary = idle_rag_summary(settings)
    if summary is None:  # there is work: the flow runs (Prefect and the model are loaded) only now
        _use_shared_server()
        from corpusforge.flows.export_rag import export_rag
        from corpusforge.flows.stage import configured_flow

        with RichProgress(cli.err_console) as progress:
            summary = configured_flow(export_rag, "export_rag", settings)(settings, progress)
    print_parts(summary, cli.console, drops_prefix="deleted: ")  # a RAG export's drops are deleted chunks


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
