"""The dataset card (README.md) of a fine-tuning export, in the Hugging Face layout: YAML front
matter (configs, features, splits) and the prose a reader needs to trust the data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import yaml

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
