"""Push, annotate through the API, pull, and failures, against a real Label Studio server."""

from __future__ import annotations

import itertools

import pytest
from label_studio_sdk import LabelStudio

from corpusforge.connectors.label_studio import LabelStudioUnavailable
from corpusforge.flows.annotate import ENABLE_HINT, annotate, annotate_pull, annotate_push, label_studio_configured
from corpusforge.flows.cli import main
from corpusforge.schemas.config import AnnotateSettings, Settings
from corpusforge.warehouse.selection import select_export_documents
from tests.annotate.factories import PIPELINE_VERSION, decision, document, write_documents
from tests.conftest import free_port

_titles = itertools.count(1)


@pytest.fixture()
def settings() -> AnnotateSettings:
    # One project per test: the server lives for the whole session.
    return AnnotateSettings(project_title=f"corpusforge test {next(_titles)}", sample_size=20, batch_size=3)


@pytest.fixture()
def ls_env(label_studio, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.api_key)
    return label_studio


@pytest.fixture()
def sdk(label_studio) -> LabelStudio:
    return LabelStudio(base_url=label_studio.url, api_key=label_studio.api_key)


def corpus(wh) -> list[dict]:
    docs = [document(i, quality=0.2 * (i % 5)) for i in range(6)]
    docs += [document(10, language="de"), document(11, source="feed")]
    docs += [document(20 + i, kept=False, quality=0.1) for i in range(2)]
    docs.append(document(30, decisions=[decision("min_words", True, 52.0, 50.0)]))  # borderline
    return write_documents(wh, docs)


def project_tasks(sdk: LabelStudio, title: str) -> list:
    [project] = [p for p in sdk.projects.list() if p.title == title]
    return list(sdk.tasks.list(project=project.id, fields="all"))


def recorded_tasks(wh) -> list[dict]:
    return wh.read("annotation_tasks").to_pylist()


def choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def test_push_creates_project_and_tasks_with_predictions_then_adds_nothing(wh, ls_env, sdk, settings, prefect_api):
    docs = corpus(wh)
    summary = annotate_push(Settings(warehouse=wh.root, annotate=settings))
    assert summary.counts["tasks created"] == len(docs) == summary.counts["tasks recorded"]
    tasks = project_tasks(sdk, settings.project_title)
    assert sorted(t.data["doc_id"] for t in tasks) == sorted(d["doc_id"] for d in docs)
    by_doc = {d["doc_id"]: d for d in docs}
    for t in tasks:
        [prediction] = [p.model_dump() for p in t.predictions]
        assert prediction["model_version"] == PIPELINE_VERSION
        quality = next(r for r in prediction["result"] if r["from_name"] == "quality")
        assert quality["value"]["choices"] == ["keep" if by_doc[t.data["doc_id"]]["kept"] else "drop"]
        assert t.data["text"] == by_doc[t.data["doc_id"]]["text"]
    rows = recorded_tasks(wh)
    assert {r["doc_id"]: r["task_id"] for r in rows} == {t.data["doc_id"]: t.id for t in tasks}
    reasons = {r["doc_id"]: r["sample_reason"] for r in rows}
    assert reasons[docs[-1]["doc_id"]] == "borderline"
    assert list(reasons.values()).count("dropped") == 2

    again = annotate_push(Settings(warehouse=wh.root, annotate=settings))
    assert again.counts["sampled"] == 0 and again.counts["tasks created"] == 0
    assert len(project_tasks(sdk, settings.project_title)) == len(docs)
    assert len(recorded_tasks(wh)) == len(docs)


def test_pull_brings_annotations_back_including_edited_ones(wh, ls_env, sdk, settings, prefect_api):
    corpus(wh)
    only_kept = {"sample_size": 3, "borderline_share": 0.0, "dropped_share": 0.0}
    annotate_push(Settings(warehouse=wh.root, annotate=settings.model_copy(update=only_kept)))
    t1, t2, t3 = sorted(project_tasks(sdk, settings.project_title), key=lambda t: t.id)
    other = next((u for u in sdk.users.list() if u.email == "second@corpusforge.local"), None)
    other = other or sdk.users.create(email="second@corpusforge.local", username="second")
    first = sdk.annotations.create(t1.id, result=[choice("quality", "keep"), choice("use", "training"),
        {"from_name": "question", "to_name": "text", "type": "textarea", "value": {"text": ["What is 1?"]}},
        {"from_name": "answer", "to_name": "text", "type": "textarea", "value": {"text": ["One."]}}])  # fmt: skip
    sdk.annotations.create(t1.id, result=[choice("quality", "drop")], completed_by=other.id)
    sdk.annotations.create(t2.id, result=[choice("quality", "drop"), choice("personal_data", "yes")])
    sdk.annotations.create(t3.id, result=[], was_cancelled=True)

    summary = annotate_pull(Settings(warehouse=wh.root, annotate=settings))
    assert summary.counts["new annotations"] == 4 and summary.counts["edited annotations"] == 0
    rows = {r["annotation_id"]: r for r in wh.read("annotations").to_pylist()}
    assert rows[first.id]["quality"] == "keep" and rows[first.id]["use"] == "training"
    assert (rows[first.id]["question"], rows[first.id]["answer"]) == ("What is 1?", "One.")
    assert rows[first.id]["doc_id"] == t1.data["doc_id"] and rows[first.id]["annotator"] == ls_env.username
    assert sorted(r["annotator"] for r in rows.values() if r["task_id"] == t1.id) == sorted(
        [ls_env.username, "second@corpusforge.local"]
    )
    assert [r["was_cancelled"] for r in rows.values() if r["task_id"] == t3.id] == [True]

    assert annotate_pull(Settings(warehouse=wh.root, annotate=settings)).counts["new annotations"] == 0
    assert wh.stats("annotations").rows == 4

    sdk.annotations.update(first.id, result=[choice("quality", "drop"), choice("use", "neither")])
    edited = annotate_pull(Settings(warehouse=wh.root, annotate=settings))
    assert edited.counts["edited annotations"] == 1 and edited.counts["new annotations"] == 0
    con = wh.connect()
    try:
        current = con.execute("select quality, use from annotations where annotation_id = ?", [first.id]).fetchall()
        versions = con.execute("select count(*) from annotations_history where annotation_id = ?", [first.id])
        assert current == [("drop", "neither")] and versions.fetchone()[0] == 2
    finally:
        con.close()

    # The labels count (warehouse/selection.py): dropped documents leave both exports, a skip is no label.
    for target in ("training", "rag"):
        selected = set(select_export_documents(wh, target).column("doc_id").to_pylist())
        assert t1.data["doc_id"] not in selected and t2.data["doc_id"] not in selected
        assert t3.data["doc_id"] in selected


def test_server_stopped_mid_push_then_restarted_completes_without_duplicates(
    wh, label_studio, fault_proxy, sdk, settings, monkeypatch, prefect_api
):
    docs = corpus(wh)
    monkeypatch.setenv("LABEL_STUDIO_URL", fault_proxy.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.api_key)
    # The real server stops right after it created the second batch's tasks, before push records them.
    fault_proxy.stop_at_import(2, label_studio.stop)
    try:
        with pytest.raises(LabelStudioUnavailable, match="not reachable"):
            annotate_push(Settings(warehouse=wh.root, annotate=settings))
        partial = len(recorded_tasks(wh))
        assert partial == settings.batch_size  # the first batch only
    finally:
        label_studio.start()
        fault_proxy.down = False
    in_project = len(project_tasks(sdk, settings.project_title))
    assert in_project > partial  # tasks created but not recorded when the server went down

    summary = annotate_push(Settings(warehouse=wh.root, annotate=settings))
    assert summary.counts["recovered unrecorded tasks"] == in_project - partial
    tasks = project_tasks(sdk, settings.project_title)
    doc_ids = [t.data["doc_id"] for t in tasks]
    assert len(doc_ids) == len(set(doc_ids)) == len(docs)
    rows = recorded_tasks(wh)
    assert sorted(r["doc_id"] for r in rows) == sorted(doc_ids)
    assert {r["doc_id"]: r["task_id"] for r in rows} == {t.data["doc_id"]: t.id for t in tasks}


def test_wrong_key_and_server_down_give_one_line_errors(wh, label_studio, tmp_path, monkeypatch, capsys, prefect_api):
    corpus(wh)
    config = tmp_path / "corpusforge.yaml"
    config.write_text(f"warehouse: {wh.root}\nannotate:\n  project_title: errors test\n")
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "wrong-key-123456")
    assert main(["--config", str(config), "annotate", "push"]) == 1
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert error_lines == [f"error: Label Studio at {label_studio.url} refused the API key (HTTP 401) while trying "
                           "to check the connection; check LABEL_STUDIO_API_KEY (a legacy token from "
                           "Account & Settings)"]  # fmt: skip
    assert "wrong-key-123456" not in err

    down = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("LABEL_STUDIO_URL", down)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.api_key)
    assert main(["--config", str(config), "annotate", "pull"]) == 1
    captured = capsys.readouterr()
    error_lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert error_lines == [f"error: Label Studio at {down} is not reachable while trying to check the connection "
                           "(ConnectError); is it running, and is LABEL_STUDIO_URL right?"]  # fmt: skip
    assert len(captured.err.strip().splitlines()) == 1  # the checked connection fails before any Prefect log
    assert label_studio.api_key not in captured.err + captured.out


def test_without_a_server_push_and_pull_say_how_to_enable_and_exit_0(wh, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)  # no Secret blocks to look up either
    config = tmp_path / "corpusforge.yaml"
    config.write_text(f"warehouse: {wh.root}\n")
    assert not label_studio_configured()
    assert main(["--config", str(config), "annotate", "push", "--size", "5"]) == 0
    assert main(["--config", str(config), "annotate", "pull"]) == 0
    out = capsys.readouterr().out
    assert out.replace("\n", " ").count("annotate: skipped") == 2
    assert ENABLE_HINT.split(";")[0] in out.replace("\n", " ")


def test_connection_from_prefect_secret_blocks(monkeypatch, prefect_api):
    from prefect.blocks.system import Secret

    from corpusforge.flows.annotate import label_studio_connection

    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    cfg = AnnotateSettings(url_secret_block="cf-test-ls-url", api_key_secret_block="cf-test-ls-key")
    assert label_studio_connection(cfg) is None
    Secret(value="http://ls.example:8080").save("cf-test-ls-url", overwrite=True)
    Secret(value="block-key-123456").save("cf-test-ls-key", overwrite=True)
    connection = label_studio_connection(cfg)
    assert (connection.url, connection.api_key) == ("http://ls.example:8080", "block-key-123456")
    assert "block-key-123456" not in repr(connection)


def test_annotate_stage_uses_the_secret_blocks_the_settings_name(wh, label_studio, settings, monkeypatch, prefect_api):
    """The pipeline's annotate stage looks Label Studio up in the Secret blocks named in
    `annotate:` (it used to ask for the default block names and skip)."""
    from prefect.blocks.system import Secret

    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    docs = corpus(wh)
    Secret(value=label_studio.url).save("cf-stage-ls-url", overwrite=True)
    Secret(value=label_studio.api_key).save("cf-stage-ls-key", overwrite=True)
    custom = settings.model_copy(
        update={"url_secret_block": "cf-stage-ls-url", "api_key_secret_block": "cf-stage-ls-key"}
    )
    assert not label_studio_configured()  # the default block names hold nothing
    summary = annotate(Settings(warehouse=wh.root, annotate=custom))
    assert ENABLE_HINT not in summary.notes
    assert summary.counts["annotate push: tasks created"] == len(docs)
    assert summary.counts["annotate pull: tasks"] == len(docs)
