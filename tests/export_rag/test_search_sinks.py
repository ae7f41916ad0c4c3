"""`corpusforge search --sink lancedb [--hybrid]` as a user runs it (a real subprocess over a real
export synced into embedded LanceDB): the same result table as the Parquet search, the same top
chunks, and still no Prefect loaded."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from corpusforge.connectors.sinks import LanceDBSink
from corpusforge.flows.export_rag import export_rag
from corpusforge.flows.search import embed_question
from corpusforge.flows.search import search as parquet_search
from corpusforge.schemas.config import RagExport, Settings
from corpusforge.warehouse import rag_store

pytestmark = pytest.mark.usefixtures("prefect_api")

CONFIG = "warehouse: ./data\nexports:\n  rag:\n    - name: default\n      sink: lancedb\n"
LOADED = "import sys; print('prefect' in sys.modules)"


def run_search(cwd, *args: str) -> tuple[str, str, str]:
    """(stdout, 'True'/'False' whether Prefect was imported, the exit code line)."""
    code = f"from corpusforge.flows.cli import main; rc = main({list(args)!r}); {LOADED}; print('rc', rc)"
    env = {k: v for k, v in os.environ.items() if k != "CORPUSFORGE_CONFIG"} | {"COLUMNS": "250"}
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    *shown, loaded, rc = out.stdout.rstrip().splitlines()
    return "\n".join(shown) + out.stderr, loaded, rc


@pytest.fixture()
def lancedb_export(exported_copy):
    wh, _ = exported_copy
    export_rag(Settings(warehouse=wh.root, exports={"rag": [RagExport(sink="lancedb")]}))
    return wh


def test_search_lancedb_matches_the_parquet_search(lancedb_export, rag_documents):
    wh = lancedb_export
    sink = LanceDBSink(rag_store.lancedb_dir(wh), "default")
    manifest = rag_store.read_manifest(wh, "default")
    for doc in rag_documents[:5]:
        parquet = parquet_search(wh, doc["title"], k=5)
        lance = sink.search(embed_question(doc["title"], manifest, "default"), 5)
        assert lance.column_names == parquet.column_names
        overlap = set(lance.column("chunk_id").to_pylist()) & set(parquet.column("chunk_id").to_pylist())
        assert len(overlap) >= 4, doc["title"]


@pytest.mark.parametrize("hybrid", [False, True], ids=["vector", "hybrid"])
def test_search_cli_against_lancedb(lancedb_export, rag_documents, hybrid):
    cwd = lancedb_export.root.rsplit("/", 1)[0]
    with open(f"{cwd}/corpusforge.yaml", "w") as fh:
        fh.write(CONFIG)
    title = rag_documents[0]["title"]
    shown, loaded, rc = run_search(cwd, "search", title, "--sink", "lancedb", *(["--hybrid"] if hybrid else []))
    assert rc == "rc 0", shown
    assert f"top 5 for {title!r} (lancedb{', hybrid' if hybrid else ''})" in shown
    assert title in shown.split("snippet", 1)[1]  # the page itself is among the hits
    assert loaded == "False"  # search answers without Prefect


def test_hybrid_search_without_lancedb_is_a_one_line_error(lancedb_export):
    cwd = lancedb_export.root.rsplit("/", 1)[0]
    with open(f"{cwd}/corpusforge.yaml", "w") as fh:
        fh.write(CONFIG)
    shown, _, rc = run_search(cwd, "search", "anything", "--hybrid")
    assert rc != "rc 0"
    assert "hybrid search needs --sink lancedb" in shown
