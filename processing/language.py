"""Language identification, offline: py3langid ships its model inside the PyPI package.

Confidence is py3langid's normalised probability (0..1). The model is loaded once per process.
Only the first few thousand characters are scored: the language of a page does not change
halfway through, and the cost of scoring grows with the length of the text.

py3langid counts its byte n-gram features by walking a DFA in a Python loop, one step per byte,
which costs more than the rest of the scoring. The DFA is an Aho-Corasick automaton: the state
after a byte is the longest suffix of the text so far that is a prefix of a feature, at most six
bytes. So every position's state can be found at once with NumPy, by looking up the text's
suffixes of each length in sorted tables of the states' byte strings (`SuffixStates`). The
feature counts, and so every score, are exactly py3langid's (`check_dfa` proves the tables
describe the same automaton, transition by transition).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from py3langid.langid import MODEL_FILE, LanguageIdentifier

SAMPLE_CHARS = 2000
UNDETERMINED = "und"


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # ISO 639-1 code, or "und" when the text has nothing to go on
    confidence: float


def _transitions(identifier: LanguageIdentifier) -> tuple[np.ndarray, np.ndarray]:
    """The DFA as arrays: next state = moves[rowbase[state] + byte] (the model's own buffer, no copy)."""
    moves = identifier.tk_nextmove
    moves = np.frombuffer(moves, dtype=f"=u{moves.itemsize}") if isinstance(moves, array) else np.asarray(moves)
    return moves, np.asarray(identifier._rowbase, dtype=np.int64)


def state_strings(identifier: LanguageIdentifier, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(length, bytes as a big-endian integer) of every DFA state's string, by breadth-first
    search from the start state: the first path to reach a state spells its string. (A frontier
    is expanded `chunk` states at a time, so the 256 moves of each stay a few MB.)"""
    moves, rowbase = _transitions(identifier)
    length = np.full(len(rowbase), -1, dtype=np.int8)
    key = np.zeros(len(rowbase), dtype=np.int64)
    length[0] = 0
    frontier, byte = np.array([0]), np.arange(256, dtype=np.int64)
    depth = 0
    while len(frontier):
        depth += 1
        reached = []
        for start in range(0, len(frontier), chunk):
            part = frontier[start : start + chunk]
            children = moves[rowbase[part][:, None] + byte].ravel()
            new = length[children] < 0
            states, first = np.unique(children[new], return_index=True)
            length[states] = depth
            key[states] = (key[part][:, None] * 256 + byte).ravel()[new][first]
            reached.append(states)
        frontier = np.concatenate(reached)
    return length, key


class SuffixStates:
    """The DFA state after every byte of a text, found for all bytes at once (see the module
    docstring): the state of the suffix of length n ending at a byte is the trie child, by that
    byte, of the state of the suffix of length n - 1 ending at the byte before; the longest
    suffix that is a state wins."""

    def __init__(self, identifier: LanguageIdentifier, depth: np.ndarray | None = None):
        self.moves, self.rowbase = _transitions(identifier)
        self.depth = state_strings(identifier)[0] if depth is None else depth
        self.longest = int(self.depth.max())
        self.output = np.asarray(identifier.tk_output, dtype=np.int64)

    def states(self, data: bytes) -> np.ndarray:
        """The state after each byte: the longest suffix that is a state's string."""
        raw = np.frombuffer(data, dtype=np.uint8).astype(np.int64)
        state = self.moves[self.rowbase[0] + raw].astype(np.int64)  # suffixes of one byte
        level = state.copy()
        valid = self.depth[level] == 1
        for n in range(2, min(self.longest, len(raw)) + 1):
            # suffixes of n bytes end at positions n-1..: extend those of n-1 bytes ending one byte earlier
            level = self.moves[self.rowbase[level[:-1]] + raw[n - 1 :]]
            valid = valid[:-1] & (self.depth[level] == n)
            if not valid.any():
                break
            state[n - 1 :][valid] = level[valid]
        return state

    def features(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(feature ids, counts) in order of first occurrence, as py3langid's `visit_counts`."""
        features = self.output[self.states(data)]
        features = features[features >= 0]
        ids, first, counts = np.unique(features, return_index=True, return_counts=True)
        order = np.argsort(first)
        return ids[order], counts[order]


class FastLanguageIdentifier(LanguageIdentifier):
    """py3langid's identifier with the feature counting of `SuffixStates`; scores unchanged."""

    __slots__ = ("_suffix_states",)

    def __init__(self, *args, state_depth: np.ndarray | None = None, **kwargs):
        """py3langid's arguments; `state_depth`: the length of each DFA state's string, when
        known (the model cache keeps it: finding it walks the whole DFA)."""
        super().__init__(*args, **kwargs)
        self._suffix_states = SuffixStates(self, state_depth)

    def _raw_score(self, text):
        ids, counts = self._suffix_states.features(text)
        if not len(ids):
            return super()._raw_score(b"")  # py3langid's score of a text without features
        # py3langid's `_sparse_score` on the same arrays (the same order, so the same sums)
        return np.log1p(counts.astype(np.float32)) @ self.nb_ptc[ids] + self.nb_pc


def check_dfa(identifier: FastLanguageIdentifier, sample: int | None = None, seed: int = 0) -> int:
    """Transitions where the longest-suffix rule disagrees with the DFA (of `sample` random
    states, default all): 0 proves `SuffixStates` exact, by induction over the text, since the
    state strings are closed under prefixes (they are a BFS tree)."""
    moves, rowbase = _transitions(identifier)
    length, key = state_strings(identifier)
    tables = []
    for n in range(1, int(length.max()) + 1):
        states = np.flatnonzero(length == n)
        order = np.argsort(key[states])
        tables.append((key[states][order], states[order]))
    states = np.arange(len(rowbase))
    if sample is not None:
        states = np.random.default_rng(seed).choice(states, size=sample, replace=False)
    wrong = 0
    for byte in range(256):
        expected = moves[rowbase[states] + byte]
        found = np.zeros(len(states), dtype=np.int64)
        for n, (keys, table_states) in enumerate(tables, start=1):
            # the state's string plus the byte, cut to its last n bytes
            suffix = (key[states] * 256 + byte) & ((1 << (8 * n)) - 1)
            at = np.clip(np.searchsorted(keys, suffix), 0, len(keys) - 1)
            hit = (length[states] + 1 >= n) & (keys[at] == suffix)
            found[hit] = table_states[at[hit]]
        wrong += int((found != expected).sum())
    return wrong


def load_from_package() -> FastLanguageIdentifier:
    """The model from py3langid's own (LZMA-compressed) file."""
    return FastLanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


_loader: Callable[[], FastLanguageIdentifier] = load_from_package


def use_model_loader(load: Callable[[], FastLanguageIdentifier]) -> None:
    """Where this process's model comes from (connectors/language_model.py offers a cached copy);
    the model already loaded is dropped only when the loader changes."""
    global _loader
    if load is not _loader:
        _loader = load
        _identifier.cache_clear()


@lru_cache(maxsize=1)
def _identifier() -> FastLanguageIdentifier:
    return _loader()


def identify_language(text: str) -> LanguageGuess:
    sample = text[:SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return LanguageGuess(UNDETERMINED, 0.0)
    code, confidence = _identifier().classify(sample)
    return LanguageGuess(code, round(float(confidence), 4))


def language_allowed(code: str, allowed: list[str] | tuple[str, ...]) -> bool:
    """An empty allow-list allows every language."""
    return not allowed or code in allowed
