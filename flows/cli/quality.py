"""Commands about the filters: `filters` (every rule, its thresholds and what it drops from the
current corpus), `filters tune` (thresholds proposed from human labels) and `inspect` (one
document from fetch to exports). They read stored signals: nothing is cleaned again, and none of
them loads Prefect or torch."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from corpusforge.flows.cli.context import CliContext, cli_context

filters_app = typer.Typer(
    help="Every filter with its signal, thresholds and drops on the current corpus; `filters tune` proposes "
    "thresholds from human labels.",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode="markdown",
)


def _thresholds_for(cli: CliContext, profile: str | None):
    """source name -> effective thresholds (the source's profile, or `profile` for every source)."""
    from corpusforge.processing.quality import UnknownThresholdError, merge_thresholds

    settings = cli.settings()
    sources = {s.name: s for s in settings.sources}
    cache: dict[str, dict[str, float]] = {}

    def thresholds(source: str) -> dict[str, float]:
        if source not in cache:
            src = sources.get(source)
            chosen = profile or (src.profile if src else None) or settings.clean.profile
            try:
                cache[source] = merge_thresholds(chosen, settings.clean.filters, src.filters if src else {})
            except UnknownThresholdError as exc:
                raise click.UsageError(str(exc)) from None
        return cache[source]

    return thresholds


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


@filters_app.callback()
def filters(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            help="Judge the current corpus under this profile (domain | web) instead of each source's own, "
            "from the stored signals (nothing is cleaned again).",
        ),
    ] = None,
) -> None:
    """Every filter: its signal, category, threshold per profile, and how many current documents it drops.

    Example: corpusforge filters --profile web
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from corpusforge.processing.filter_report import dropped_documents, filter_effects
    from corpusforge.processing.quality import CORPUS_CATEGORIES, PROFILES
    from corpusforge.warehouse.signals import current_signals

    if profile is not None and profile not in PROFILES:
        raise click.BadParameter(f"unknown profile {profile!r}; use {' or '.join(PROFILES)}", param_hint="--profile")
    cli = cli_context(ctx)
    docs = current_signals(cli.warehouse())
    thresholds_for = _thresholds_for(cli, profile)
    effects = filter_effects(docs, thresholds_for)
    shown = profile or "each source's profile"
    out = Table(title=f"filters on {len(docs):,} current documents ({shown})")
    for col, justify in (
        ("filter", "left"),
        ("category", "left"),
        ("domain", "right"),
        ("web", "right"),
        ("drops", "right"),
        ("only this", "right"),
        ("reason", "left"),
    ):
        out.add_column(col, justify=justify, overflow="fold", min_width=len(col) if justify == "right" else None)
    for effect in effects:
        rule = effect.filter
        out.add_row(
            rule.name,
            rule.category,
            _fmt(rule.domain),
            _fmt(rule.web),
            f"{effect.drops:,}" if effect.threshold is not None else "off",
            f"{effect.only:,}" if effect.threshold is not None else "",
            rule.reason,
        )
    cli.console.print(out)
    chosen = profile or cli.settings().clean.profile
    out_of_corpus = dropped_documents(docs, thresholds_for, lambda c: c in CORPUS_CATEGORIES[chosen])
    kept_now = sum(1 for d in docs if d["kept"])
    cli.console.print(
        f"under {shown}: {len(docs) - out_of_corpus:,} of {len(docs):,} documents kept "
        f"(now: {kept_now:,}); thresholds: clean.filters / sources[].filters in the config"
    )


@filters_app.command("tune")
def tune(
    ctx: typer.Context,
    min_keep_recall: Annotated[
        float, typer.Option(min=0.5, max=1.0, help="Share of human-kept documents a threshold must keep.")
    ] = 0.97,
) -> None:
    """Propose thresholds from the human keep/drop labels (pulled with `annotate pull`).

    For each filter, the threshold with the highest F1 at catching what people dropped, among those that keep at
    least --min-keep-recall of what they kept; prints the YAML to paste into corpusforge.yaml and what it would
    change on the current corpus.
    """
    from rich.table import Table

    from corpusforge.processing.filter_report import propose_thresholds
    from corpusforge.processing.quality import judge
    from corpusforge.warehouse.signals import current_signals, labelled_signals

    cli = cli_context(ctx)
    wh = cli.warehouse()
    labelled = labelled_signals(wh)
    drops = sum(1 for d in labelled if d["human"] == "drop")
    if not labelled:
        cli.console.print("no human labels yet: push a sample (annotate push), label it, then annotate pull")
        return
    thresholds_for = _thresholds_for(cli, None)
    proposals = propose_thresholds(labelled, thresholds_for, min_keep_recall)
    cli.console.print(f"{len(labelled)} labelled documents ({drops} dropped by people, {len(labelled) - drops} kept)")
    if not proposals:
        cli.console.print("no threshold change improves on the current ones with these labels")
        return
    docs = current_signals(wh)
    out = Table(title="proposed thresholds")
    for col in ("filter", "now", "proposed", "precision", "recall", "F1", "keep recall", "change on corpus"):
        out.add_column(col, justify="left" if col == "filter" else "right")
    for p in proposals:
        rule = p.filter
        before = sum(
            1 for d in docs if not judge(rule, d["signals"].get(rule.signal), _current(p, d, thresholds_for)).kept
        )
        after = sum(1 for d in docs if not judge(rule, d["signals"].get(rule.signal), p.proposed).kept)
        out.add_row(
            rule.name,
            _fmt(p.current),
            _fmt(p.proposed),
            f"{p.precision:.2f}",
            f"{p.recall:.2f}",
            f"{p.f1:.2f}",
            f"{p.keep_recall:.2f}",
            f"drops {before:,} -> {after:,}",
        )
    cli.console.print(out)
    lines = ["clean:", "  filters:", *(f"    {p.filter.name}: {p.proposed:g}" for p in proposals)]
    cli.console.print("paste into corpusforge.yaml:\n" + "\n".join(lines), highlight=False)


def _current(proposal, doc: dict, thresholds_for) -> float:
    threshold = thresholds_for(doc["source"]).get(proposal.filter.name)
    return threshold if threshold is not None else float("inf") if proposal.filter.bound == "max" else float("-inf")


def inspect(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="A document's URL (as fetched or canonical) or its doc_id.")],
) -> None:
    """One document from fetch to exports: the fetch, the first lines of its text, every signal with its threshold
    and verdict, its duplicate cluster, and whether each export holds it (and if not, why).

    Example: corpusforge inspect https://docs.example.com/commands/copy.html
    """
    from corpusforge.flows.cli.inspect_view import show_document

    cli = cli_context(ctx)
    show_document(cli, target)


def register(app: typer.Typer) -> None:
    app.add_typer(filters_app, name="filters")
    app.command("inspect")(inspect)
