"""`corpusforge filters tune` from labels made through a real Label Studio's API: people drop
filler pages the current threshold lets through; the proposal catches them and keeps the rest."""

from __future__ import annotations

import re

import yaml
from label_studio_sdk import LabelStudio

from corpusforge.flows.annotate import annotate_pull, annotate_push
from corpusforge.flows.cli import main
from corpusforge.schemas.config import AnnotateSettings, Settings
from tests.annotate.factories import document, write_documents


def _choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def test_tune_proposes_a_threshold_from_human_labels(wh, label_studio, monkeypatch, tmp_path, capsys, prefect_api):
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.api_key)
    # Twelve documents; the filler rate (phrases per 100 words) is the only signal that differs.
    rates = [0.0, 0.2, 0.3, 0.5, 0.6, 0.8, 1.0, 1.6, 1.7, 1.8, 1.9, 2.5]
    docs = []
    for n, rate in enumerate(rates):
        doc = document(n, kept=rate <= 2.0)
        doc["signals"] = {"filler_phrase_rate": rate, "word_count": 300.0}
        docs.append(doc)
    write_documents(wh, docs)
    annotate = AnnotateSettings(
        project_title="corpusforge tune test", sample_size=len(docs), borderline_share=0.0, dropped_share=0.0
    )
    settings = Settings(warehouse=wh.root, annotate=annotate)
    assert annotate_push(settings).counts["tasks created"] >= len(docs) - 1

    sdk = LabelStudio(base_url=label_studio.url, api_key=label_studio.api_key)
    [project] = [p for p in sdk.projects.list() if p.title == annotate.project_title]
    rate_of = {d["doc_id"]: r for d, r in zip(docs, rates, strict=True)}
    for task in sdk.tasks.list(project=project.id, fields="all"):
        verdict = "drop" if rate_of[task.data["doc_id"]] >= 1.5 else "keep"  # people find 1.5+ filler
        sdk.annotations.create(task.id, result=[_choice("quality", verdict)])
    annotate_pull(settings)

    config = tmp_path / "corpusforge.yaml"
    config.write_text(yaml.safe_dump({"warehouse": str(wh.root)}))
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    assert main(["-c", str(config), "filters", "tune"]) == 0
    out = capsys.readouterr().out
    assert "junk_max_filler_phrase_rate" in out
    proposed = float(re.search(r"junk_max_filler_phrase_rate: ([\d.]+)", out).group(1))
    assert 1.0 < proposed < 1.6  # between the highest kept rate and the lowest dropped one
    assert "drops 1 -> 5" in out, out  # what the change does to the current corpus
