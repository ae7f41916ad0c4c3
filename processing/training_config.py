"""The fine-tuning export's configuration and the records its steps pass around: formats,
chat templates, `FormatConfig`, a `Draft` (an example before token fitting) and an `Example`."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

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
    """What `build_examples` needs; flows/configs.py `format_config` builds it from the export's settings."""

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


def placeholders(template: str | None) -> set[str]:
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
