"""Language ID: the vectorised feature counting gives exactly py3langid's counts and scores."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier, visit_counts

from corpusforge.processing.language import _identifier, check_dfa, identify_language

TEXTS = [
    "The quick brown fox jumps over the lazy dog, and the dog does not mind at all.",
    "Der schnelle braune Fuchs springt über den faulen Hund, und der Hund merkt es nicht.",
    "Le renard brun rapide saute par-dessus le chien paresseux, qui ne s'en soucie guère.",
    "El rápido zorro marrón salta sobre el perro perezoso, que no se inmuta.",
    "敏捷的棕色狐狸跳过了懒狗，懒狗一点也不在意。这是一个用来测试的句子。",
    "素早い茶色の狐はのろまな犬を飛び越えた。犬はまったく気にしていない。",
    "Быстрая коричневая лиса перепрыгивает через ленивую собаку.",
    "def main():\n    return {'a': 1, 'b': [2, 3]}  # code has bytes too",
    "a",
    "x" * 5000,
    "",
]


@pytest.fixture(scope="module")
def reference() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _texts() -> list[str]:
    rng = random.Random(7)
    noise = ["".join(chr(rng.randrange(1, 0x3100)) for _ in range(400)) for _ in range(20)]
    docs = sorted(Path("/usr/share/doc/python3.11/html").rglob("*.html"))[:30]
    return TEXTS + noise + [p.read_text(errors="replace")[2000:4500] for p in docs]


def test_feature_counts_are_py3langids(reference):
    fast = _identifier()
    for text in _texts():
        data = LanguageIdentifier._encode(text)
        expected = visit_counts(reference.tk_nextmove, reference._rowbase, reference.tk_output, data) or {}
        ids, counts = fast._suffix_states.features(data)
        assert list(zip(ids.tolist(), counts.tolist(), strict=True)) == list(expected.items()), text[:40]


def test_scores_are_py3langids(reference):
    fast = _identifier()
    for text in _texts():
        assert fast.classify(text) == reference.classify(text), text[:40]


def test_suffix_rule_matches_every_sampled_transition():
    # All 104k states take ~10 s; a sample of them, every byte, keeps the test quick.
    assert check_dfa(_identifier(), sample=3000) == 0


def test_identify_language_codes():
    assert identify_language(TEXTS[0]).code == "en"
    assert identify_language(TEXTS[1]).code == "de"
    assert identify_language(TEXTS[5]).code == "ja"
    assert identify_language("1234 5678 !!").code == "und"


def test_the_uncompressed_model_copy_scores_as_py3langids_own_file(reference, tmp_path, monkeypatch):
    """The model is decompressed once into the user's cache folder and memory-mapped from there
    by every later process; a damaged copy falls back to py3langid's file."""
    from corpusforge.connectors import language_model as language

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = language.load_identifier()  # writes the copy
    folder = language.model_cache_dir()
    assert folder.parent == tmp_path / "corpusforge" and (folder / "nextmove.npy").exists()
    from_copy = language.load_identifier()
    assert (from_copy._suffix_states.depth == first._suffix_states.depth).all()
    assert from_copy.nb_classes == reference.nb_classes
    for text in _texts():
        assert from_copy.classify(text) == first.classify(text) == reference.classify(text), text[:40]

    (folder / "nextmove.npy").write_bytes(b"not an array")
    damaged = language.load_identifier()
    assert damaged.classify(TEXTS[1].encode()) == reference.classify(TEXTS[1].encode())
    assert not folder.exists()  # taken away: the next process makes a new copy
    language.load_identifier()
    assert (folder / "nextmove.npy").exists()


def test_a_clean_worker_loads_the_model_from_the_copy(tmp_path):
    """A clean worker process (the forkserver's preload, a Dask clean child) takes the model from
    the uncompressed copy: after one such process, the copy is in the cache folder, and another
    process's model is the memory-mapped one, with py3langid's scores."""
    import os
    import subprocess
    import sys

    code = (
        "from corpusforge.flows.clean_worker import load_language_model; load_language_model(); "
        "from corpusforge.processing.language import _identifier, identify_language; import numpy as np; "
        f"print(isinstance(_identifier().tk_nextmove, np.memmap), identify_language({TEXTS[1]!r}).code)"
    )
    env = os.environ | {"XDG_CACHE_HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env) for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["False", "de"], ["True", "de"]], [r.stderr[-500:] for r in runs]
    assert list((tmp_path / "corpusforge").glob("langid-model-*/nextmove.npy"))
