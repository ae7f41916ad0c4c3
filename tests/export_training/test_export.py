"""The fine-tuning export end to end over a real warehouse: Parquet shards that `datasets` loads,
OpenAI JSONL, splits by cluster, decontamination, reproducibility, tombstones and drop labels."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from corpusforge.flows.export_training import export_training
from corpusforge.flows.stage import StageSummary
from corpusforge.processing.training_format import validate_openai_chat_record
from corpusforge.schemas.config import Settings, TrainingExport
from corpusforge.warehouse.training_examples import recorded_example_count
from corpusforge.warehouse.training_export import latest_version
from tests.export_training.conftest import annotation_row, pseudo_text, tombstone_row

pytestmark = pytest.mark.usefixtures("prefect_api")  # every export runs as a Prefect flow


def run_training_export(wh, export: TrainingExport, force: bool = False) -> StageSummary:
    return export_training(Settings(warehouse=wh.root, exports={"training": [export]}), force=force)


def export(corpus, **settings) -> tuple[Path, dict]:
    summary = run_training_export(corpus.wh, TrainingExport(**settings))
    path = Path(summary.outputs[0])
    return path, json.loads((path / "manifest.json").read_text())


def exported_rows(path: Path) -> list[dict]:
    rows = []
    for shard in sorted((path / "data").glob("*.parquet")):
        split = shard.name.split("-")[0]
        rows += [{**r, "split": split} for r in pq.read_table(shard).to_pylist()]
    return rows


def card_header(path: Path) -> dict:
    text = (path / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_export_loads_with_datasets_into_the_declared_splits(corpus, tmp_path):
    datasets = pytest.importorskip("datasets")
    splits = {"train": 0.6, "validation": 0.2, "test": 0.2}
    path, manifest = export(corpus, name="pretrain", shards=2, splits=splits)
    assert path.parent.parent.parent.parent == Path(corpus.wh.root).parent / "exports"
    assert latest_version(corpus.wh, "pretrain") == path.name == manifest["version"]
    declared = {s["split"] for s in card_header(path)["configs"][0]["data_files"]}
    assert declared == set(manifest["splits"]) == {"train", "validation", "test"}
    assert sorted(p.name for p in (path / "data").glob("train-*")) == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]
    loaded = datasets.load_dataset("parquet", data_dir=str(path / "data"), cache_dir=str(tmp_path / "hf"))
    assert set(loaded) == declared
    assert {s: loaded[s].num_rows for s in loaded} == {s: v["num_examples"] for s, v in manifest["splits"].items()}
    assert sum(loaded[s].num_rows for s in loaded) == manifest["counts"]["examples"] == 36
    assert "text" in loaded["train"].column_names and "doc_id" in loaded["train"].column_names
    # The card's own configs work too: load the folder itself.
    by_card = datasets.load_dataset(str(path), cache_dir=str(tmp_path / "hf2"))
    assert {s: by_card[s].num_rows for s in by_card} == {s: loaded[s].num_rows for s in loaded}
    header = card_header(path)
    assert header["license"] == "other" and header["language"] == ["en"]
    assert {f["name"] for f in header["dataset_info"]["features"]} >= {"text", "doc_id", "token_count"}
    info_splits = {s["name"]: s["num_examples"] for s in header["dataset_info"]["splits"]}
    assert info_splits == {s: loaded[s].num_rows for s in loaded}
    assert corpus.wh.read("training_examples").num_rows == 36


def test_no_cluster_pair_crosses_splits(corpus):
    path, _ = export(corpus, splits={"train": 0.34, "validation": 0.33, "test": 0.33}, split_by="cluster")
    split_of = {r["doc_id"]: r["split"] for r in exported_rows(path)}
    assert len(set(split_of.values())) == 3
    clusters = corpus.wh.read("clusters").to_pylist()
    members: dict[str, set[str]] = {}
    for row in clusters:
        members.setdefault(row["cluster_id"], set()).add(row["doc_id"])
    for cluster_id, docs in members.items():
        assert len({split_of[d] for d in docs if d in split_of}) <= 1, cluster_id
    assert "d00" in split_of and not {"d01", "d02", "d04"} & set(split_of)


def test_planted_eval_sentence_gets_the_document_decontaminated(corpus, tmp_path):
    sentence = "The quick brown fox jumps over the lazy dog near the quiet river bank today."
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text(json.dumps({"question": sentence, "answer": "fox"}) + "\n")
    planted = corpus.texts["d20"] + " " + sentence.upper().replace(" ", "  ")
    from tests.export_training.conftest import doc_row

    corpus.write("documents", [doc_row("d20", planted, minutes=5)])
    path, manifest = export(corpus, eval_files=[str(eval_file)])
    assert "d20" not in {r["doc_id"] for r in exported_rows(path)}
    assert manifest["example_drops"] == {"eval_overlap": 1}
    assert manifest["eval_files"][str(eval_file)] == hashlib.sha256(eval_file.read_bytes()).hexdigest()
    assert "action `drop`: 1 example(s) matched" in (path / "README.md").read_text()
    flagged_path, flagged = export(corpus, eval_files=[str(eval_file)], decontaminate_action="flag")
    flags = {r["doc_id"]: r["contaminated"] for r in exported_rows(flagged_path)}
    assert flags["d20"] is True and sum(flags.values()) == 1
    assert flagged["counts"]["examples_flagged_eval_overlap"] == 1


def test_same_config_and_snapshot_give_identical_checksums(corpus):
    path, first = export(corpus, shards=3)
    shard_bytes = {p.name: p.read_bytes() for p in (path / "data").glob("*.parquet")}
    again = run_training_export(corpus.wh, TrainingExport(shards=3))
    assert any("up to date" in note for note in again.notes)
    rebuilt = run_training_export(corpus.wh, TrainingExport(shards=3), force=True)
    assert Path(rebuilt.outputs[0]) == path
    second = json.loads((path / "manifest.json").read_text())
    assert second["files"] == first["files"]
    assert {p.name: p.read_bytes() for p in (path / "data").glob("*.parquet")} == shard_bytes
    # The rows are recorded once per version, however often it is built.
    assert recorded_example_count(corpus.wh, "default", path.name) == first["counts"]["examples"]
    assert corpus.wh.read("training_examples").num_rows == first["counts"]["examples"]


def test_tombstoned_document_is_absent_from_the_next_version(corpus):
    before, _ = export(corpus)
    assert "d30" in {r["doc_id"] for r in exported_rows(before)}
    corpus.write("tombstones", [tombstone_row("d30")])
    after, manifest = export(corpus)
    assert after.name != before.name and before.exists()
    assert "d30" not in {r["doc_id"] for r in exported_rows(after)}
    assert manifest["counts"]["documents"] == 35


def test_drop_label_removes_a_document_and_use_routes_it(corpus):
    corpus.write(
        "annotations",
        [annotation_row(1, "d25", quality="drop"), annotation_row(2, "d26", quality="keep", use="retrieval")],
    )
    path, manifest = export(corpus)
    got = {r["doc_id"] for r in exported_rows(path)}
    assert "d25" not in got and "d26" not in got
    assert manifest["selection_drops"] == {"filtered": 1, "duplicate": 3, "label_drop": 1, "label_use_excludes": 1}


def test_qa_pairs_become_messages_and_jsonl_follows_openai_rules(corpus):
    corpus.write(
        "annotations",
        [
            annotation_row(1, "d10", quality="keep", use="both", question="What is d10 about?", answer="Rivers."),
            annotation_row(2, "d11", quality="keep", use="training", question="Who wrote it?", answer="Nobody."),
            annotation_row(3, "d01", quality="keep", question="A duplicate's question?", answer="Left out."),
        ],
    )
    path, manifest = export(corpus, name="chat", format="messages", jsonl=True, splits={"train": 1.0})
    rows = exported_rows(path)
    assert sorted(r["doc_id"] for r in rows) == ["d10", "d11"]  # d01 is a duplicate: not exported
    d10 = next(r for r in rows if r["doc_id"] == "d10")
    assert d10["origin"] == "annotation"
    assert d10["messages"][0]["role"] == "user" and corpus.texts["d10"] in d10["messages"][0]["content"]
    assert d10["messages"][0]["content"].endswith("Question: What is d10 about?")
    assert d10["messages"][1] == {"role": "assistant", "content": "Rivers."}
    lines = (path / "jsonl" / "train.jsonl").read_text().splitlines()
    assert len(lines) == 2 and manifest["jsonl_invalid"] == 0
    for line in lines:
        assert validate_openai_chat_record(json.loads(line)) == []
    assert manifest["counts"]["documents_without_examples"] == 34


def test_prompt_completion_export_and_labelled_test_split(corpus):
    corpus.write("annotations", [annotation_row(1, "d12", question="Q?", answer="A.")])
    path, manifest = export(corpus, format="prompt_completion", labelled_as_test=True)
    (row,) = exported_rows(path)
    assert row["split"] == "test" and row["completion"] == "A." and row["prompt"].endswith("Question: Q?")
    assert set(manifest["splits"]) == {"test"}


def test_max_tokens_cut_is_counted_in_the_manifest(corpus):
    path, manifest = export(corpus, max_tokens=40)
    assert manifest["counts"]["examples_cut_to_max_tokens"] == 36
    assert max(r["token_count"] for r in exported_rows(path)) <= 40
    assert manifest["token_stats"]["train"]["max"] <= 40
    assert pseudo_text(0)  # the corpus texts are longer than 40 tokens


def test_versions_never_mix_and_load_dataset_follows_latest(corpus, tmp_path):
    """Two versions side by side: loading the export's folder (with the parquet builder or by the
    folder itself) gives the latest version's rows only, as does its `latest/` folder."""
    datasets = pytest.importorskip("datasets")
    first, _ = export(corpus, name="pretrain")
    corpus.write("tombstones", [tombstone_row("d30")])
    second, manifest = export(corpus, name="pretrain")
    assert first.name != second.name and first.is_dir() and second.parent == first.parent
    root = second.parent.parent
    assert latest_version(corpus.wh, "pretrain") == second.name
    expected = {s: v["num_examples"] for s, v in manifest["splits"].items()}
    cache = str(tmp_path / "hf")
    for loaded in (
        datasets.load_dataset("parquet", data_dir=str(root), cache_dir=cache),
        datasets.load_dataset(str(root), cache_dir=cache),
        datasets.load_dataset(str(root / "latest"), cache_dir=cache),
    ):
        assert {s: loaded[s].num_rows for s in loaded} == expected
        assert "d30" not in set(loaded["train"]["doc_id"])
    older = datasets.load_dataset(str(first), cache_dir=cache)  # an older version stays loadable by its folder
    assert "d30" in set(older["train"]["doc_id"])


def test_refetched_unchanged_pages_keep_the_version_and_rewrite_nothing(corpus):
    path, manifest = export(corpus, shards=2)
    stamps = {p: p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()}
    from tests.export_training.conftest import doc_row

    # The same text fetched and cleaned again: a new snapshot of the warehouse, the same rows.
    corpus.write("documents", [doc_row(d, corpus.texts[d], minutes=30) for d in ("d10", "d11")])
    again = run_training_export(corpus.wh, TrainingExport(shards=2))
    assert Path(again.outputs[0]) == path
    assert any("selected rows and the config are unchanged" in n for n in again.notes)
    assert {p: p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()} == stamps
    assert corpus.wh.read("training_examples").num_rows == manifest["counts"]["examples"]
    # Changed content is a new version, and becomes latest.
    corpus.write("documents", [doc_row("d10", corpus.texts["d10"] + " One more sentence.", minutes=40)])
    changed = run_training_export(corpus.wh, TrainingExport(shards=2))
    assert Path(changed.outputs[0]) != path
    assert latest_version(corpus.wh, "default") == Path(changed.outputs[0]).name


def test_versions_of_the_older_layout_move_under_versions(corpus):
    path, _ = export(corpus, name="pretrain")
    legacy = path.parent.parent / "0123456789ab"
    shutil.copytree(path, legacy)
    (path.parent.parent / "LATEST").write_text("0123456789ab\n")
    corpus.write("tombstones", [tombstone_row("d30")])
    export(corpus, name="pretrain")
    assert not legacy.exists() and (path.parent / "0123456789ab" / "manifest.json").is_file()
    assert not (path.parent.parent / "LATEST").exists()


def test_card_is_a_valid_hugging_face_dataset_card_with_provenance(corpus, tmp_path):
    from huggingface_hub import DatasetCard

    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text(json.dumps({"question": "nothing from the corpus", "answer": "x"}) + "\n")
    corpus.write("tombstones", [tombstone_row("d30")])
    path, manifest = export(corpus, name="pretrain", eval_files=[str(eval_file)], splits={"train": 0.8, "test": 0.2})
    card = DatasetCard.load(path / "README.md")  # parses and validates the YAML header
    data = card.data.to_dict()
    assert data["license"] == "other"
    assert data["license_name"] == "per-source-terms" and data["license_link"] == "LICENSE.md"
    assert (path / "LICENSE.md").is_file() and "`site`: 35 document(s)" in (path / "LICENSE.md").read_text()
    assert data["language"] == ["en"]
    assert data["task_categories"] == ["text-generation"]
    assert data["size_categories"] == ["n<1K"]
    assert data["pretty_name"] == "corpusforge pretrain"
    assert data["tags"] == ["corpusforge", "text"]
    (config,) = data["configs"]
    assert config["config_name"] == "default" and config["default"] is True
    assert config["data_files"] == [
        {"split": "train", "path": "data/train-*"},
        {"split": "test", "path": "data/test-*"},
    ]
    info = data["dataset_info"]
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == {
        s: v["num_examples"] for s, v in manifest["splits"].items()
    }
    assert info["download_size"] == sum(v["download_bytes"] for v in manifest["splits"].values())
    assert {f["name"] for f in info["features"]} >= {"text", "doc_id", "cluster_id", "token_count"}
    provenance = card.text.split("## Provenance", 1)[1].split("## Known limitations")[0]
    assert f"Snapshot `{manifest['snapshot']['snapshot_id']}`" in provenance
    assert "- `site`: 35" in provenance  # sources
    assert "- `duplicate`: 3" in provenance  # a filter's drop count
    assert "- `threshold`:" in provenance  # dedup parameters
    assert "13-word n-grams against 1 eval file(s)" in provenance and "0 example(s) matched" in provenance


def test_card_of_a_chat_export_with_its_own_license(corpus):
    from huggingface_hub import DatasetCard

    corpus.write("annotations", [annotation_row(1, "d10", question="What is it?", answer="A test.")])
    path, _ = export(corpus, name="chat", format="messages", license="cc-by-4.0", pretty_name="Docs chat")
    data = DatasetCard.load(path / "README.md").data.to_dict()
    assert data["license"] == "cc-by-4.0" and "license_name" not in data and not (path / "LICENSE.md").exists()
    assert data["task_categories"] == ["text-generation", "question-answering"]
    assert data["pretty_name"] == "Docs chat" and data["tags"] == ["corpusforge", "messages"]
