"""An unchanged `corpusforge export rag` answers without Prefect or torch: the CLI compares the
export's manifest with what a run would write (flows/export_plan.py) and, when a run would write
the same export, prints the flow's own summary. Anything a run would change goes to the flow."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from corpusforge.flows.export_plan import idle_rag_summary
from corpusforge.schemas.config import RagExport, Settings
from corpusforge.warehouse import rag_store, utc_now
from tests.idle_cli import run_as_a_user

pytestmark = pytest.mark.usefixtures("prefect_api")


def _comparable(summary) -> dict:
    return {"stage": summary.stage, "counts": dict(summary.counts), "drops": dict(summary.drops),
            "outputs": list(summary.outputs), "notes": list(summary.notes), "error": summary.error,
            "details": [{k: v for k, v in d.items() if k != "seconds"} for d in summary.details]}  # fmt: skip


def test_the_idle_summary_is_the_flows_own(exported_copy):
    from corpusforge.flows.export_rag import export_rag

    wh, first = exported_copy
    settings = Settings(warehouse=wh.root)
    shortcut = idle_rag_summary(settings)
    assert shortcut is not None
    flow_summary = export_rag(settings)  # rewrites the same export
    assert flow_summary.counts["chunks embedded"] == 0 and flow_summary.counts["chunks deleted"] == 0
    assert _comparable(shortcut) == _comparable(flow_summary)
    assert shortcut.counts["chunks exported"] == first.counts["chunks exported"] > 0
    assert _comparable(idle_rag_summary(settings)) == _comparable(flow_summary)  # still idle after the rewrite


def test_other_settings_gate_or_sink_go_to_the_flow(exported_copy):
    wh, _ = exported_copy
    assert idle_rag_summary(Settings(warehouse=wh.root)) is not None
    other = {"rag": [RagExport(chunk_tokens=64)]}
    assert idle_rag_summary(Settings(warehouse=wh.root, exports=other)) is None
    # The same export settings, another gate: the web profile keeps other drop reasons out.
    assert idle_rag_summary(Settings(warehouse=wh.root, clean={"profile": "web"})) is None
    lancedb = {"rag": [RagExport(sink="lancedb")]}
    assert idle_rag_summary(Settings(warehouse=wh.root, exports=lancedb)) is None  # a run syncs the store


def test_new_documents_pending_deletions_and_leftovers_go_to_the_flow(exported_copy, rag_documents):
    from corpusforge.flows.export_rag import export_rag

    wh, _ = exported_copy
    settings = Settings(warehouse=wh.root)
    folder = Path(rag_store.export_dir(wh, "default"))
    leftover = folder / ".export-killed.duckdb"
    leftover.write_bytes(b"half a database")
    assert idle_rag_summary(settings) is None  # the flow's views step removes it
    leftover.unlink()
    assert idle_rag_summary(settings) is not None
    views, manifest = folder / "export.duckdb", folder / "manifest.json"
    written = views.stat().st_mtime
    os.utime(manifest, (written + 5, written + 5))  # as if a run wrote the export and stopped before its views
    assert idle_rag_summary(settings) is None
    os.utime(views, (written + 10, written + 10))
    assert idle_rag_summary(settings) is not None
    gone = rag_documents[0]["doc_id"]
    wh.write("tombstones", [{"doc_id": gone, "reason": "http_404", "created_at": utc_now()}], "crawl-x")
    assert idle_rag_summary(settings) is None  # a new input snapshot
    removed = export_rag(settings)
    assert removed.counts["chunks deleted"] > 0
    # Same snapshot as the export now, but its deletions file lists chunks: a run replaces it.
    assert idle_rag_summary(settings) is None
    again = export_rag(settings)
    assert again.counts["chunks deleted"] == 0
    assert idle_rag_summary(settings) is not None
    row = dict(rag_documents[1], text=rag_documents[1]["text"] + " More.", content_hash="changed")
    row["cleaned_at"] = row["cleaned_at"] + timedelta(days=1)
    wh.write("documents", [row], "clean-2")
    assert idle_rag_summary(settings) is None


def test_an_unchanged_export_rag_command_loads_no_prefect_or_torch(exported_copy):
    wh, first = exported_copy
    folder = Path(wh.root).parent
    (folder / "corpusforge.yaml").write_text("warehouse: ./data\n")
    out = run_as_a_user(["export", "rag"], folder, folder / "cache", ("prefect", "torch", "sentence_transformers"))
    assert out.returncode == 0, out.stderr
    assert "chunks exported" in out.stdout and str(first.counts["chunks exported"]) in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[] 0"
    assert not (folder / "cache" / "corpusforge" / "prefect-server.json").exists()
