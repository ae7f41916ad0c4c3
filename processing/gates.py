"""Per-export gates: which drop reasons keep a document out of an export.

An export names categories (see `processing.quality.CATEGORIES`, plus `duplicates`) or single
reason codes in `exclude`. Without one it takes its default: the RAG export keeps out junk, thin
pages, boilerplate, duplicates and languages the source does not allow; the training export also
keeps out what the profile marks training-only (`web_quality`: the Gopher / C4 / FineWeb rules in
the domain profile). In the web profile those rules drop from both exports. Documents nothing
could be extracted from (`unusable`) are out of every export.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpusforge.processing.quality import CATEGORIES, CORPUS_CATEGORIES, FILTERS, category_of, reasons_in

DUPLICATES = "duplicates"
ALWAYS_EXCLUDED = ("unusable",)
KNOWN_REASONS = frozenset(f.reason for f in FILTERS) | frozenset(r for c in CATEGORIES for r in reasons_in(c))


class UnknownGateError(ValueError):
    """An export's `exclude` names neither a category nor a reason code."""


@dataclass(frozen=True)
class Gate:
    """What keeps documents out of one export: reason codes per source profile."""

    reasons_by_profile: dict[str, tuple[str, ...]]
    duplicates: bool  # representatives only (true) or every member of a duplicate cluster
    # Reason codes this version knows; a dropped document with any other (an older or newer
    # pipeline's code) stays out, since nobody can say which category it belongs to.
    known: frozenset[str] = KNOWN_REASONS

    def reasons(self, profile: str) -> tuple[str, ...]:
        return self.reasons_by_profile[profile]


def default_exclude(target: str, profile: str) -> list[str]:
    """The default `exclude` of an export for documents cleaned under `profile`."""
    categories = sorted(CORPUS_CATEGORIES[profile]) + [DUPLICATES]
    if target == "training" and "web_quality" not in categories:
        categories.append("web_quality")
    return categories


def _expand(names: list[str]) -> tuple[str, ...]:
    reasons: set[str] = set()
    for name in [*names, *ALWAYS_EXCLUDED]:
        if name == DUPLICATES:
            continue
        if name in CATEGORIES:
            reasons.update(reasons_in(name))
        elif name in KNOWN_REASONS:
            reasons.add(name)
        else:
            known = ", ".join([*CATEGORIES, DUPLICATES])
            raise UnknownGateError(f"unknown exclude entry {name!r}: use a category ({known}) or a reason code")
    return tuple(sorted(reasons))


def build_gate(target: str, exclude: list[str] | None, profiles: tuple[str, ...] = ("domain", "web")) -> Gate:
    """The gate of one export: its `exclude` for every profile, or each profile's default."""
    by_profile = {p: _expand(exclude if exclude is not None else default_exclude(target, p)) for p in profiles}
    duplicates = DUPLICATES in (exclude if exclude is not None else [DUPLICATES])
    return Gate(by_profile, duplicates)


def gated_reasons(drop_reasons: list[str], gate: Gate, profile: str) -> list[str]:
    """The reasons among a document's that keep it out of the export."""
    keep_out = set(gate.reasons(profile))
    return [r for r in drop_reasons if r in keep_out]


__all__ = ["DUPLICATES", "Gate", "UnknownGateError", "build_gate", "category_of", "default_exclude", "gated_reasons"]
