"""The CLI as a user runs it: a real subprocess, real exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpusforge.schemas.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]
CLI = [str(Path(sys.executable).parent / "corpusforge")]


def run_cli(*args: str, cwd: Path, config: bool = True) -> subprocess.CompletedProcess:
    """Run the CLI in `cwd`, with a minimal corpusforge.yaml there unless `config` is False."""
    if config and not (cwd / "corpusforge.yaml").exists():
        (cwd / "corpusforge.yaml").write_text("warehouse: ./data\n")
    env = {k: v for k, v in os.environ.items() if k != "CORPUSFORGE_CONFIG"}
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def test_version_and_help_work_anywhere(tmp_path):
    out = run_cli("--version", cwd=tmp_path, config=False)
    assert out.returncode == 0 and out.stdout.startswith("corpusforge ")
    helped = run_cli("--help", cwd=tmp_path, config=False)
    assert helped.returncode == 0
    for command in ("tables", "query", "init"):
        assert command in helped.stdout
    assert "read-only SQL" in run_cli("query", "--help", cwd=tmp_path, config=False).stdout
    assert not (tmp_path / "corpusforge.yaml").exists()


@pytest.mark.parametrize("args", [["tables"], ["query", "select 1"], ["crawl"], ["run"], ["annotate", "pull"]])
def test_a_command_without_a_config_says_to_run_init(tmp_path, args):
    """No config given and none here: one line, and no empty warehouse left behind."""
    out = run_cli(*args, cwd=tmp_path, config=False)
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines == [f"error: no corpusforge.yaml in {tmp_path}: run `corpusforge init` to make one, or pass -c FILE"]
    assert list(tmp_path.iterdir()) == []


def test_init_writes_a_commented_config_with_every_default(tmp_path):
    from corpusforge.schemas.config import Settings

    out = run_cli("init", "proj", cwd=tmp_path, config=False)
    assert out.returncode == 0, out.stderr
    project = tmp_path / "proj"
    assert {p.name for p in project.iterdir()} == {"corpusforge.yaml", ".env.example", ".gitignore"}
    assert "corpusforge run" in out.stdout and "cd proj" in out.stdout
    text = (project / "corpusforge.yaml").read_text()
    assert "# Seconds between requests to one host." in text  # settings carry their descriptions
    settings = load_settings(project / "corpusforge.yaml")
    defaults = Settings()
    for section in ("crawl", "clean", "dedup", "annotate", "exports", "schedules"):
        assert getattr(settings, section) == getattr(defaults, section), section
    assert [(s.name, s.kind) for s in settings.sources] == [("python-docs", "site")]
    assert "LABEL_STUDIO_API_KEY" in (project / ".env.example").read_text()
    assert "data/" in (project / ".gitignore").read_text().splitlines()
    # the new project works at once; a second init keeps the config
    assert run_cli("tables", cwd=project, config=False).returncode == 0
    again = run_cli("init", "proj", cwd=tmp_path, config=False)
    assert again.returncode == 1 and "exists already" in again.stderr
    assert (project / "corpusforge.yaml").read_text() == text


def test_tables_on_a_fresh_warehouse_lists_eight_empty_tables(tmp_path):
    out = run_cli("tables", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for name in (
        "pages",
        "documents",
        "clusters",
        "annotation_tasks",
        "annotations",
        "training_examples",
        "chunks",
        "tombstones",
    ):
        line = next(line for line in out.stdout.splitlines() if f" {name} " in line)
        assert " 0 " in line
    assert (tmp_path / "data" / "corpus.duckdb").exists()


def test_query_prints_result_and_formats(tmp_path):
    out = run_cli("query", "select 42", cwd=tmp_path)
    assert out.returncode == 0 and "42" in out.stdout
    csv = run_cli("query", "select 42 as answer", "--format", "csv", cwd=tmp_path)
    assert csv.stdout.splitlines() == ['"answer"', "42"]
    js = run_cli("query", "select 42 as answer union all select 7", "--format", "json", cwd=tmp_path)
    assert json.loads(js.stdout) == [{"answer": 42}, {"answer": 7}]
    lines = run_cli("query", "select 42 as answer union all select 7", "--format", "jsonl", cwd=tmp_path)
    assert [json.loads(line) for line in lines.stdout.splitlines()] == [{"answer": 42}, {"answer": 7}]
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


def test_query_of_a_misspelt_table_keeps_duckdbs_hint(tmp_path):
    assert run_cli("tables", cwd=tmp_path).returncode == 0  # the catalog exists: the fast path first
    out = run_cli("query", "select count(*) from documets", cwd=tmp_path)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 1 and len(lines) == 1, out.stderr
    assert "documets" in lines[0] and 'Did you mean "documents"?' in lines[0]


def test_query_is_read_only(tmp_path):
    out = run_cli("query", "create table t as select 1", cwd=tmp_path)
    assert out.returncode != 0 and "read-only" in out.stderr.lower()


def test_bad_config_gives_one_line_naming_the_field(tmp_path):
    cfg = tmp_path / "corpusforge.yaml"
    cfg.write_text(
        "warehouse: ./data\nsources:\n  - name: docs\n    kind: site\n    url: http://127.0.0.1:1/\n    max_pages: -5\n"
    )
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
    (tmp_path / "corpusforge.yaml").write_text("warehouse: ./data\n")
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
    errors = [line for line in missing.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(
        "error: Catalog Error: Table with name nosuchtable does not exist!"
    )


def test_export_rag_with_an_unknown_name_names_the_configured_exports(tmp_path):
    (tmp_path / "corpusforge.yaml").write_text(
        "warehouse: ./data\nexports:\n  rag:\n    - name: docs\n    - name: web\n"
    )
    out = run_cli("export", "rag", "--name", "dcos", cwd=tmp_path)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 1
    assert lines == ["error: no RAG export named 'dcos' in exports.rag (have: docs, web)"]
    assert not (tmp_path / "exports").exists()


def test_an_error_inside_a_flow_is_one_line_without_prefects_traceback(tmp_path, prefect_api):
    """The flow's failure is logged by Prefect (a line, no traceback) and reported once by the CLI;
    --debug keeps the traceback."""
    (tmp_path / "corpusforge.yaml").write_text("warehouse: ./data\n")  # no sources: the crawl flow raises
    out = run_cli("crawl", cwd=tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and 'File "' not in out.stderr, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: no sources configured: add some under 'sources:' in corpusforge.yaml"]
    debug = run_cli("--debug", "crawl", cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr
