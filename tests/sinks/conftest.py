"""Fixtures of the sink tests: two real RAG exports of sample-site documents, made by the export
flow (the second after one document changed and one stopped being kept, so it has deletions),
and a real Chroma server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_for_http
from tests.export_rag.conftest import build_documents

# Embedding runs ~20 chunks/s here: 16 short pages give about 35 chunks.
PAGES = 16
QUESTIONS = ("how to install the package", "configuration file options", "network error handling")


@dataclass
class Exports:
    wh: object  # the Warehouse, holding the second export under exports/rag/default
    first: Path  # a copy of the first export's folder
    second: Path  # the second export's folder
    changed_doc: str
    dropped_doc: str


@pytest.fixture(scope="session")
def exports(tmp_path_factory, sample_site_dir, sample_manifest, prefect_api) -> Exports:
    from corpusforge.flows.export_rag import export_rag
    from corpusforge.schemas.config import Settings
    from corpusforge.warehouse import Warehouse, rag_store

    docs = build_documents(sample_site_dir, sample_manifest, PAGES)
    root = tmp_path_factory.mktemp("sinks") / "data"
    wh = Warehouse(str(root))
    wh.init()
    wh.write("documents", docs, "test-docs")
    export_rag(Settings(warehouse=str(root)))
    folder = Path(rag_store.export_dir(wh, "default"))
    first = tmp_path_factory.mktemp("first") / "default"
    shutil.copytree(folder, first)

    changed, dropped = dict(docs[0]), dict(docs[1])
    later = changed["cleaned_at"] + timedelta(days=1)
    changed.update(text=changed["text"] + "\nA sentence added later.", cleaned_at=later)
    changed["markdown"] += "\n\nA sentence added later."
    from corpusforge.processing.ids import sha256_hex

    changed["content_hash"] = sha256_hex(changed["text"])
    # Dropped by a quality rule the RAG export's gate excludes (thin pages).
    dropped.update(kept=False, drop_reasons=["gopher_too_few_words"], cleaned_at=later)
    wh.write("documents", [changed, dropped], "test-docs-2")
    export_rag(Settings(warehouse=str(root)))
    return Exports(wh, first, folder, changed["doc_id"], dropped["doc_id"])


@pytest.fixture(scope="session")
def embedder():
    from corpusforge.processing.embedding import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def question_vectors(embedder):
    return dict(zip(QUESTIONS, embedder.embed(list(QUESTIONS)), strict=True))


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real Chroma server (`chroma run` from the chromadb package) on a free local port, one for
    all the sink tests (each test uses collections of its own names)."""
    folder = tmp_path_factory.mktemp("chroma")
    port = free_port()
    log = folder / "server.log"
    chroma = Path(sys.executable).parent / "chroma"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", 60, proc, log)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
