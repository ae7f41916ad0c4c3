"""Evaluation sets to decontaminate against: the texts inside JSONL/JSON, Parquet and plain text files.

Which texts: every string value of a JSONL record or Parquet row, nested ones included (a
`messages` list, a `choices` list...), so any eval layout works without naming its fields; each
string is one text. Plain text files (any other suffix) hold one text per blank-line-separated
block, so both one-item-per-line and paragraph files keep their n-grams.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")


class EvalFileError(ValueError):
    """An eval file is missing or malformed; the message names the file (and line)."""


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        if value.strip():
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _jsonl_texts(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalFileError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            yield from _strings(record)


def _json_texts(path: Path) -> Iterator[str]:
    """A .json file: one JSON document (e.g. a list of records), else JSON lines."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        yield from _jsonl_texts(path)
        return
    yield from _strings(document)


def _parquet_texts(path: Path) -> Iterator[str]:
    try:
        file = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise EvalFileError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    for batch in file.iter_batches(batch_size=1000):
        for row in batch.to_pylist():
            yield from _strings(row)


def _plain_texts(path: Path) -> Iterator[str]:
    block: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                block.append(line)
            elif block:
                yield "".join(block)
                block = []
    if block:
        yield "".join(block)


def read_eval_texts(paths: list[str | Path]) -> Iterator[str]:
    """Every text of every eval file, in file order."""
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise EvalFileError(f"eval file {path} does not exist")
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            yield from _jsonl_texts(path)
        elif suffix == ".json":
            yield from _json_texts(path)
        elif suffix in PARQUET_SUFFIXES:
            yield from _parquet_texts(path)
        else:
            yield from _plain_texts(path)


def eval_files_digest(paths: list[str | Path]) -> dict[str, str]:
    """sha256 of each eval file, so an export's version changes when an eval set changes."""
    out = {}
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise EvalFileError(f"eval file {path} does not exist")
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
        out[str(path)] = digest.hexdigest()
    return out
