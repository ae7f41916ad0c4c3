"""The dataset card (README.md) of a fine-tuning export, built with `huggingface_hub`'s
DatasetCard / DatasetCardData (the library that defines the format, and validates it): YAML front
matter (configs, dataset_info, language, license, task and size categories) and the prose a reader
needs to trust the data, with a provenance section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from huggingface_hub import DatasetCard, DatasetCardData

from corpusforge.processing.training_config import SPLIT_ORDER


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
    license_name: str | None = None
    license_link: str | None = None
    task_categories: list[str] | None = None
    pretty_name: str | None = None


DEFAULT_LICENSE_NAME = "per-source-terms"
LICENSE_FILE = "LICENSE.md"
# The Hub's size_categories buckets, by number of examples.
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))  # fmt: skip


def size_category(examples: int) -> str:
    return next((label for bound, label in SIZE_CATEGORIES if examples < bound), "n>1B")


def task_categories(info: CardInfo) -> list[str]:
    if info.task_categories:
        return list(info.task_categories)
    return ["text-generation"] if info.fmt == "text" else ["text-generation", "question-answering"]


def license_fields(info: CardInfo) -> dict[str, str]:
    """license, and for `other` the license_name and license_link the Hub asks for."""
    if info.license != "other":
        return {"license": info.license}
    return {
        "license": "other",
        "license_name": info.license_name or DEFAULT_LICENSE_NAME,
        "license_link": info.license_link or LICENSE_FILE,
    }


def writes_license_file(info: CardInfo) -> bool:
    return info.license == "other" and (info.license_link or LICENSE_FILE) == LICENSE_FILE


def card_data(info: CardInfo) -> DatasetCardData:
    splits = [s for s in SPLIT_ORDER if s in info.splits]
    examples = sum(info.splits[s]["num_examples"] for s in splits)
    return DatasetCardData(
        language=sorted(info.languages),
        task_categories=task_categories(info),
        size_categories=[size_category(examples)],
        pretty_name=info.pretty_name or f"corpusforge {info.name}",
        tags=["corpusforge", info.fmt],
        configs=[
            {
                "config_name": "default",
                "default": True,
                "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits],
            }
        ],
        **license_fields(info),
        dataset_info={
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
    )


def _bullets(items: Mapping[str, Any], empty: str = "none") -> str:
    if not items:
        return f"- {empty}"
    return "\n".join(f"- `{k}`: {v}" for k, v in items.items())


def dataset_card(info: CardInfo) -> str:
    """README.md of an export: the Hugging Face YAML header, then what a reader needs to trust it."""
    header = card_data(info).to_yaml()
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
    card = DatasetCard(f"""---
{header}
---

# corpusforge {info.name} ({info.fmt})

Version `{info.version}`, built by corpusforge from warehouse snapshot `{info.snapshot_id}` with
config hash `{info.config_hash}`. The same config over the same snapshot gives the same version and
byte-identical shards.

Load the latest version with `datasets.load_dataset("exports/training/{info.name}")` (or its
`latest/` folder); this version stays loadable by its own folder, `__versions__/{info.version}`.{jsonl_line_text}

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

## Provenance

Snapshot `{info.snapshot_id}` of the warehouse (the files of its documents, clusters, annotations
and tombstones tables), config hash `{info.config_hash}`.

### Sources (documents)

{_bullets(info.sources)}

### Selection, filters and thresholds

Current versions of documents the clean stage kept, one representative per duplicate cluster,
without documents humans labelled `drop`, routed away by their `use` label, or tombstoned.

{_bullets(info.filters)}

Documents left out by the selection:

{_bullets(info.selection_drops)}

Examples:

{_bullets(info.example_counts)}

Examples left out:

{_bullets(info.example_drops)}

### Deduplication

{_bullets(info.dedup, "dedup parameters not recorded")}

### Decontamination

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
""")
    return str(card)


def license_text(info: CardInfo) -> str:
    """LICENSE.md of an export under `license: other`: the texts keep their sources' terms."""
    sources = "\n".join(f"- `{name}`: {count:,} document(s)" for name, count in info.sources.items())
    return f"""# Terms of the corpusforge {info.name} dataset

The texts were fetched from the sources below and keep the terms under which each source
publishes them; this dataset grants no further rights. Check each source's terms (and its
robots.txt, which the crawl obeyed) before training on or sharing these texts.

{sources or "- no sources"}
"""


_FORMAT_PROSE = {
    "text": "one document per row in `text` (continued pre-training, domain adaptation).",
    "messages": "chat examples in `messages` (a list of `role`/`content`) for supervised fine-tuning.",
    "prompt_completion": "`prompt` and `completion` pairs for supervised fine-tuning.",
}
