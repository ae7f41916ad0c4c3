"""`corpusforge export training` through the real CLI and a real Prefect server."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.export_training.conftest import annotation_row


def write_config(tmp_path: Path, wh) -> Path:
    config = {
        "warehouse": wh.root,
        "exports": {
            "training": [
                {"name": "pretrain", "format": "text", "shards": 2},
                {"name": "chat", "format": "messages", "jsonl": True, "splits": {"train": 1.0}},
            ]
        },
    }
    path = tmp_path / "corpusforge.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_export_training_command_runs_the_flow(corpus, tmp_path, prefect_api, capsys):
    from corpusforge.flows.cli import main

    corpus.write("annotations", [annotation_row(1, "d10", question="What is it?", answer="A test.")])
    config = write_config(tmp_path, corpus.wh)
    assert main(["-c", str(config), "export", "training", "--name", "chat"]) == 0
    out = capsys.readouterr().out
    assert "export_training chat" in out and "examples" in out
    chat_root = Path(corpus.wh.root).parent / "exports" / "training" / "chat"
    (version,) = [p for p in (chat_root / "__versions__").iterdir() if p.is_dir()]
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["counts"]["examples"] == 1 and (version / "jsonl" / "train.jsonl").is_file()
    # The flow runs every configured export; the unchanged one is up to date.
    from corpusforge.flows.export_training import export_training
    from corpusforge.schemas.config import load_settings

    summary = export_training(load_settings(config))
    assert summary.stage == "export_training" and len(summary.outputs) == 2
    assert summary.counts["pretrain: examples"] == 36 and summary.counts["chat: examples"] == 1
    assert any(note.startswith("chat: up to date") for note in summary.notes)
    assert (Path(corpus.wh.root).parent / "exports" / "training" / "pretrain" / "latest" / "manifest.json").is_file()


def test_unknown_export_name_is_a_one_line_error(corpus, tmp_path, capsys):
    from corpusforge.flows.cli import main

    config = write_config(tmp_path, corpus.wh)
    assert main(["-c", str(config), "export", "training", "--name", "nope"]) == 1
    err = capsys.readouterr().err
    assert "no training export named 'nope' in exports.training (have: pretrain, chat)" in err


def test_export_names_pick_exports():
    from corpusforge.flows.cli.export import training_exports_named
    from corpusforge.schemas.config import TrainingExport

    exports = [TrainingExport(name="a"), TrainingExport(name="b")]
    assert training_exports_named(exports, None) == exports
    assert training_exports_named(exports, "b") == [exports[1]]
