"""Each step's config, derived from the settings in one place.

The settings (schemas/config.py) are what a user writes; the steps below take small frozen
configs of their own, so they stay free of the YAML's shape and defaults. A source's own fields
override the stage's (`delay`, `concurrency`, `profile`, `filters`, `languages`, `redact_pii`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corpusforge.processing.chunking import ChunkerConfig
from corpusforge.processing.dedup import MinHashParams
from corpusforge.processing.quality import UnknownThresholdError, merge_thresholds
from corpusforge.processing.sampling import SampleSpec
from corpusforge.processing.training_config import ChatTemplate, FormatConfig
from corpusforge.schemas.config import (
    AnnotateSettings,
    CleanSettings,
    ConfigError,
    CrawlSettings,
    DedupSettings,
    RagExport,
    Settings,
    SourceConfig,
    TrainingExport,
)

if TYPE_CHECKING:
    # Imported where used: httpx and trafilatura are not for the commands that only read configs.
    from corpusforge.connectors.fetcher import FetchPolicy
    from corpusforge.processing.clean import CleanConfig
    from corpusforge.processing.embedding import Embedder


def fetch_policy(crawl: CrawlSettings, source: SourceConfig) -> FetchPolicy:
    from corpusforge.connectors.fetcher import FetchPolicy

    return FetchPolicy(
        user_agent=crawl.user_agent,
        delay=source.delay if source.delay is not None else crawl.delay,
        concurrency_per_host=source.concurrency or crawl.concurrency_per_host,
        concurrency=crawl.concurrency,
        timeout=crawl.timeout,
        retries=crawl.retries,
        backoff=crawl.backoff,
        max_redirects=crawl.max_redirects,
        max_body_bytes=crawl.max_body_bytes,
        obey_robots=crawl.obey_robots,
        allow_private_network=source.allow_private_network,
    )


def clean_config(clean: CleanSettings, source: SourceConfig | None) -> CleanConfig:
    """The effective config of one source: global settings, then the source's overrides."""
    from corpusforge.processing.clean import CleanConfig

    try:
        profile = (source.profile if source else None) or clean.profile
        thresholds = merge_thresholds(profile, clean.filters, source.filters if source else {})
    except UnknownThresholdError as exc:
        where = f"sources[{source.name}].filters" if source and source.filters else "clean.filters"
        raise ConfigError(f"{where}: {exc}") from None
    return CleanConfig(
        profile=profile,
        thresholds=thresholds,
        languages=tuple(source.languages) if source else (),
        redact_pii=clean.redact_pii and (source.redact_pii if source else True),
        fast_extraction=clean.fast_extraction,
    )


def clean_configs(settings: Settings) -> tuple[dict[str, CleanConfig], CleanConfig]:
    """Per-source configs, and the one for pages of sources no longer in the config."""
    configs = {s.name: clean_config(settings.clean, s) for s in settings.sources}
    return configs, clean_config(settings.clean, None)


def minhash_params(dedup: DedupSettings) -> MinHashParams:
    return MinHashParams(
        ngram=dedup.ngram,
        num_perm=dedup.num_perm,
        seed=dedup.seed,
        threshold=dedup.threshold,
        false_negative_weight=dedup.false_negative_weight,
    )


def sample_spec(annotate: AnnotateSettings) -> SampleSpec:
    return SampleSpec(
        size=annotate.sample_size,
        seed=annotate.seed,
        borderline_share=annotate.borderline_share,
        dropped_share=annotate.dropped_share,
        quality_buckets=annotate.quality_buckets,
        borderline_margin=annotate.borderline_margin,
    )


def chunker_config(rag: RagExport, embedder: Embedder) -> ChunkerConfig:
    """The budget is the configured one, capped at what the model reads (its limit minus the
    special tokens), so no chunk is ever truncated by the model."""
    return ChunkerConfig(
        chunk_tokens=min(rag.chunk_tokens, embedder.max_tokens),
        overlap_tokens=rag.overlap_tokens,
        tokenizer_id=embedder.model_id,
    )


def format_config(export: TrainingExport) -> FormatConfig:
    """The training export's formatting, splits, token limits and decontamination, checked
    (unknown format or placeholder: TrainingFormatError)."""
    templates = {
        source: tuple(ChatTemplate(t.name, t.user, t.assistant, t.system) for t in items)
        for source, items in (export.templates or {}).items()
    }
    names = [name for name in FormatConfig.__dataclass_fields__ if name != "templates"]
    cfg = FormatConfig(templates=templates, **{name: getattr(export, name) for name in names})
    cfg.check()
    return cfg


def export_gate(settings: Settings, exclude: list[str] | None, target: str):
    """An export's gate for the selection query: its `exclude` (or the default) per source profile."""
    from corpusforge.processing.gates import UnknownGateError, build_gate
    from corpusforge.warehouse.selection import GateParams

    try:
        gate = build_gate(target, exclude)
    except UnknownGateError as exc:
        raise ConfigError(f"exports.{target}: {exc}") from None
    profiles = {s.name: s.profile or settings.clean.profile for s in settings.sources}
    return GateParams.of(gate, profiles, settings.clean.profile)
