"""Stable identifiers: pure functions shared by every stage."""

from __future__ import annotations

import hashlib


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def doc_id_for(canonical_url: str) -> str:
    """A document's id: a hash of its canonical URL, so re-crawls and re-cleans keep the id."""
    return sha256_hex(canonical_url)[:20]
