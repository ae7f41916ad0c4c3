"""corpusforge.yaml: one file, validated by pydantic, holding the warehouse root, the sources
and each stage's settings. Secrets never live here: they come from the environment.

Each stage has one settings model below; the stage's flow takes it as a typed parameter.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG = "corpusforge.yaml"


class ConfigError(ValueError):
    """The configuration file is missing or invalid; the message is one line."""


class Strict(BaseModel):
    # A typo in a key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


def _compiles(pattern: str) -> str:
    # Checked when the config loads, so a typo is one line naming the setting, not a crawl traceback.
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(exc.msg + (f" at position {exc.pos}" if exc.pos is not None else "")) from None
    return pattern


Regex = Annotated[str, AfterValidator(_compiles)]


# An export's gate (processing/gates.py); both export models take it.
EXCLUDE_FIELD = Field(
    None,
    description="Drop reasons that keep a document out of this export: categories (junk, thin, boilerplate, "
    "language, web_quality, duplicates) or reason codes. Default: RAG keeps out junk, thin, boilerplate, "
    "language and duplicates; training also web_quality (the Gopher/C4/FineWeb rules the domain profile "
    "marks training-only).",
)


class SourceConfig(Strict):
    name: str = Field(description="Unique name of the source.")
    kind: Literal["site", "sitemap", "feed", "warc", "files"]
    url: str | None = Field(None, description="Start URL (site), sitemap/feed URL, or WARC URL.")
    path: str | None = Field(None, description="Folder (files) or WARC file path (warc).")
    max_pages: int = Field(1000, ge=1)
    max_depth: int = Field(10, ge=0)
    include: list[Regex] = Field(default_factory=list, description="Regexes a URL must match (any).")
    exclude: list[Regex] = Field(default_factory=list, description="Regexes that exclude a URL.")
    allow_private_network: bool = Field(False, description="Allow loopback/private addresses (local sites).")
    delay: float | None = Field(None, ge=0, description="Per-host delay in seconds (overrides crawl.delay).")
    concurrency: int | None = Field(None, ge=1, description="Per-host concurrency (overrides crawl).")
    languages: list[str] = Field(default_factory=list, description="Keep only these language codes.")
    redact_pii: bool = True
    profile: Literal["domain", "web"] | None = Field(
        None, description="Filter profile for this source (default: clean.profile)."
    )
    filters: dict[str, float] = Field(default_factory=dict, description="Per-source filter threshold overrides.")
    deadline: float | None = Field(
        None, gt=0, description="Most seconds this source's crawl may take; URLs left become source_timeout rows."
    )

    @model_validator(mode="after")
    def _needs_location(self) -> SourceConfig:
        if self.kind in ("site", "sitemap", "feed") and not self.url:
            raise ValueError(f"a {self.kind} source needs 'url'")
        if self.kind == "files" and not self.path:
            raise ValueError("a files source needs 'path'")
        if self.kind == "warc" and not (self.path or self.url):
            raise ValueError("a warc source needs 'path' or 'url'")
        return self


class CrawlSettings(Strict):
    user_agent: str = "corpusforge/0.1 (+https://github.com/corpusforge/corpusforge)"
    delay: float = Field(1.0, ge=0, description="Seconds between requests to one host.")
    concurrency_per_host: int = Field(2, ge=1)
    concurrency: int = Field(16, ge=1, description="Total requests in flight.")
    timeout: float = Field(20.0, gt=0)
    retries: int = Field(3, ge=0)
    backoff: float = Field(0.5, ge=0, description="First retry wait; doubles each retry.")
    max_redirects: int = Field(5, ge=0)
    max_body_bytes: int = Field(5_000_000, ge=1024)
    obey_robots: bool = True
    lock_wait: float = Field(
        3600.0, ge=0, description="Seconds a crawl waits for another run's crawl to finish (politeness across runs)."
    )
    flush_rows: int = Field(100, ge=1, description="Pages per durable write (what a killed crawl can lose).")
    flush_seconds: float = Field(5.0, gt=0, description="Longest time fetched pages wait before being written.")
    warc_out: str | None = Field(None, description="Also write every fetched page to this WARC file (.gz ok).")


class CleanSettings(Strict):
    extract_timeout: float = Field(10.0, gt=0, description="Hard time limit per page, seconds.")
    workers: int = Field(0, ge=0, description="Processes; 0 means one per core.")
    batch_size: int = Field(200, ge=1, description="Documents per written batch (bounds memory).")
    redact_pii: bool = Field(True, description="Redact PII (sources can switch it off with redact_pii: false).")
    fast_extraction: bool = Field(
        True, description="Skip trafilatura's fallback extractors (about 20% faster; false for maximum recall)."
    )
    profile: Literal["domain", "web"] = Field(
        "domain",
        description="Filter profile: domain (documentation, knowledge bases, articles: keeps reference pages "
        "with code, drops junk) or web (open-web crawls: the published Gopher / C4 / FineWeb thresholds).",
    )
    filters: dict[str, float] = Field(default_factory=dict, description="Filter threshold overrides.")


class DedupSettings(Strict):
    ngram: int = Field(5, ge=1, description="Words per shingle.")
    num_perm: int = Field(128, ge=16, description="MinHash permutations (signature length).")
    threshold: float = Field(0.8, gt=0, le=1, description="Jaccard similarity that makes a near duplicate.")
    verify: bool = Field(True, description="Keep a band collision only if the exact Jaccard reaches threshold.")
    false_negative_weight: float = Field(
        0.99, gt=0, lt=1, description="Weight of missed pairs in datasketch's bands x rows search (rest: false hits)."
    )
    workers: int = Field(0, ge=0, description="Signature processes; 0 means one per core.")
    seed: int = Field(1, description="Seed of the MinHash permutations (changing it re-signs everything).")
    batch_size: int = Field(1000, ge=1, description="Documents per signature batch.")


class AnnotateSettings(Strict):
    """Label Studio review. The server's URL and API key are not settings: they come from
    LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY, else from the Prefect Secret blocks named below."""

    project_title: str = "corpusforge review"
    sample_size: int = Field(50, ge=1, description="Documents per push (annotate push --size overrides).")
    seed: int = 0
    borderline_share: float = Field(0.2, ge=0, le=1, description="Share of documents near a filter threshold.")
    borderline_margin: float = Field(
        0.1, ge=0, description="'Near' a threshold: within this fraction of the threshold's magnitude."
    )
    dropped_share: float = Field(0.1, ge=0, le=1, description="Share of documents the filters dropped.")
    quality_buckets: int = Field(4, ge=1, description="Quality-score buckets used as sampling strata.")
    topics: list[str] = Field(
        default_factory=lambda: ["programming", "science", "news", "reference", "other"], min_length=1
    )
    batch_size: int = Field(20, ge=1, description="Tasks per import request.")
    url_secret_block: str = Field("label-studio-url", description="Prefect Secret block with the server URL.")
    api_key_secret_block: str = Field("label-studio-api-key", description="Prefect Secret block with the API key.")

    @model_validator(mode="after")
    def _shares_fit(self) -> AnnotateSettings:
        if self.borderline_share + self.dropped_share > 1:
            raise ValueError("borderline_share + dropped_share must not exceed 1")
        return self


class TrainingExport(Strict):
    """One fine-tuning export: what goes in, in which format, split how, checked against what."""

    class Template(Strict):
        """A chat example built from a document's own fields ({title}, {text}, {markdown}, {url},
        {description}, {language}, {source}); the assistant part must come from the document, never
        be invented, e.g. user "Write an article titled {title}." / assistant "{text}"."""

        name: str
        user: str
        assistant: str
        system: str | None = None

    name: str = "default"
    format: Literal["text", "messages", "prompt_completion"] = "text"
    jsonl: bool = Field(False, description="Also write OpenAI chat JSONL (messages / prompt_completion only).")
    shards: int = Field(1, ge=1, description="Parquet shards per split (fewer when a split has fewer rows).")
    splits: dict[str, float] = Field(default_factory=lambda: {"train": 0.9, "validation": 0.05, "test": 0.05})
    split_by: Literal["cluster", "domain"] = Field(
        "cluster", description="Hash the cluster id, or the URL's domain (whole sites stay in one split)."
    )
    split_salt: str = Field("", description="Changes the split assignment while keeping it stable.")
    labelled_as_test: bool = Field(False, description="Human-labelled documents form the test split.")
    sources: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    min_quality: float = 0.0
    min_tokens: int = Field(0, ge=0)
    max_tokens: int | None = Field(None, ge=1)
    max_tokens_action: Literal["cut", "drop"] = Field(
        "cut", description="cut: shorten the document part to fit; drop: leave the example out."
    )
    tokenizer: str | None = Field(None, description="Path to a tokenizer.json (default: the embedding model's).")
    document_field: Literal["text", "markdown"] = "text"
    qa_prompt: str = Field(
        "{document}\n\nQuestion: {question}",
        description="User message of a human question/answer example ({document}, {question}, {title}).",
    )
    system_prompt: str | None = Field(
        None, description="System turn of every chat example that has none of its own (Q/A pairs and templates)."
    )
    templates: dict[str, list[Template]] = Field(
        default_factory=dict, description="Per source name: chat templates filled from document fields."
    )
    eval_files: list[str] = Field(default_factory=list, description="Evaluation sets to decontaminate against.")
    decontaminate_ngram: int = Field(13, ge=1)
    decontaminate_action: Literal["drop", "flag"] = "drop"
    license: str = Field("other", description="Hugging Face license id of the texts (e.g. cc-by-4.0), or other.")
    license_name: str | None = Field(
        None, description="With license: other, a short name of the terms (default: per-source-terms)."
    )
    license_link: str | None = Field(
        None, description="With license: other, where the terms are (default: LICENSE.md, written with the export)."
    )
    task_categories: list[str] | None = Field(
        None, description="Hugging Face task categories (default: text-generation, + question-answering for chat)."
    )
    pretty_name: str | None = Field(None, description="The card's title (default: corpusforge <name>).")
    exclude: list[str] | None = EXCLUDE_FIELD

    @model_validator(mode="after")
    def _consistent(self) -> TrainingExport:
        unknown = set(self.splits) - {"train", "validation", "test"}
        if unknown:
            raise ValueError(f"unknown split name(s) {sorted(unknown)}; use train, validation, test")
        if "train" not in self.splits or any(r < 0 for r in self.splits.values()):
            raise ValueError("splits need a 'train' ratio and no negative ratios")
        if abs(sum(self.splits.values()) - 1.0) > 1e-6:
            raise ValueError(f"split ratios must add up to 1 (they add up to {sum(self.splits.values()):g})")
        if self.labelled_as_test and "test" not in self.splits:
            raise ValueError("labelled_as_test needs a 'test' split")
        if self.jsonl and self.format == "text":
            raise ValueError("jsonl (OpenAI chat format) needs format messages or prompt_completion")
        return self


class RagExport(Strict):
    name: str = "default"
    model: str | None = Field(None, description="sentence-transformers model (default: packaged MiniLM).")
    chunk_tokens: int = Field(256, ge=16)
    overlap_tokens: int = Field(0, ge=0)
    batch_size: int = Field(64, ge=1)
    device: str | None = Field(None, description="cpu | cuda | None for auto-detect.")
    sink: Literal["parquet", "lancedb", "chroma"] = Field(
        "parquet",
        description="Where the export goes beside its Parquet folder (which is always written): lancedb (embedded, "
        "a table named after the export in lancedb_uri) or chroma (a collection named after the export on the "
        "server at chroma_url).",
    )
    lancedb_uri: str | None = Field(
        None,
        description="LanceDB database: a local folder or an s3://, gs:// or az:// URL (default: exports/lancedb "
        "beside exports/rag/, in the bucket for an s3:// warehouse).",
    )
    chroma_url: str | None = Field(None, description="Chroma server, e.g. http://localhost:8000 (`chroma run`).")
    sources: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    exclude: list[str] | None = EXCLUDE_FIELD

    @model_validator(mode="after")
    def _sink_reachable(self) -> RagExport:
        if self.sink == "chroma":
            if not self.chroma_url:
                raise ValueError(f"exports.rag {self.name}: sink chroma needs chroma_url (e.g. http://localhost:8000)")
            _chroma_address(self.chroma_url)
            if not _CHROMA_NAME.match(self.name):
                raise ValueError(
                    f"exports.rag name {self.name!r} is not a valid Chroma collection name: 3-512 characters of "
                    "letters, digits, '.', '_' or '-', starting and ending with a letter or digit"
                )
        scheme = self.lancedb_uri.split("://", 1)[0] if self.lancedb_uri and "://" in self.lancedb_uri else "file"
        if scheme not in _LANCEDB_SCHEMES:
            raise ValueError(
                f"exports.rag {self.name}: lancedb_uri must be a local folder or an s3://, gs:// or az:// URL, "
                f"got {self.lancedb_uri!r}"
            )
        return self


_LANCEDB_SCHEMES = ("file", "s3", "gs", "az")  # the object stores LanceDB opens itself
_CHROMA_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


def _chroma_address(url: str) -> tuple[str, int]:
    """(host, port) of a Chroma server URL such as http://localhost:8000 (port 8000 when left out)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"chroma_url {url!r} is not an http(s)://host[:port] address")
    try:
        port = parts.port or 8000
    except ValueError:
        raise ValueError(f"chroma_url {url!r} has an invalid port") from None
    return parts.hostname, port


def chroma_address(cfg: RagExport) -> tuple[str, int]:
    """(host, port) of the export's Chroma server."""
    return _chroma_address(cfg.chroma_url or "")


class ExportSettings(Strict):
    training: list[TrainingExport] = Field(default_factory=lambda: [TrainingExport()])
    rag: list[RagExport] = Field(default_factory=lambda: [RagExport()])


class ScheduleSettings(Strict):
    """Cron schedules of the deployments `corpusforge serve` registers (empty string: not scheduled)."""

    pipeline: str = Field("0 2 * * *", description="The whole pipeline (nightly).")
    refresh: str = Field("*/15 * * * *", description="Re-crawl, clean, dedup and update the RAG export.")
    annotate_pull: str = Field("0 * * * *", description="Bring labels back from Label Studio (hourly).")
    timezone: str = "UTC"


class Settings(Strict):
    warehouse: str = "./data"
    sources: list[SourceConfig] = Field(default_factory=list)
    crawl: CrawlSettings = Field(default_factory=CrawlSettings)
    clean: CleanSettings = Field(default_factory=CleanSettings)
    dedup: DedupSettings = Field(default_factory=DedupSettings)
    annotate: AnnotateSettings = Field(default_factory=AnnotateSettings)
    exports: ExportSettings = Field(default_factory=ExportSettings)
    schedules: ScheduleSettings = Field(default_factory=ScheduleSettings)
    task_runner: Literal["default", "dask"] = "default"
    dask_address: str | None = None

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for s in sources:
            if s.name in seen:
                raise ValueError(f"source name {s.name!r} is used twice")
            seen.add(s.name)
        return sources

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"no source named {name!r} in the config (have: {', '.join(s.name for s in self.sources)})")


def _one_line(exc: ValidationError, path: str) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    msg = err["msg"].removeprefix("Value error, ")
    return f"{path}: {where}: {msg}{more}"


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read and validate the config; relative warehouse paths are relative to the file.

    With no path: $CORPUSFORGE_CONFIG, else ./corpusforge.yaml, else defaults.
    """
    explicit = path is not None or "CORPUSFORGE_CONFIG" in os.environ
    cfg_path = Path(path or os.environ.get("CORPUSFORGE_CONFIG", DEFAULT_CONFIG))
    if not cfg_path.exists():
        if explicit:
            raise ConfigError(f"config file {cfg_path} does not exist")
        return Settings()
    try:
        raw = yaml.safe_load(cfg_path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{cfg_path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{cfg_path}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, str(cfg_path))) from None
    if "://" not in settings.warehouse and not os.path.isabs(settings.warehouse):
        settings.warehouse = str((cfg_path.parent / settings.warehouse).resolve())
    for i, source in enumerate(settings.sources):
        if source.path and not os.path.isabs(os.path.expanduser(source.path)):
            source.path = _inside_config_folder(cfg_path, f"sources.{i}.path", source.path)
    return settings


def _inside_config_folder(cfg_path: Path, where: str, path: str) -> str:
    """A relative source path is relative to the config file and must stay in its folder (links
    resolved): a config that is handed around cannot reach for ../../etc. Absolute paths are the
    user's explicit choice."""
    folder = cfg_path.parent.resolve()
    real = (folder / path).resolve()
    if not real.is_relative_to(folder):
        raise ConfigError(
            f"{cfg_path}: {where}: {path} leads to {real}, outside the config's folder {folder} "
            "(give an absolute path to read from elsewhere)"
        )
    return str(real)
