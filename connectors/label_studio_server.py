"""Start and stop a local Label Studio: the demo's annotation server, and the tests' real one.

Label Studio pins its own Django and SDK, so it runs from a virtual environment of its own
(`make label-studio` installs it in $LS_VENV, default ~/.cache/corpusforge/label-studio-venv).
The server is created with a known account and API token (set through Label Studio's
LABEL_STUDIO_USERNAME / _PASSWORD / _USER_TOKEN before its data dir is first created), so
corpusforge can push tasks to it and a person can log in with the printed credentials.

Migrating a fresh data dir takes 30-60 s (minutes on a busy machine). The first migration of
an account is kept under ~/.cache/corpusforge/ and later fresh data dirs start from a copy of
it in a few seconds.

The server runs detached (its own session, output in `<data_dir>/server.log`) and writes
`<data_dir>/server.json` (pid, port, url), so a later `corpusforge` process finds it, reuses it
and can stop it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CACHE_DIR = Path.home() / ".cache" / "corpusforge"
DEFAULT_PORT = 8080
STATE_FILE = "server.json"
LOG_FILE = "server.log"
DATABASE_FILE = "label_studio.sqlite3"


class LabelStudioServerError(RuntimeError):
    """Label Studio could not be started, or did not answer; the message is one line plus a log tail."""


@dataclass(frozen=True)
class Account:
    """The user Label Studio is created with; the token is what corpusforge sends as its API key."""

    username: str
    password: str = field(repr=False)
    token: str = field(repr=False)


DEMO_ACCOUNT = Account("demo@corpusforge.local", "corpusforge-demo", "corpusforge-demo-token-0123456789abcdef")


def label_studio_venv() -> Path:
    """Where Label Studio is installed: $LS_VENV, else the folder `make label-studio` uses."""
    return Path(os.environ.get("LS_VENV") or CACHE_DIR / "label-studio-venv")


def label_studio_executable(venv: Path | None = None) -> Path:
    return (venv or label_studio_venv()) / "bin" / "label-studio"


def label_studio_version(venv: Path | None = None) -> str:
    pattern = str((venv or label_studio_venv()) / "lib" / "python*" / "site-packages" / "label_studio-*.dist-info")
    dist = sorted(glob.glob(pattern))
    return Path(dist[-1]).name.removeprefix("label_studio-").removesuffix(".dist-info") if dist else "unknown"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nobody listens on it (connections of a stopped server in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LabelStudioServer:
    """One Label Studio over one data dir.

    `start()` reuses the server already running on this data dir (found through its state
    file) or launches one and waits until it answers with our token; `stop()` stops it, also
    when another process started it.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike,
        port: int | None = DEFAULT_PORT,
        account: Account = DEMO_ACCOUNT,
        venv: Path | None = None,
        host: str = "127.0.0.1",
    ):
        self.data_dir = Path(data_dir).absolute()
        self.host = host
        self.account = account
        self.venv = venv or label_studio_venv()
        self.port = port or free_port(host)
        self.proc: subprocess.Popen | None = None
        self.reused = False

    # ---- what callers read ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self.account.token

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def password(self) -> str:
        return self.account.password

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    @property
    def state_path(self) -> Path:
        return self.data_dir / STATE_FILE

    def client_env(self) -> dict[str, str]:
        """The variables `corpusforge annotate` reads to reach this server."""
        return {"LABEL_STUDIO_URL": self.url, "LABEL_STUDIO_API_KEY": self.api_key}

    def installed(self) -> bool:
        return label_studio_executable(self.venv).exists()

    # ---- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float | None = None) -> LabelStudioServer:
        """Reuse the server running on this data dir, else launch one and wait for it."""
        if self._adopt_running():
            return self
        fresh = self.prepare_data_dir()
        self.launch()
        # Migrating a fresh data dir takes 30-60 s on an idle machine, minutes on a busy one.
        self.wait(timeout or (900 if fresh else 300))
        if fresh:
            self.keep_as_template()
        return self

    def prepare_data_dir(self) -> bool:
        """Seed an empty data dir from the migrated copy of this account; True when none exists
        yet and the server must migrate a fresh database (the slow first start)."""
        if (self.data_dir / DATABASE_FILE).exists():
            return False
        template = self._template_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not template.exists():
            return True
        shutil.copytree(template, self.data_dir, dirs_exist_ok=True)
        return False

    def launch(self) -> None:
        """Start the process (detached: it outlives this one) without waiting for it."""
        if not self.installed():
            raise LabelStudioServerError(
                f"Label Studio is not installed in {self.venv} (run `make label-studio`, or set LS_VENV)"
            )
        if not port_is_free(self.port, self.host):
            # Label Studio itself would silently move to another port; pick one we know.
            self.port = free_port(self.host)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [str(label_studio_executable(self.venv)), "start", "--no-browser", "--port", str(self.port),
               "--internal-host", self.host, "--data-dir", str(self.data_dir)]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, env=self._environment(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.data_dir, start_new_session=True,
            )  # fmt: skip
        self.reused = False
        self._write_state(self.proc.pid)

    def wait(self, timeout: float = 300) -> None:
        """Until the server answers on our port with our account (another Label Studio could be
        answering there)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise LabelStudioServerError(f"label-studio exited with {self.proc.returncode}:\n{self._log_tail()}")
            answer = self._whoami()
            if answer == self.username:
                return
            if answer is not None:
                raise LabelStudioServerError(f"port {self.port} is answered by another Label Studio ({answer})")
            time.sleep(0.5)
        raise LabelStudioServerError(
            f"Label Studio did not answer on {self.url} within {timeout:.0f}s:\n{self._log_tail()}"
        )

    def running(self) -> bool:
        """True when our account answers on our port."""
        return self._whoami() == self.username

    def stop(self) -> None:
        """Stop the server of this data dir, whichever process started it."""
        pid = self.proc.pid if self.proc is not None else self._state().get("pid")
        if pid:
            self._terminate(int(pid))
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        self.proc = None
        self.state_path.unlink(missing_ok=True)

    # ---- internals -----------------------------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "LABEL_STUDIO_USERNAME": self.account.username,
            "LABEL_STUDIO_PASSWORD": self.account.password,
            "LABEL_STUDIO_USER_TOKEN": self.account.token,
            # Without it, Label Studio 1.23 creates personal access tokens only and refuses the
            # token above with 401; it must be set when the data dir is first created.
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        }

    def _whoami(self) -> str | None:
        """The e-mail our token maps to on our port; "" when something else answers; None when
        nothing answers (yet)."""
        try:
            if httpx.get(f"{self.url}/health", timeout=2).status_code != 200:
                return None
            who = httpx.get(
                f"{self.url}/api/current-user/whoami", headers={"Authorization": f"Token {self.api_key}"}, timeout=5
            )
        except httpx.HTTPError:
            return None
        if who.status_code != 200:
            return f"HTTP {who.status_code}"
        return who.json().get("email") or ""

    def _adopt_running(self) -> bool:
        """Reuse the server a previous process started on this data dir, if it still runs."""
        state = self._state()
        pid, port = state.get("pid"), state.get("port")
        if not pid or not port or not _pid_alive(int(pid)):
            return False
        self.port = int(port)
        try:
            self.wait(timeout=120)  # it may still be booting
        except LabelStudioServerError:
            return False
        self.reused = True
        return True

    def _state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    def _write_state(self, pid: int) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": pid, "port": self.port, "url": self.url, "username": self.username}))
        tmp.replace(self.state_path)

    def _terminate(self, pid: int) -> None:
        """SIGTERM its process group (it was started in a session of its own), SIGKILL after 20 s."""
        for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.pid == pid:
                    if self.proc.poll() is not None:
                        return
                elif not _pid_alive(pid):
                    return
                time.sleep(0.2)

    def _template_dir(self) -> Path:
        user = self.account.username.replace("@", "_at_")
        return CACHE_DIR / f"label-studio-data-{label_studio_version(self.venv)}-{user}"

    def keep_as_template(self) -> None:
        """Keep a copy of the freshly migrated data dir (stopped, so the database is consistent);
        the server is started again from it."""
        template = self._template_dir()
        if template.exists():
            return
        self.stop()
        template.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".ls-template-", dir=template.parent))
        ignore = shutil.ignore_patterns(STATE_FILE, LOG_FILE)
        shutil.copytree(self.data_dir, staging / "data", ignore=ignore)
        with contextlib.suppress(OSError):  # a parallel process kept its own copy first
            os.rename(staging / "data", template)
        shutil.rmtree(staging, ignore_errors=True)
        self.launch()
        self.wait(300)

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
