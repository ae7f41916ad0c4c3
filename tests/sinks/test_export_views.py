"""Vectors typed FLOAT[384] with no cast the user writes: the export folder's export.duckdb (read
by the duckdb CLI and by Python) and the warehouse's rag_chunks view."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from corpusforge.warehouse import rag_store
from corpusforge.warehouse.export_views import connect_export_views, write_export_views

NEAREST_SQL = """
select b.chunk_id
from chunks a, chunks b
where a.chunk_id = (select min(chunk_id) from chunks)
order by array_cosine_similarity(a.embedding, b.embedding) desc, b.chunk_id
limit 5
"""


@pytest.fixture()
def export_copy(exports, tmp_path) -> Path:
    folder = tmp_path / "default"
    shutil.copytree(exports.second, folder)
    write_export_views(folder)
    return folder


def test_duckdb_cli_reads_the_vector_as_float_384_with_no_cast(export_copy):
    duckdb_cli = Path(sys.executable).parent / "duckdb"
    out = subprocess.run(
        [
            str(duckdb_cli),
            "-readonly",
            "-csv",
            "-noheader",
            "export.duckdb",
            "-c",
            "select typeof(embedding), count(*) from chunks group by 1; " + NEAREST_SQL.replace("\n", " "),
        ],
        cwd=export_copy,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    nearest = out[1:]
    with connect_export_views(export_copy) as con:
        expected = [r[0] for r in con.execute(NEAREST_SQL).fetchall()]
        count = con.execute("select count(*) from chunks").fetchone()[0]
    assert out[0] == f"FLOAT[384],{count}"
    assert nearest == expected and nearest[0] == min(expected)  # a chunk is nearest to itself


def test_export_views_give_the_same_top_5_as_the_search(export_copy, exports, question_vectors, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the export folder: the connection finds the files itself
    with connect_export_views(export_copy) as con:
        assert con.execute("select typeof(embedding) from chunks limit 1").fetchone()[0] == "FLOAT[384]"
        deleted = con.execute("select count(*) from deletions").fetchone()[0]
        for vector in question_vectors.values():
            ids = [
                r[0]
                for r in con.execute(
                    "select chunk_id from chunks order by array_cosine_similarity(embedding, ?::FLOAT[384]) desc, "
                    "chunk_id limit 5",
                    [vector.tolist()],
                ).fetchall()
            ]
            assert ids == rag_store.search_export(exports.wh, "default", vector, 5).column("chunk_id").to_pylist()
    assert deleted > 0


def test_missing_or_foreign_folders_get_one_line_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no chunks.parquet"):
        write_export_views(tmp_path)
    with pytest.raises(FileNotFoundError, match="has no export.duckdb"):
        connect_export_views(tmp_path)


def test_warehouse_rag_chunks_carries_the_vectors(exports):
    con = exports.wh.connect()
    try:
        assert con.execute("select typeof(embedding) from rag_chunks limit 1").fetchone()[0] == "FLOAT[384]"
        chunks, rag = con.execute("select (select count(*) from chunks), (select count(*) from rag_chunks)").fetchone()
        assert rag == chunks > 0  # every chunk has its vector, once (one model)
    finally:
        con.close()
    exported = pq.read_table(exports.second / "chunks.parquet").slice(0, 1).to_pylist()[0]
    con = exports.wh.connect()
    try:
        sql = "select embedding from rag_chunks where chunk_id = ?"
        vector = con.execute(sql, [exported["chunk_id"]]).fetchone()[0]
    finally:
        con.close()
    assert np.allclose(vector, exported["embedding"])  # the vector the export shipped for that chunk
