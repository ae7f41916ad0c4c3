"""Fine-tuning examples from selected documents: formats, splits, token limits, decontamination,
the OpenAI chat JSONL rules and the Hugging Face dataset card. Pure: records in, records out.

Formats:
- `text`: one example per document (continued pre-training / domain adaptation).
- `messages`: chat examples from human question/answer pairs (the user asks with the document as
  context, the assistant gives the human answer) and from per-source templates filled with the
  document's own fields. There are no templates by default, so no answer is ever invented.
- `prompt_completion`: the same examples as `messages`, as a prompt (system + user) and a completion.

Every example that is left out gets a stable reason code (see `DROP_REASONS`).
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import pyarrow as pa
import yaml

from corpusforge.schemas.tables import MESSAGE

FORMATS = ("text", "messages", "prompt_completion")
SPLIT_ORDER = ("train", "validation", "test")
TEMPLATE_FIELDS = ("title", "text", "markdown", "url", "description", "language", "source")

DROP_REASONS = (
    "eval_overlap",  # shares a decontamination n-gram with an eval text (action drop)
    "over_max_tokens",  # longer than max_tokens, and cutting was off or could not make it fit
    "under_min_tokens",  # shorter than min_tokens
    "empty_document",  # the document has no text to train on
    "template_missing_field",  # a template needs a field this document lacks (no invented content)
)

LINEAGE_FIELDS = (
    ("doc_id", pa.string()),
    ("content_hash", pa.string()),
    ("cluster_id", pa.string()),
    ("url", pa.string()),
    ("source", pa.string()),
    ("language", pa.string()),
    ("origin", pa.string()),
    ("token_count", pa.int64()),
    ("contaminated", pa.bool_()),
)
CONTENT_FIELDS = {
    "text": (("text", pa.string()),),
    "messages": (("messages", pa.list_(MESSAGE)),),
    "prompt_completion": (("prompt", pa.string()), ("completion", pa.string())),
}


class TrainingFormatError(ValueError):
    """The export configuration cannot produce examples (e.g. a template names an unknown field)."""


class Tokens(Protocol):
    def count(self, text: str) -> int: ...

    def cut(self, text: str, max_tokens: int) -> str: ...


# ---- configuration --------------------------------------------------------------------------
@dataclass(frozen=True)
class ChatTemplate:
    name: str
    user: str
    assistant: str
    system: str | None = None


@dataclass(frozen=True)
class FormatConfig:
    """What `build_examples` needs; built from the export's settings with `from_settings`."""

    format: str = "text"
    document_field: str = "text"
    qa_prompt: str = "{document}\n\nQuestion: {question}"
    system_prompt: str | None = None
    templates: Mapping[str, tuple[ChatTemplate, ...]] = field(default_factory=dict)
    splits: Mapping[str, float] = field(default_factory=lambda: {"train": 0.9, "validation": 0.05, "test": 0.05})
    split_by: str = "cluster"
    split_salt: str = ""
    labelled_as_test: bool = False
    min_tokens: int = 0
    max_tokens: int | None = None
    max_tokens_action: str = "cut"
    decontaminate_ngram: int = 13
    decontaminate_action: str = "drop"

    @classmethod
    def from_settings(cls, settings: Any) -> FormatConfig:
        """From any object with the TrainingExport attributes (no import of flows here)."""
        templates = {
            source: tuple(ChatTemplate(t.name, t.user, t.assistant, t.system) for t in items)
            for source, items in (settings.templates or {}).items()
        }
        names = [f.name for f in cls.__dataclass_fields__.values() if f.name != "templates"]
        cfg = cls(templates=templates, **{n: getattr(settings, n) for n in names})
        cfg.check()
        return cfg

    def check(self) -> None:
        if self.format not in FORMATS:
            raise TrainingFormatError(f"unknown format {self.format!r}; use {', '.join(FORMATS)}")
        _check_placeholders("qa_prompt", self.qa_prompt, {"document", "question", "title"})
        for source, items in self.templates.items():
            for t in items:
                for part in (t.system, t.user, t.assistant):
                    if part is not None:
                        _check_placeholders(f"template {source}/{t.name}", part, set(TEMPLATE_FIELDS))


def _check_placeholders(where: str, template: str, allowed: set[str]) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise TrainingFormatError(f"{where}: bad template {template!r} ({exc})") from None
    unknown = names - allowed
    if unknown:
        raise TrainingFormatError(
            f"{where}: unknown placeholder(s) {sorted(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _placeholders(template: str | None) -> set[str]:
    if template is None:
        return set()
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# ---- examples -------------------------------------------------------------------------------
@dataclass
class Draft:
    """An example before its final form: role -> template, filled with `values`, where the
    document part (`context_key`) is the one thing that may be cut to fit max_tokens."""

    doc: Mapping[str, Any]
    origin: str  # document | annotation | template
    parts: tuple[tuple[str, str], ...]  # (role, template); role "text" for the text format
    values: dict[str, str]
    context_key: str

    def render(self) -> list[tuple[str, str]]:
        return [(role, tpl.format(**self.values)) for role, tpl in self.parts]


@dataclass
class Example:
    doc: Mapping[str, Any]
    origin: str
    contents: list[tuple[str, str]]  # (role, content); [("text", ...)] for the text format
    token_count: int
    contaminated: bool = False
    split: str | None = None

    @property
    def all_text(self) -> str:
        return "\n".join(content for _, content in self.contents)


def _drafts_for_document(doc: Mapping[str, Any], qa_pairs: list[Mapping[str, Any]], cfg: FormatConfig):
    """Yield drafts, or a drop reason string for a template that cannot be filled."""
    document = doc.get(cfg.document_field) or doc.get("text") or ""
    if cfg.format == "text":
        yield Draft(doc, "document", (("text", "{document}"),), {"document": document}, "document")
        return
    system = (("system", cfg.system_prompt),) if cfg.system_prompt else ()
    for pair in qa_pairs:
        values = {"document": document, "question": pair["question"], "title": doc.get("title") or ""}
        # The answer is a value, not a template: braces in a human answer stay as written.
        values["answer"] = pair["answer"]
        parts = system + (("user", cfg.qa_prompt), ("assistant", "{answer}"))
        yield Draft(doc, "annotation", parts, values, "document")
    for tpl in cfg.templates.get(doc.get("source") or "", ()):
        needed = _placeholders(tpl.system) | _placeholders(tpl.user) | _placeholders(tpl.assistant)
        values = {name: str(doc.get(name) or "") for name in TEMPLATE_FIELDS}
        if any(not values[name].strip() for name in needed):
            yield "template_missing_field"
            continue
        parts = tuple((role, text) for role, text in (("system", tpl.system), ("user", tpl.user)) if text)
        parts += (("assistant", tpl.assistant),)
        yield Draft(doc, "template", parts, values, cfg.document_field)


def _count(contents: list[tuple[str, str]], tokens: Tokens) -> int:
    # Contents only: a trainer's chat template adds a few tokens per message on top.
    return sum(tokens.count(content) for _, content in contents)


def fit_to_max_tokens(draft: Draft, cfg: FormatConfig, tokens: Tokens) -> tuple[list, int, bool] | str:
    """(contents, token_count, was_cut) or the drop reason. Cutting shortens only the document
    part, never the question or the human answer."""
    contents = draft.render()
    total = _count(contents, tokens)
    if cfg.max_tokens is None or total <= cfg.max_tokens:
        return contents, total, False
    uses_context = any(draft.context_key in _placeholders(tpl) for _, tpl in draft.parts)
    if cfg.max_tokens_action != "cut" or not uses_context:
        return "over_max_tokens"
    context = draft.values[draft.context_key]
    context_tokens = tokens.count(context)
    # Tokenisation at the cut edge can differ by a token or two: shrink until it fits.
    for _ in range(5):
        context_tokens -= total - cfg.max_tokens
        if context_tokens <= 0:
            return "over_max_tokens"
        context = tokens.cut(context, context_tokens)
        draft.values[draft.context_key] = context
        contents = draft.render()
        total = _count(contents, tokens)
        if total <= cfg.max_tokens:
            return contents, total, True
    return "over_max_tokens"


@dataclass
class BuildResult:
    examples: list[Example]
    counts: Counter  # documents_in, examples_built, examples_cut, examples_flagged, ...
    drops: Counter  # reason code -> examples left out


def build_examples(
    docs: Iterable[Mapping[str, Any]],
    qa_pairs_by_doc: Mapping[str, list[Mapping[str, Any]]],
    cfg: FormatConfig,
    tokens: Tokens,
    eval_index: NgramIndex | None = None,
) -> BuildResult:
    """Turn selected documents into examples, cut or drop by tokens, and decontaminate."""
    out: list[Example] = []
    counts: Counter = Counter()
    drops: Counter = Counter()
    for doc in docs:
        counts["documents_in"] += 1
        if not (doc.get(cfg.document_field) or doc.get("text") or "").strip():
            drops["empty_document"] += 1
            continue
        built = 0
        for draft in _drafts_for_document(doc, qa_pairs_by_doc.get(doc["doc_id"], []), cfg):
            if isinstance(draft, str):
                drops[draft] += 1
                continue
            fitted = fit_to_max_tokens(draft, cfg, tokens)
            if isinstance(fitted, str):
                drops[fitted] += 1
                continue
            contents, total, was_cut = fitted
            if total < cfg.min_tokens:
                drops["under_min_tokens"] += 1
                continue
            example = Example(doc, draft.origin, contents, total)
            if eval_index is not None and eval_index.overlaps(example.all_text):
                if cfg.decontaminate_action == "drop":
                    drops["eval_overlap"] += 1
                    continue
                example.contaminated = True
                counts["examples_flagged_eval_overlap"] += 1
            counts["examples_cut_to_max_tokens"] += int(was_cut)
            counts[f"examples_from_{draft.origin}"] += 1
            out.append(example)
            built += 1
        if built == 0:
            counts["documents_without_examples"] += 1
    counts["examples"] = len(out)
    return BuildResult(out, counts, drops)


# ---- decontamination ------------------------------------------------------------------------
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lowercased word tokens: punctuation, case and spacing do not hide an overlap."""
    return _WORD.findall(text.lower())


class NgramIndex:
    """The word n-grams of evaluation texts; an example overlaps when it shares any of them."""

    def __init__(self, n: int = 13):
        self.n = n
        self._grams: set[int] = set()
        self.texts = 0
        self.texts_too_short = 0  # fewer than n words: cannot be matched, reported in the card

    def _hashes(self, text: str) -> Iterable[int]:
        w = words(text)
        # hash() of a str tuple is stable within one process, which is all the index needs.
        return (hash(tuple(w[i : i + self.n])) for i in range(len(w) - self.n + 1))

    def add(self, text: str) -> None:
        self.texts += 1
        grams = list(self._hashes(text))
        if not grams:
            self.texts_too_short += 1
        self._grams.update(grams)

    def add_all(self, texts: Iterable[str]) -> NgramIndex:
        for text in texts:
            self.add(text)
        return self

    @property
    def size(self) -> int:
        return len(self._grams)

    def overlaps(self, text: str) -> bool:
        return bool(self._grams) and any(h in self._grams for h in self._hashes(text))


# ---- splits ---------------------------------------------------------------------------------
def split_key(doc: Mapping[str, Any], split_by: str) -> str:
    """What the split hashes: the cluster id, or the URL's domain (a whole site in one split)."""
    if split_by == "domain":
        host = (urlsplit(doc.get("url") or "").hostname or "").removeprefix("www.")
        return f"domain:{host}"
    return f"cluster:{doc.get('cluster_id') or doc['doc_id']}"


def hash_fraction(key: str, salt: str = "") -> float:
    """A stable number in [0, 1) for a key (same on every machine and run)."""
    digest = hashlib.sha256(f"{salt}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_for(key: str, ratios: Mapping[str, float], salt: str = "") -> str:
    ordered = [(name, ratios[name]) for name in SPLIT_ORDER if ratios.get(name, 0) > 0]
    total = sum(r for _, r in ordered)
    point = hash_fraction(key, salt) * total
    upto = 0.0
    for name, ratio in ordered:
        upto += ratio
        if point < upto:
            return name
    return ordered[-1][0]


def assign_splits(examples: list[Example], cfg: FormatConfig) -> Counter:
    """Set each example's split; all examples of one cluster get the same split (they share the
    key). With labelled_as_test, clusters with a human-labelled document form the test split and
    the others share the remaining ratios."""
    ratios = dict(cfg.splits)
    labelled_clusters = set()
    if cfg.labelled_as_test:
        labelled_clusters = {e.doc.get("cluster_id") for e in examples if e.doc.get("labelled")}
        ratios.pop("test", None)
    counts: Counter = Counter()
    for example in examples:
        if example.doc.get("cluster_id") in labelled_clusters:
            example.split = "test"
        else:
            example.split = split_for(split_key(example.doc, cfg.split_by), ratios, cfg.split_salt)
        counts[example.split] += 1
    return counts


# ---- rows -----------------------------------------------------------------------------------
def example_id(example: Example, fmt: str) -> str:
    payload = json.dumps([fmt, example.doc["doc_id"], example.doc.get("content_hash"), example.contents])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def export_schema(fmt: str) -> pa.Schema:
    # No split column: the split is the shard's file name, as in every Hugging Face dataset.
    fields = [("example_id", pa.string()), *CONTENT_FIELDS[fmt], *LINEAGE_FIELDS]
    return pa.schema(fields)


def _content_columns(example: Example, fmt: str) -> dict[str, Any]:
    if fmt == "text":
        return {"text": example.contents[0][1]}
    if fmt == "messages":
        return {"messages": [{"role": r, "content": c} for r, c in example.contents]}
    prompt = "\n\n".join(c for r, c in example.contents if r in ("system", "user"))
    completion = "\n\n".join(c for r, c in example.contents if r == "assistant")
    return {"prompt": prompt, "completion": completion}


def example_rows(examples: Iterable[Example], fmt: str) -> list[dict[str, Any]]:
    """Rows in the export schema, sorted by (split, example_id): the order of the shards.
    The same example from the same document appears once."""
    rows = {}
    for ex in examples:
        row = {"example_id": example_id(ex, fmt), **_content_columns(ex, fmt), "split": ex.split}
        row.update({name: ex.doc.get(name) for name, _ in LINEAGE_FIELDS[:6]})
        row.update(origin=ex.origin, token_count=ex.token_count, contaminated=ex.contaminated)
        rows[row["example_id"]] = row
    return sorted(rows.values(), key=lambda r: (SPLIT_ORDER.index(r["split"]), r["example_id"]))


def rows_to_table(rows: list[dict[str, Any]], fmt: str) -> pa.Table:
    schema = export_schema(fmt)
    return pa.Table.from_pylist(rows, schema=schema)


# ---- OpenAI chat JSONL ----------------------------------------------------------------------
OPENAI_ROLES = ("system", "user", "assistant", "tool", "function")
OPENAI_MESSAGE_KEYS = {"role", "content", "name", "function_call", "tool_calls", "tool_call_id", "weight"}


def openai_chat_record(row: Mapping[str, Any]) -> dict:
    """One line of the OpenAI chat fine-tuning format from a messages or prompt_completion row."""
    if row.get("messages") is not None:
        messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
    else:
        messages = [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["completion"]}]
    return {"messages": messages}


def jsonl_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def validate_openai_chat_record(record: Any) -> list[str]:
    """Error codes of one example under OpenAI's chat fine-tuning rules (empty when valid):
    a dict with a non-empty `messages` list; each message a dict with a known role, only known
    keys, and string content (non-empty unless it is an assistant tool/function call); at least
    one assistant message."""
    if not isinstance(record, dict):
        return ["data_type"]
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["missing_messages_list"]
    errors = []
    for message in messages:
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            errors.append("message_missing_key")
            continue
        if set(message) - OPENAI_MESSAGE_KEYS:
            errors.append("message_unrecognized_key")
        if message["role"] not in OPENAI_ROLES:
            errors.append("unrecognized_role")
        content = message["content"]
        calls = message.get("function_call") or message.get("tool_calls")
        if not calls and (not isinstance(content, str) or not content.strip()):
            errors.append("missing_content")
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        errors.append("example_missing_assistant_message")
    return errors


# ---- token statistics -----------------------------------------------------------------------
def token_stats(counts: list[int]) -> dict[str, float | int]:
    if not counts:
        return {"examples": 0, "total": 0, "mean": 0, "median": 0, "min": 0, "max": 0}
    ordered = sorted(counts)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return {
        "examples": len(ordered),
        "total": sum(ordered),
        "mean": round(sum(ordered) / len(ordered), 1),
        "median": median,
        "min": ordered[0],
        "max": ordered[-1],
    }


# ---- dataset card ---------------------------------------------------------------------------
def hf_feature(name: str, dtype: pa.DataType) -> dict:
    """A column in the card's `dataset_info.features` notation."""
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        inner = dtype.value_type
        if pa.types.is_struct(inner):
            return {"name": name, "list": [hf_feature(f.name, f.type) for f in inner]}
        return {"name": name, "sequence": hf_feature("", inner).get("dtype")}
    names = {
        pa.string(): "string",
        pa.large_string(): "large_string",
        pa.int64(): "int64",
        pa.int32(): "int32",
        pa.float64(): "float64",
        pa.float32(): "float32",
        pa.bool_(): "bool",
    }
    return {"name": name, "dtype": names.get(dtype, str(dtype))}


@dataclass
class CardInfo:
    name: str
    version: str
    fmt: str
    schema: pa.Schema
    license: str
    languages: list[str]
    splits: dict[str, dict[str, Any]]  # split -> num_examples, num_bytes, download_bytes, tokens
    sources: dict[str, int]  # source -> documents
    filters: dict[str, Any]
    dedup: dict[str, Any]
    selection_drops: dict[str, int]
    example_counts: dict[str, int]
    example_drops: dict[str, int]
    decontamination: dict[str, Any]
    tokenizer: str
    snapshot_id: str
    config_hash: str
    jsonl: bool = False


def card_yaml(info: CardInfo) -> dict:
    splits = [s for s in SPLIT_ORDER if s in info.splits]
    return {
        "license": info.license,
        "language": sorted(info.languages),
        "pretty_name": f"corpusforge {info.name}",
        "tags": ["corpusforge", info.fmt],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits],
            }
        ],
        "dataset_info": {
            "features": [hf_feature(f.name, f.type) for f in info.schema],
            "splits": [
                {
                    "name": s,
                    "num_bytes": info.splits[s]["num_bytes"],
                    "num_examples": info.splits[s]["num_examples"],
                }
                for s in splits
            ],
            "download_size": sum(info.splits[s]["download_bytes"] for s in splits),
            "dataset_size": sum(info.splits[s]["num_bytes"] for s in splits),
        },
    }


def _bullets(items: Mapping[str, Any], empty: str = "none") -> str:
    if not items:
        return f"- {empty}"
    return "\n".join(f"- `{k}`: {v}" for k, v in items.items())


def dataset_card(info: CardInfo) -> str:
    """README.md of an export: the Hugging Face YAML header, then what a reader needs to trust it."""
    header = yaml.safe_dump(card_yaml(info), sort_keys=False, allow_unicode=True)
    split_rows = "\n".join(
        f"| {s} | {v['num_examples']:,} | {v['tokens']['total']:,} | {v['tokens']['mean']} | "
        f"{v['tokens']['min']} | {v['tokens']['max']} |"
        for s in SPLIT_ORDER
        if (v := info.splits.get(s))
    )
    deco = info.decontamination
    deco_line = (
        f"{deco['ngram']}-word n-grams against {deco['files']} eval file(s) ({deco['texts']} texts, "
        f"{deco['texts_too_short']} shorter than {deco['ngram']} words and not checked); "
        f"action `{deco['action']}`: {deco['matched']} example(s) matched."
        if deco.get("files")
        else "no evaluation files configured: not decontaminated."
    )
    jsonl_line_text = (
        '\nOpenAI chat fine-tuning JSONL (one `{"messages": [...]}` per line) is in `jsonl/<split>.jsonl`.\n'
        if info.jsonl
        else ""
    )
    return f"""---
{header}---

# corpusforge {info.name} ({info.fmt})

Version `{info.version}`, built by corpusforge from warehouse snapshot `{info.snapshot_id}` with
config hash `{info.config_hash}`. The same config over the same snapshot gives the same version and
byte-identical shards.

Load it with `datasets.load_dataset("parquet", data_dir="data")` or by pointing `load_dataset` at
this folder.{jsonl_line_text}

## Format

`{info.fmt}`: {_FORMAT_PROSE[info.fmt]} Every row carries its lineage: `doc_id`, `content_hash`,
`cluster_id`, `url`, `source`, `language`, `origin` (document | annotation | template), `token_count`
and `contaminated`.

## Splits and tokens

Tokens counted with `{info.tokenizer}` (message contents only).

| split | examples | tokens | mean | min | max |
|---|---:|---:|---:|---:|---:|
{split_rows}

Splits are assigned by a stable hash of each document's duplicate cluster id (or its domain), so
near-duplicates never cross splits.

## Sources

{_bullets(info.sources)}

## Selection, filters and thresholds

Current versions of documents the clean stage kept, one representative per duplicate cluster,
without documents humans labelled `drop`, routed away by their `use` label, or tombstoned.

{_bullets(info.filters)}

Documents left out by the selection:

{_bullets(info.selection_drops)}

Examples:

{_bullets(info.example_counts)}

Examples left out:

{_bullets(info.example_drops)}

## Deduplication

{_bullets(info.dedup, "dedup parameters not recorded")}

## Decontamination

{deco_line}

## Known limitations

- Token counts come from `{info.tokenizer}`, not necessarily the tokenizer of the model you train;
  chat-template tokens are not counted.
- Decontamination matches exact word n-grams (lowercased, punctuation ignored): paraphrased or
  translated evaluation items, and evaluation texts shorter than the n-gram, are not detected.
- Deduplication is MinHash-based near-duplicate detection: pairs below its threshold stay apart.
- Personal data was redacted by automatic rules, which miss some cases.
- Language is identified per document; mixed-language pages carry one code.
- Chat examples come only from human-written question/answer pairs and from configured templates;
  documents without either yield no chat example.
"""


_FORMAT_PROSE = {
    "text": "one document per row in `text` (continued pre-training, domain adaptation).",
    "messages": "chat examples in `messages` (a list of `role`/`content`) for supervised fine-tuning.",
    "prompt_completion": "`prompt` and `completion` pairs for supervised fine-tuning.",
}


def split_token_counts(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for row in rows:
        out.setdefault(row["split"], []).append(row["token_count"])
    return out


def documents_by_source(docs: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(d.get("source") or "" for d in docs).items()))


def group_qa_pairs(pairs: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for pair in pairs:
        out.setdefault(pair["doc_id"], []).append(pair)
    return out


# ---- versions -------------------------------------------------------------------------------
# Bump when the rows written for the same inputs change, so old and new exports get new versions.
FORMAT_VERSION = "1"


def config_fingerprint(config: Mapping[str, Any]) -> str:
    """Hash of everything that shapes the output besides the data: settings, tokenizer, eval sets."""
    payload = json.dumps({"format_version": FORMAT_VERSION, **config}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def export_version(snapshot_id: str, config_hash: str) -> str:
    """Same snapshot and same config -> same version directory."""
    return hashlib.sha256(f"{snapshot_id}:{config_hash}".encode()).hexdigest()[:12]
