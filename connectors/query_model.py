"""Loads a sentence-transformers BERT model folder for `processing.bert_numpy`: the safetensors
weights, the tokenizer (the `tokenizers` library, no torch) and the settings that shape the
input (max sequence length). Used by `corpusforge search` to embed the question."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpusforge.processing.bert_numpy import BertConfig, encode


class UnsupportedModelError(ValueError):
    """The model folder is not a BERT sentence-transformers model with mean pooling."""


@dataclass
class QueryEncoder:
    weights: dict[str, np.ndarray]
    config: BertConfig
    tokenizer: object  # tokenizers.Tokenizer

    def embed(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return encode(self.weights, self.config, ids, mask)


def _json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def load_query_encoder(folder: str | Path) -> QueryEncoder:
    """The encoder of a local sentence-transformers folder; UnsupportedModelError when it is not
    a BERT model with mean pooling and normalisation (the caller then uses sentence-transformers)."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    root = Path(folder)
    config = _json(root / "config.json")
    pooling = _json(root / "1_Pooling" / "config.json")
    modules = [m.get("type", "") for m in json.loads((root / "modules.json").read_text())] if (
        root / "modules.json").exists() else []  # fmt: skip
    supported = (
        config.get("model_type") == "bert"
        and (root / "model.safetensors").exists()
        and pooling.get("pooling_mode_mean_tokens")
        and any(m.endswith("Normalize") for m in modules)
    )
    if not supported:
        raise UnsupportedModelError(f"{root} is not a BERT model with mean pooling and normalisation")
    tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
    max_length = int(_json(root / "sentence_bert_config.json").get("max_seq_length", 256))
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))
    bert = BertConfig(int(config["num_hidden_layers"]), int(config["num_attention_heads"]),
                      float(config.get("layer_norm_eps", 1e-12)))  # fmt: skip
    return QueryEncoder(load_file(str(root / "model.safetensors")), bert, tokenizer)
