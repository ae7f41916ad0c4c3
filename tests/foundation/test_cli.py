"""The CLI as a user runs it: a real subprocess, real exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpusforge.schemas.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]
CLI = [str(Path(sys.executable).parent / "corpusforge")]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CORPUSFORGE_CONFIG"}
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def test_version_and_help(tmp_path):
    out = run_cli("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("corpusforge ")
    helped = run_cli("--help", cwd=tmp_path)
    assert helped.returncode == 0
    for command in ("tables", "query"):
        assert command in helped.stdout
    assert "read-only SQL" in run_cli("query", "--help", cwd=tmp_path).stdout


def test_tables_on_a_fresh_warehouse_lists_eight_empty_tables(tmp_path):
    out = run_cli("tables", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for name in ("pages", "documents", "clusters", "annotation_tasks", "annotations", "training_examples",
                 "chunks", "tombstones"):
        line = next(line for line in out.stdout.splitlines() if f" {name} " in line)
        assert " 0 " in line
    assert (tmp_path / "data" / "corpus.duckdb").exists()


def test_query_prints_result_and_formats(tmp_path):
    out = run_cli("query", "select 42", cwd=tmp_path)
    assert out.returncode == 0 and "42" in out.stdout
    csv = run_cli("query", "select 42 as answer", "--format", "csv", cwd=tmp_path)
    assert csv.stdout.splitlines() == ['"answer"', "42"]
    js = run_cli("query", "select 42 as answer", "--format", "json", cwd=tmp_path)
    assert js.stdout.strip() == '{"answer": 42}'
    target = tmp_path / "out.parquet"
    pq_out = run_cli("query", "select 42 as answer", "--format", "parquet", "--output", str(target), cwd=tmp_path)
    assert pq_out.returncode == 0
    import pyarrow.parquet as pq

    assert pq.read_table(target).to_pylist() == [{"answer": 42}]


def test_query_of_missing_table_is_one_line_and_nonzero(tmp_path):
    out = run_cli("query", "select * from nosuchtable", cwd=tmp_path)
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nosuchtable" in lines[0] and "Traceback" not in out.stderr


def test_query_is_read_only(tmp_path):
    out = run_cli("query", "create table t as select 1", cwd=tmp_path)
    assert out.returncode != 0 and "read-only" in out.stderr.lower()


def test_bad_config_gives_one_line_naming_the_field(tmp_path):
    cfg = tmp_path / "corpusforge.yaml"
    cfg.write_text("warehouse: ./data\nsources:\n  - name: docs\n    kind: site\n    url: http://127.0.0.1:1/\n"
                   "    max_pages: -5\n")
    out = run_cli("tables", cwd=tmp_path)
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sources.0.max_pages" in lines[0] and "greater than or equal to 1" in lines[0]


def test_debug_shows_traceback(tmp_path):
    out = run_cli("--debug", "query", "select * from nosuchtable", cwd=tmp_path)
    assert out.returncode != 0 and "Traceback" in out.stderr


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("sources:\n  - name: a\n    kind: ftp\n", "sources.0.kind"),
        ("sources:\n  - name: a\n    kind: site\n", "a site source needs 'url'"),
        ("sources:\n  - {name: a, kind: files, path: x}\n  - {name: a, kind: files, path: y}\n", "used twice"),
        ("warehouse: [unclosed\n", "not valid YAML"),
        ("crawl:\n  delai: 3\n", "crawl.delai"),
    ],
)
def test_config_errors(tmp_path, text, fragment):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")) as info:
        load_settings(cfg)
    assert "\n" not in str(info.value)


def test_relative_warehouse_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "proj").mkdir()
    cfg = tmp_path / "proj" / "corpusforge.yaml"
    cfg.write_text("warehouse: ./wh\n")
    assert load_settings(cfg).warehouse == str(tmp_path / "proj" / "wh")


LOADED = "import sys; print(sorted(m for m in ('prefect', 'torch', 'sentence_transformers') if m in sys.modules))"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["query", "select 1"], ["tables"], ["search", "a question"], ["export", "--help"]],
    ids=["help", "query", "tables", "search-without-export", "export-help"],
)
def test_quick_commands_load_neither_prefect_nor_torch(tmp_path, args):
    """The CLI answers at once: the stage flows (Prefect) and the embedding model (torch) are
    imported only by the commands that run them."""
    code = f"from corpusforge.flows.cli import main; rc = main({args!r}); {LOADED}; print('rc', rc)"
    env = {k: v for k, v in os.environ.items() if k != "CORPUSFORGE_CONFIG"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                         timeout=120)  # fmt: skip
    loaded, rc = out.stdout.strip().splitlines()[-2:]
    assert loaded == "[]", f"{args}: {loaded}"
    # search has no export to ask here: a one-line error, and still no model loaded
    assert rc == ("rc 1" if args[0] == "search" else "rc 0"), out.stderr


def test_query_reads_an_existing_catalog_without_loading_pyarrow(tmp_path):
    """With a catalog in place, `query` answers from corpus.duckdb as a DuckDB shell would; a view
    it lacks sends it the full way, which words the error."""
    assert run_cli("tables", cwd=tmp_path).returncode == 0  # builds data/corpus.duckdb
    loaded = "import sys; print('pyarrow' in sys.modules, 'corpusforge.warehouse' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "CORPUSFORGE_CONFIG"}

    def query(sql: str) -> subprocess.CompletedProcess:
        code = f"from corpusforge.flows.cli import main; rc = main(['query', {sql!r}]); {loaded}; print('rc', rc)"
        return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                              timeout=120)  # fmt: skip

    fast = query("select 42 as answer, count(*) as documents from documents")
    assert "42" in fast.stdout and fast.stdout.strip().splitlines()[-2:] == ["False False", "rc 0"], fast.stderr
    missing = query("select * from nosuchtable")
    assert missing.stdout.strip().splitlines()[-1] == "rc 1"
    assert [line for line in missing.stderr.splitlines() if line.startswith("error:")] == [
        "error: Catalog Error: Table with name nosuchtable does not exist!"
    ]
