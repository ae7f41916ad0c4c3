"""The search question is embedded in NumPy (no torch): the same vector as sentence-transformers,
and `corpusforge search` on a real export loads neither torch nor Prefect."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import yaml

from corpusforge.connectors.query_model import load_query_encoder
from corpusforge.processing.embedding import default_model_path, load_embedder


def test_numpy_encoder_matches_sentence_transformers():
    questions = [
        "how do I read a file line by line",
        "Wie konfiguriere ich das Netzwerk?",
        "如何配置网络",
        "word " * 400,  # longer than the model's 256 tokens: truncated the same way
    ]
    ours = load_query_encoder(default_model_path()).embed(questions)
    reference = load_embedder(None, "cpu").embed(questions)
    assert ours.shape == reference.shape == (4, 384)
    assert np.abs(ours - reference).max() < 1e-4
    assert np.all((ours * reference).sum(1) > 0.99999)


def test_search_on_an_export_loads_no_torch(exported_copy, rag_documents, tmp_path):
    wh, _ = exported_copy
    config = tmp_path / "corpusforge.yaml"
    config.write_text(yaml.safe_dump({"warehouse": wh.root}))
    title = rag_documents[0]["title"]
    code = (
        "import sys; from corpusforge.flows.cli import main; "
        f"rc = main(['-c', {str(config)!r}, 'search', {title!r}, '-k', '3']); "
        "print(sorted(m for m in ('prefect', 'torch', 'sentence_transformers') if m in sys.modules)); print('rc', rc)"
    )
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    *table, loaded, rc = done.stdout.strip().splitlines()
    assert rc == "rc 0", done.stderr
    assert loaded == "[]"
    assert title in "\n".join(table)
