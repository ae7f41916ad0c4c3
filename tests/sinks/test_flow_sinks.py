"""The RAG export flow with `sink: chroma`: the export folder is synced into a real Chroma server
(`chroma run`) as part of the export, and an unchanged re-export sends no new chunks."""

from __future__ import annotations

import re
import shutil

import pyarrow.parquet as pq
import pytest

from corpusforge.connectors.sinks import ChromaSink
from corpusforge.flows.export_rag import export_rag
from corpusforge.schemas.config import RagExport, Settings
from corpusforge.warehouse import Warehouse, rag_store

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture()
def warehouse_copy(exports, tmp_path) -> Warehouse:
    root = exports.second.parent.parent.parent / "data"
    shutil.copytree(root, tmp_path / "data")
    shutil.copytree(root.parent / "exports", tmp_path / "exports")
    wh = Warehouse(str(tmp_path / "data"))
    wh.init()
    return wh


def test_chroma_sink_through_the_export_flow(warehouse_copy, chroma_server, question_vectors):
    host, port = chroma_server
    cfg = RagExport(name="flow-chroma", sink="chroma", chroma_url=f"http://{host}:{port}")
    wh = warehouse_copy
    # The folder is named after the export: copy the existing one so the vectors come from the cache.
    shutil.copytree(rag_store.export_dir(wh, "default"), rag_store.export_dir(wh, cfg.name))
    summary = export_rag(Settings(warehouse=wh.root, exports={"rag": [cfg]}))
    chunks = pq.read_table(f"{rag_store.export_dir(wh, cfg.name)}/chunks.parquet")
    assert summary.counts["chunks embedded"] == 0
    assert summary.counts["sink rows"] == chunks.num_rows
    assert f"chroma http://{host}:{port} collection {cfg.name}" in summary.outputs

    sink = ChromaSink.connect(host, port, cfg.name)
    assert sink.chunk_ids() == set(chunks.column("chunk_id").to_pylist())
    hits = sink.search(question_vectors["how to install the package"], 3)
    assert hits.num_rows == 3 and set(hits.column("chunk_id").to_pylist()) <= sink.chunk_ids()

    again = export_rag(Settings(warehouse=wh.root, exports={"rag": [cfg]}))
    assert again.counts["sink inserted"] == again.counts["sink deleted"] == again.counts["sink stale removed"] == 0
    assert again.counts["sink rows"] == chunks.num_rows


def test_search_cli_against_the_chroma_collection(warehouse_copy, chroma_server, capsys):
    import yaml

    from corpusforge.flows.cli import main

    host, port = chroma_server
    wh = warehouse_copy
    cfg = {"name": "cli-chroma", "sink": "chroma", "chroma_url": f"http://{host}:{port}"}
    shutil.copytree(rag_store.export_dir(wh, "default"), rag_store.export_dir(wh, cfg["name"]))
    export_rag(Settings(warehouse=wh.root, exports={"rag": [RagExport(**cfg)]}))
    config = wh.root.rsplit("/", 1)[0] + "/corpusforge.yaml"
    with open(config, "w") as fh:
        fh.write(yaml.safe_dump({"warehouse": wh.root, "exports": {"rag": [cfg]}}))
    assert main(["-c", config, "search", "how to install the package", "-k", "3", "--sink", "chroma"]) == 0
    out = capsys.readouterr().out
    assert "top 3 for 'how to install the package' (chroma)" in out
    assert len(re.findall(r"│ +-?\d\.\d{3} │", out)) == 3  # three rows, each with its score
    # An export with no chroma_url: one line saying so.
    with open(config, "w") as fh:
        fh.write(yaml.safe_dump({"warehouse": wh.root, "exports": {"rag": [{"name": cfg["name"]}]}}))
    assert main(["-c", config, "search", "anything", "--sink", "chroma"]) != 0
    assert "has no chroma_url in the config" in capsys.readouterr().err
