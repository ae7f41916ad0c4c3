"""The training export on the Dask task runner (a LocalCluster of worker processes): the workers
read the bodies, tokenise and decontaminate, and the dataset equals the default runner's, byte
for byte (the same version, which hashes every row). A worker whose inputs differ from the
driver's, and a selected row that vanished under the export, fail with a one-line reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from corpusforge.flows.export_training import export_training
from corpusforge.flows.stage import configured_flow
from corpusforge.schemas.config import Settings, TrainingExport
from corpusforge.warehouse import Warehouse
from tests.export_training.conftest import annotation_row, doc_row

pytestmark = pytest.mark.usefixtures("prefect_api")
EVAL_SENTENCE = "The quick brown fox jumps over the lazy dog near the quiet river bank today."


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_examples_built_on_dask_workers_equal_the_default_runners(corpus, tmp_path):
    (tmp_path / "eval.jsonl").write_text(json.dumps({"question": EVAL_SENTENCE}) + "\n")
    corpus.write("documents", [doc_row("d20", corpus.texts["d20"] + " " + EVAL_SENTENCE, minutes=5)])
    corpus.write(
        "annotations",
        [annotation_row(1, "d10", quality="keep", question="What is d10 about?", answer="Rivers {not a template}.")],
    )
    shutil.copytree(corpus.wh.root, tmp_path / "dask" / "data")  # its exports go to dask/exports
    template = {"name": "write", "user": "Write an article titled {title}.", "assistant": "{text}"}
    export = TrainingExport(
        name="chat", format="messages", templates={"site": [template]}, eval_files=[str(tmp_path / "eval.jsonl")]
    )
    default = export_training(Settings(warehouse=corpus.wh.root, exports={"training": [export]}))

    settings = Settings(warehouse=str(tmp_path / "dask" / "data"), exports={"training": [export]}, task_runner="dask")
    on_dask = configured_flow(export_training, "export_training", settings)(settings)

    assert default.counts == on_dask.counts and default.counts["examples"] > 30
    assert default.drops == on_dask.drops and default.drops["eval_overlap"] == 1
    assert default.outputs[0] != on_dask.outputs[0]
    assert Path(on_dask.outputs[0]).name == Path(default.outputs[0]).name  # the version hashes every row
    assert _files(Path(on_dask.outputs[0])) == _files(Path(default.outputs[0]))
    [built_on] = [d["built_on"] for part in on_dask.details for d in part["details"] if "built_on" in d]
    assert built_on and "driver" not in built_on


def test_a_worker_with_other_eval_files_fails_with_one_line(tmp_path):
    from corpusforge.flows import dask_training

    eval_file = tmp_path / "eval.txt"
    eval_file.write_text(EVAL_SENTENCE)
    export = TrainingExport(eval_files=[str(eval_file)])
    planned = tuple(sorted({str(eval_file): "0" * 64}.items()))  # what the driver read: other bytes
    with pytest.raises(dask_training.WorkerInputsDiffer, match="eval files on worker driver differ"):
        dask_training._worker_eval_index(export.model_dump_json(), planned)


def test_workers_read_the_selected_versions_from_their_rows_and_a_vanished_row_is_an_error(corpus):
    from corpusforge.warehouse.selection import (
        REFERENCE_COLUMNS,
        SelectionChanged,
        select_export_documents,
        with_bodies,
        with_places,
    )

    corpus.write("documents", [doc_row(d, corpus.texts[d] + " Revised.", minutes=3) for d in ("d20", "d21")])
    wh = Warehouse(corpus.wh.root)
    selected = select_export_documents(wh, "training", REFERENCE_COLUMNS)
    refs = with_places(wh, selected).to_pylist()
    full = select_export_documents(wh, "training").to_pylist()
    assert len({r["body_file"] for r in refs}) == 2  # the revised versions are in the second file
    assert [dict(sorted(r.items())) for r in with_bodies(wh, refs)] == [dict(sorted(r.items())) for r in full]
    # A clean after the selection: the export builds the versions it selected, as the default
    # runner does (it reads the bodies with the selection).
    corpus.write("documents", [doc_row("d12", "A new version of d12.", minutes=9)])
    assert [dict(sorted(r.items())) for r in with_bodies(wh, refs)] == [dict(sorted(r.items())) for r in full]
    # Rows that are gone (their file removed, as a compaction would) are an error, not a silent gap.
    wh.fs.delete_file(next(r for r in refs if r["doc_id"] == "d20")["body_file"])
    with pytest.raises(SelectionChanged, match="is gone since the export selected its documents: run it again"):
        with_bodies(wh, refs)
    with pytest.raises(SelectionChanged, match="^2 selected documents are gone from the documents files"):
        with_places(wh, selected)
