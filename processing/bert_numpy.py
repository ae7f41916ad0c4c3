"""A BERT sentence encoder in NumPy, for embedding one search question without loading torch.

`corpusforge search` embeds a single short question; importing torch and sentence-transformers
for it costs seconds and hundreds of MB, the forward pass itself milliseconds. This is the same
computation as a sentence-transformers BERT model (Transformer -> mean pooling -> L2 normalise),
on the same weights, so the vector matches the exports' to float32 rounding (tested against
sentence-transformers). Pure: weights and token ids in, vectors out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BertConfig:
    layers: int
    heads: int
    eps: float = 1e-12


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to a fractional error under 1.2e-7 (Numerical Recipes' erfc Chebyshev fit): float32
    precision, with no SciPy to import."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (
        0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))  # fmt: skip
    return np.sign(x) * (1.0 - t * np.exp(-z * z + poly))


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU, x * Phi(x) (not the tanh approximation).
    return (x * 0.5 * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)


def _linear(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def _attention(x: np.ndarray, mask: np.ndarray, w: dict, prefix: str, heads: int) -> np.ndarray:
    batch, length, hidden = x.shape
    size = hidden // heads

    def split(t: np.ndarray) -> np.ndarray:
        return t.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

    q = split(_linear(x, w, f"{prefix}.self.query"))
    k = split(_linear(x, w, f"{prefix}.self.key"))
    v = split(_linear(x, w, f"{prefix}.self.value"))
    scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size))
    scores = scores + (1.0 - mask[:, None, None, :]) * np.float32(-1e9)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    probs = scores / scores.sum(-1, keepdims=True)
    context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
    return _linear(context, w, f"{prefix}.output.dense")


def encode(weights: dict[str, np.ndarray], config: BertConfig, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence vectors for a batch of token ids (batch x length)."""
    w = weights
    mask = mask.astype(np.float32)
    positions = np.arange(ids.shape[1])
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
    x = x + w["embeddings.token_type_embeddings.weight"][np.zeros_like(ids)]
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], config.eps)
    for i in range(config.layers):
        p = f"encoder.layer.{i}"
        attended = _attention(x, mask, w, f"{p}.attention", config.heads)
        x = _layer_norm(
            attended + x, w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"],
            config.eps,
        )  # fmt: skip
        hidden = _gelu(_linear(x, w, f"{p}.intermediate.dense"))
        x = _layer_norm(
            _linear(hidden, w, f"{p}.output.dense") + x, w[f"{p}.output.LayerNorm.weight"],
            w[f"{p}.output.LayerNorm.bias"], config.eps,
        )  # fmt: skip
    pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
    return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)
