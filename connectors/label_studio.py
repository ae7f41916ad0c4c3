"""Label Studio through label-studio-sdk: find or create the project, import tasks, export
annotations. Every failure becomes a one-line `LabelStudioError`; the API key is never part
of a message or a repr.

`LabelStudioUnavailable` (server down, timeout, HTTP 5xx) is transient: flows retry it.
`LabelStudioAuthError` (HTTP 401/403) is not: retrying a wrong key does not help.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from corpusforge.processing.annotation_labels import render_label_config

LABEL_CONFIG_RESOURCE = ("corpusforge.processing", "label_config.xml")


class LabelStudioError(RuntimeError):
    """A Label Studio call failed; the message is one line and never holds the key."""


class LabelStudioUnavailable(LabelStudioError):
    """The server did not answer or answered 5xx: worth retrying."""


class LabelStudioAuthError(LabelStudioError):
    """The server refused the API key."""


@dataclass(frozen=True)
class Connection:
    url: str
    api_key: str = field(repr=False)  # never in a repr, a log line or an error


@dataclass(frozen=True)
class Project:
    id: int
    title: str
    created: bool


@dataclass(frozen=True)
class TaskRef:
    """A task that exists in the project, with what its data says about the document."""

    task_id: int
    doc_id: str
    content_hash: str | None
    sample_reason: str | None
    stratum: str | None


def label_config_template() -> str:
    package, name = LABEL_CONFIG_RESOURCE
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def _api_error_detail(exc: ApiError) -> str:
    body = exc.body
    if isinstance(body, dict):
        detail = body.get("validation_errors") or body.get("detail") or body
        return str(detail).replace("\n", " ")[:200]
    return str(body or "").replace("\n", " ")[:200]


class LabelStudioClient:
    """A thin wrapper over the SDK client; pass `sdk` to reuse one (tests, custom httpx)."""

    def __init__(self, connection: Connection, timeout: float = 30.0, sdk: LabelStudio | None = None):
        self.url = connection.url.rstrip("/")
        # The SDK's own retries are off: Prefect's task retries handle transient failures.
        self.sdk = sdk or LabelStudio(base_url=self.url, api_key=connection.api_key, timeout=timeout, max_retries=0)

    def __repr__(self) -> str:
        return f"LabelStudioClient(url={self.url!r})"

    @contextlib.contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise LabelStudioUnavailable(
                f"Label Studio at {self.url} is not reachable while trying to {what} ({type(exc).__name__}); "
                "is it running, and is LABEL_STUDIO_URL right?"
            ) from None
        except ApiError as exc:
            status = exc.status_code or 0
            if status in (401, 403):
                raise LabelStudioAuthError(
                    f"Label Studio at {self.url} refused the API key (HTTP {status}) while trying to {what}; "
                    "check LABEL_STUDIO_API_KEY (a legacy token from Account & Settings)"
                ) from None
            error = LabelStudioUnavailable if status >= 500 else LabelStudioError
            raise error(f"Label Studio could not {what}: HTTP {status}: {_api_error_detail(exc)}") from None

    def check(self) -> str:
        """Who the key belongs to (proves the server answers and accepts the key)."""
        with self._calling("check the connection"):
            return self.sdk.users.whoami().email or "?"

    # ---- project -------------------------------------------------------------------------
    def find_project(self, title: str) -> int | None:
        with self._calling(f"list projects titled {title!r}"):
            # The title filter may match more loosely than equality: compare exactly here,
            # and take the oldest when several share the title.
            ids = sorted(p.id for p in self.sdk.projects.list(title=title) if p.title == title)
        return ids[0] if ids else None

    def ensure_project(self, title: str, topics: Sequence[str]) -> Project:
        """The project with this title, created from the repo's labelling config if missing."""
        existing = self.find_project(title)
        if existing is not None:
            return Project(existing, title, created=False)
        config = render_label_config(label_config_template(), topics)
        with self._calling(f"create project {title!r}"):
            project = self.sdk.projects.create(
                title=title,
                label_config=config,
                description="Documents sampled by corpusforge; predictions are the filters' verdicts.",
                show_collab_predictions=True,
            )
        return Project(int(project.id), title, created=True)

    # ---- tasks -----------------------------------------------------------------------------
    def tasks_by_doc(self, project_id: int) -> dict[str, TaskRef]:
        """Every task of the project that carries a doc_id, by doc_id (the oldest if several)."""
        refs: dict[str, TaskRef] = {}
        with self._calling(f"list the tasks of project {project_id}"):
            for task in self.sdk.tasks.list(project=project_id, include="id,data", page_size=500):
                data = task.data or {}
                doc_id = data.get("doc_id")
                if not doc_id or (doc_id in refs and refs[doc_id].task_id < task.id):
                    continue
                refs[doc_id] = TaskRef(
                    int(task.id), doc_id, data.get("content_hash"), data.get("sample_reason"), data.get("stratum")
                )
        return refs

    def import_tasks(self, project_id: int, tasks: Sequence[dict]) -> int:
        """Create tasks (with their predictions) in one request; returns how many were created."""
        if not tasks:
            return 0
        with self._calling(f"import {len(tasks)} tasks into project {project_id}"):
            response = self.sdk.projects.import_tasks(project_id, request=list(tasks), commit_to_project=True)
        return int(response.task_count or 0)

    # ---- annotations -------------------------------------------------------------------------
    def export_tasks(self, project_id: int) -> list[dict]:
        """Every task of the project with all its annotations, in their current state (an
        edited annotation shows its new result and updated_at)."""
        with self._calling(f"export project {project_id}"):
            return list(self.sdk.projects.exports.as_json(project_id))

    def annotators(self) -> dict[int, str]:
        """User id -> e-mail (or username), to name who gave each label."""
        with self._calling("list users"):
            return {int(u.id): (u.email or u.username or str(u.id)) for u in self.sdk.users.list()}
