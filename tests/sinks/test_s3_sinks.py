"""`sink: lancedb` and `sink: chroma` with the warehouse on S3 (a moto S3 server): the export flow
writes the export into the bucket and syncs the configured store from there, with no copy on the
local disk. LanceDB's database defaults to `exports/lancedb` in the bucket beside `exports/rag/`
(a local folder when the user configures one); a Chroma server (a real `chroma run`) gets the
rows of the export on S3 from the flow's sink step. The sink tests' small warehouse is copied into
the bucket, so the vectors come from its embedding cache and nothing is embedded again."""

from __future__ import annotations

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import yaml

from corpusforge.connectors.sinks import ChromaSink, LanceDBSink
from corpusforge.flows.export_rag import export_rag
from corpusforge.schemas.config import RagExport, Settings
from corpusforge.warehouse import Warehouse, rag_store
from tests.conftest import S3_BUCKET, s3_url

pytestmark = pytest.mark.usefixtures("prefect_api")
PREFIX = "sinks-on-s3"  # the warehouse is <bucket>/<prefix>/data, its exports <prefix>/exports


@pytest.fixture(scope="module")
def s3_warehouse(exports, s3_endpoint) -> Warehouse:
    """The sink tests' warehouse (tables and embedding cache) copied into the bucket."""
    wh = Warehouse(s3_url(s3_endpoint, f"{PREFIX}/data"))
    pafs.copy_files(exports.wh.root, wh.root, pafs.LocalFileSystem(), wh.fs)
    return wh


@pytest.fixture(scope="module")
def synced(s3_warehouse):
    """One export run on the S3 warehouse with `sink: lancedb` and no lancedb_uri."""
    cfg = RagExport(name="s3-lance", sink="lancedb")
    return export_rag(Settings(warehouse=s3_warehouse.root_url, exports={"rag": [cfg]})), cfg


def _export_chunk_ids(wh: Warehouse, name: str) -> set[str]:
    table = pq.read_table(f"{rag_store.export_dir(wh, name)}/chunks.parquet", columns=["chunk_id"], filesystem=wh.fs)
    return set(table.column("chunk_id").to_pylist())


def test_lancedb_sink_defaults_to_a_database_in_the_bucket(s3_warehouse, synced, tmp_path, monkeypatch, capsys):
    wh, (summary, cfg) = s3_warehouse, synced
    assert summary.counts["chunks embedded"] == 0  # the vectors came from the cache in the bucket
    database = f"{S3_BUCKET}/{PREFIX}/exports/lancedb"
    # Named without the URL's query (endpoint options, maybe keys), as every s3:// location in a summary.
    assert f"lancedb s3://{database} table s3-lance" in summary.outputs
    listing = wh.fs.get_file_info(pafs.FileSelector(f"{database}/s3-lance.lance", recursive=True))
    assert any(i.path.endswith(".lance") for i in listing), "the LanceDB table is not in the bucket"
    expected = _export_chunk_ids(wh, cfg.name)
    assert summary.counts["sink rows"] == summary.counts["sink inserted"] == len(expected) > 0
    assert LanceDBSink(rag_store.lancedb_dir(wh), cfg.name).chunk_ids() == expected
    monkeypatch.chdir(tmp_path)
    # A configured local folder stays one, whatever the warehouse.
    assert rag_store.lancedb_dir(wh, "vectors") == str(tmp_path / "vectors")

    # `corpusforge search --sink lancedb` finds the database in the bucket from the same config.
    (tmp_path / "corpusforge.yaml").write_text(
        yaml.safe_dump({"warehouse": wh.root_url, "exports": {"rag": [cfg.model_dump(mode="json")]}})
    )
    from corpusforge.flows.cli import main

    question = ["search", "how to install the package", "-k", "2", "--name", "s3-lance", "--sink", "lancedb"]
    assert main(["-c", "corpusforge.yaml", *question]) == 0
    assert "top 2 for 'how to install the package' (lancedb)" in capsys.readouterr().out
    assert not (tmp_path / S3_BUCKET).exists() and not (tmp_path / "exports").exists()  # nothing landed locally


def test_chroma_sink_gets_its_rows_from_the_export_on_s3(s3_warehouse, synced, chroma_server, question_vectors):
    """The flow's sink step (what its `export-rag-sink` task runs) with `sink: chroma`, on the
    export the flow just wrote into the bucket: check_sink lets it through and the server gets
    every chunk."""
    from corpusforge.flows.export_rag import check_sink, sync_sink

    host, port = chroma_server
    wh, exported = s3_warehouse, synced[1].name
    cfg = RagExport(name="s3-chroma", sink="chroma", chroma_url=f"http://{host}:{port}")
    check_sink(wh, cfg)
    result = sync_sink(wh, cfg, rag_store.export_dir(wh, exported))
    expected = _export_chunk_ids(wh, exported)
    assert result.rows == result.inserted == len(expected) > 0
    sink = ChromaSink.connect(host, port, cfg.name)
    assert sink.chunk_ids() == expected
    hits = sink.search(question_vectors["how to install the package"], 3)
    assert hits.num_rows == 3 and set(hits.column("chunk_id").to_pylist()) <= expected
