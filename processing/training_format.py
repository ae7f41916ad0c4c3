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
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from corpusforge.processing.training_config import (
    SPLIT_ORDER,
    TEMPLATE_FIELDS,
    Draft,
    Example,
    FormatConfig,
    Tokens,
    placeholders,
)
from corpusforge.processing.training_decontamination import NgramIndex
from corpusforge.processing.training_tokens import fit_to_max_tokens
from corpusforge.schemas.training import LINEAGE_FIELDS


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
        needed = placeholders(tpl.system) | placeholders(tpl.user) | placeholders(tpl.assistant)
        values = {name: str(doc.get(name) or "") for name in TEMPLATE_FIELDS}
        if any(not values[name].strip() for name in needed):
            yield "template_missing_field"
            continue
        # The export's system prompt applies to every example without a system turn of its own.
        system_text = tpl.system or cfg.system_prompt
        parts = tuple((role, text) for role, text in (("system", system_text), ("user", tpl.user)) if text)
        parts += (("assistant", tpl.assistant),)
        yield Draft(doc, "template", parts, values, cfg.document_field)


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


# ---- rows -----------------------------------------------------------------------------------
def example_id(example: Example, fmt: str) -> str:
    payload = json.dumps([fmt, example.doc["doc_id"], example.doc.get("content_hash"), example.contents])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


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


def with_row_hashes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, each with `row_hash`: a hash of every column (split included), from which the
    version's content hash is made in row order."""
    for row in rows:
        payload = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
        row["row_hash"] = hashlib.sha256(payload.encode()).hexdigest()
    return rows


def export_version(content_hash: str, config_hash: str) -> str:
    """Same rows and same config -> same version directory."""
    return hashlib.sha256(f"{content_hash}:{config_hash}".encode()).hexdigest()[:12]
