"""Issue 15.7 for the annotate stage, against the real Label Studio of the test session: `corpusforge
annotate push` killed with SIGKILL at 6 seeded moments in a row (two documents per import request,
so kills land between an import and its recording), then run to the end, leaves the project
with one task per document (no duplicate task) and the same `annotation_tasks` as a push never
interrupted; after the same labels are given in both projects, `corpusforge annotate pull` killed
at 4 more moments, then run to the end, leaves the same `annotations`."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from label_studio_sdk import LabelStudio

from tests.annotate.conftest import label_studio  # noqa: F401 - the session's Label Studio server
from tests.faults import kill9

SEED = 31
PUSH_MOMENTS, PULL_MOMENTS = 6, 4  # the stage's 10 kills: most where tasks are created
LABELLED = 4  # tasks given the same labels in both projects before the pulls
# Ids Label Studio gives (one project each) and the raw JSON that holds them differ; the rest must not.
SERVER_IDS = ("task_id", "project_id", "project_title", "annotation_id", "raw")
_projects = itertools.count(1)
TASKS, LABELS = "annotation_tasks", "annotations"  # what push and pull lock while they work
lock_of = kill9.lock_holder


def annotate_copy(src: Path, target: Path) -> Path:
    folder = kill9.copy(src, target)
    config = folder / "corpusforge.yaml"
    cfg = yaml.safe_load(config.read_text())
    cfg["annotate"] = {"project_title": f"kill9 {target.name} {next(_projects)}", "sample_size": 500, "batch_size": 2}
    config.write_text(yaml.safe_dump(cfg))
    return folder


def project_tasks(sdk: LabelStudio, folder: Path) -> list:
    title = yaml.safe_load((folder / "corpusforge.yaml").read_text())["annotate"]["project_title"]
    [project] = [p for p in sdk.projects.list() if p.title == title]  # one project: none made twice
    return sorted(sdk.tasks.list(project=project.id, fields="all"), key=lambda t: t.data["doc_id"])


def label_first_tasks(sdk: LabelStudio, folder: Path) -> None:
    def choice(name: str, value: str) -> dict:
        return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": [value]}}

    for n, task in enumerate(project_tasks(sdk, folder)[:LABELLED]):
        sdk.annotations.create(task.id, result=[choice("quality", ("keep", "drop")[n % 2]), choice("use", "training")])


@pytest.mark.slow
def test_sigkill_during_annotate_push_and_pull_then_rerun_equals_an_uninterrupted_annotate(
    label_studio,  # noqa: F811
    deduped,
    tmp_path,
):
    env = {"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": label_studio.api_key}
    sdk = LabelStudio(base_url=label_studio.url, api_key=label_studio.api_key)

    def chain(folder: Path, reference: kill9.Run, n: int, table: str, *command: str) -> None:
        progress = kill9.lock_holder(folder, table)
        runs = kill9.kill_chain(lambda m: kill9.run(kill9.cli(folder, *command), folder, m, progress, env),
                                kill9.progress_moments(SEED, reference, n))  # fmt: skip
        assert sum(r.killed for r in runs) >= n // 2, runs  # the moments landed inside runs

    reference = annotate_copy(deduped.folder, tmp_path / "reference")
    push = kill9.run(kill9.cli(reference, "annotate", "push"), reference, None, lock_of(reference, TASKS), env)
    killed = annotate_copy(deduped.folder, tmp_path / "killed")
    chain(killed, push, PUSH_MOMENTS, TASKS, "annotate", "push")

    tasks = project_tasks(sdk, killed)
    doc_ids = [t.data["doc_id"] for t in tasks]
    assert len(doc_ids) == len(set(doc_ids)), "a document has two tasks"
    assert doc_ids == [t.data["doc_id"] for t in project_tasks(sdk, reference)]
    recorded = {
        r["doc_id"]: r["task_id"] for r in kill9.Warehouse(str(killed / "data")).read("annotation_tasks").to_pylist()
    }
    assert recorded == {t.data["doc_id"]: t.id for t in tasks}  # every task recorded, with its id
    got, want = kill9.warehouse_view(killed, ignore=SERVER_IDS), kill9.warehouse_view(reference, ignore=SERVER_IDS)
    assert got == want, kill9.diff(got, want)

    for folder in (reference, killed):
        label_first_tasks(sdk, folder)
    pull = kill9.run(kill9.cli(reference, "annotate", "pull"), reference, None, lock_of(reference, LABELS), env)
    chain(killed, pull, PULL_MOMENTS, LABELS, "annotate", "pull")
    got, want = kill9.warehouse_view(killed, ignore=SERVER_IDS), kill9.warehouse_view(reference, ignore=SERVER_IDS)
    assert len(want["annotations"]) == LABELLED
    assert got == want, kill9.diff(got, want)
