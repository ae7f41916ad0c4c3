"""An up-to-date `corpusforge export training` answers without Prefect: the CLI asks the flow's own
question (a version built from this snapshot with this config, and latest/ already that version)
and prints the flow's own summary. Anything else goes to the flow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from corpusforge.flows.export_plan import idle_training_summary
from corpusforge.schemas.config import load_settings
from tests.export_training.conftest import doc_row, pseudo_text
from tests.idle_cli import run_as_a_user

pytestmark = pytest.mark.usefixtures("prefect_api")
EXPORTS = [
    {"name": "pretrain", "format": "text", "shards": 2},
    {"name": "chat", "format": "messages", "jsonl": True, "splits": {"train": 1.0}},
]


def _comparable(summary) -> dict:
    return {"stage": summary.stage, "counts": dict(summary.counts), "drops": dict(summary.drops),
            "outputs": list(summary.outputs), "notes": list(summary.notes), "error": summary.error,
            "details": [{k: v for k, v in d.items() if k != "seconds"} for d in summary.details]}  # fmt: skip


def _config(tmp_path: Path, wh, exports=EXPORTS) -> Path:
    path = tmp_path / "corpusforge.yaml"
    path.write_text(yaml.safe_dump({"warehouse": wh.root, "exports": {"training": exports}}))
    return path


def test_the_idle_summary_is_the_flows_own(corpus, tmp_path):
    from corpusforge.flows.export_training import export_training

    settings = load_settings(_config(tmp_path, corpus.wh))
    assert idle_training_summary(settings) is None  # nothing exported yet
    export_training(settings)
    flow_summary = export_training(settings)  # every export up to date
    assert all("up to date" in note for note in flow_summary.notes if "version" not in note)
    shortcut = idle_training_summary(settings)
    assert shortcut is not None
    assert _comparable(shortcut) == _comparable(flow_summary)
    assert shortcut.counts["pretrain: examples"] > 0


def test_new_documents_force_other_config_or_a_moved_latest_go_to_the_flow(corpus, tmp_path):
    from corpusforge.flows.export_training import export_training

    settings = load_settings(_config(tmp_path, corpus.wh))
    export_training(settings)
    assert idle_training_summary(settings) is not None
    assert idle_training_summary(settings, force=True) is None
    other = load_settings(_config(tmp_path, corpus.wh, [dict(EXPORTS[0], min_tokens=5), EXPORTS[1]]))
    assert idle_training_summary(other) is None  # another config: another version
    latest = Path(corpus.wh.root).parent / "exports" / "training" / "chat" / "latest"
    shutil.rmtree(latest)
    assert idle_training_summary(settings) is None  # the flow points latest/ at the version again
    export_training(settings)
    assert idle_training_summary(settings) is not None
    corpus.write("documents", [doc_row("d99", pseudo_text(99), minutes=30)])
    assert idle_training_summary(settings) is None  # a new input snapshot


def test_an_up_to_date_export_training_command_loads_no_prefect_or_torch(corpus, tmp_path):
    from corpusforge.flows.export_training import export_training

    config = _config(tmp_path, corpus.wh)
    export_training(load_settings(config))
    args = ["-c", str(config), "export", "training"]
    out = run_as_a_user(args, tmp_path, tmp_path / "cache", ("prefect", "torch", "pandas"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("up to date: this version already exists") == 2
    assert out.stdout.strip().splitlines()[-1] == "[] 0"
    assert not (tmp_path / "cache" / "corpusforge" / "prefect-server.json").exists()
