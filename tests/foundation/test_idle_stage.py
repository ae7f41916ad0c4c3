"""An idle `corpusforge clean` answers without Prefect: the CLI asks the warehouse whether there is
anything to clean (the flow's own query) and, when there is not, prints the flow's own summary."""

from __future__ import annotations

import sys
from pathlib import Path

from corpusforge.flows.clean_plan import idle_clean_summary
from corpusforge.schemas.config import Settings
from corpusforge.warehouse import Warehouse
from tests.clean.pages import page_row, write_pages
from tests.idle_cli import run_as_a_user

CLI = [str(Path(sys.executable).parent / "corpusforge")]
HTML = b"<html><head><title>t</title></head><body><p>" + b"Some words of a page. " * 40 + b"</p></body></html>"


def _comparable(summary) -> dict:
    return {"stage": summary.stage, "counts": dict(summary.counts), "drops": dict(summary.drops),
            "outputs": list(summary.outputs), "notes": list(summary.notes), "error": summary.error}  # fmt: skip


def test_the_idle_summary_is_the_flows_own(tmp_path, prefect_api):
    from corpusforge.flows.clean import clean

    settings = Settings.model_validate({"warehouse": str(tmp_path / "data")})
    flow_summary = clean(settings)
    assert flow_summary.notes[-1] == "nothing new to clean"
    shortcut = idle_clean_summary(settings)
    assert shortcut is not None
    assert _comparable(shortcut) == _comparable(flow_summary)


def test_a_clean_with_work_or_a_stray_temp_file_goes_to_the_flow(tmp_path, wh):
    settings = Settings.model_validate({"warehouse": wh.root})
    assert idle_clean_summary(settings) is not None
    stray = tmp_path / "data" / "documents" / "_tmp" / "killed.parquet.tmp"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"half a file")
    assert idle_clean_summary(settings) is None  # the flow sweeps it under its lock
    stray.unlink()
    write_pages(wh, [page_row("http://example.org/a", HTML)])
    assert idle_clean_summary(settings) is None


def test_an_idle_clean_command_loads_no_prefect_starts_no_server_and_says_so(tmp_path):
    (tmp_path / "corpusforge.yaml").write_text("warehouse: ./data\n")
    Warehouse(str(tmp_path / "data")).init()
    out = run_as_a_user(["clean"], tmp_path, tmp_path / "cache", ("prefect", "pandas", "torch"))
    assert out.returncode == 0, out.stderr
    assert "nothing new to clean" in out.stdout
    assert "pages to clean" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[] 0"
    assert not (tmp_path / "cache" / "corpusforge" / "prefect-server.json").exists()  # no server started for it
