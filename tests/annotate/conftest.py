"""A real Label Studio server for the test session, and a fault-injecting proxy in front of it.

`label_studio` (session) starts `label-studio start` from its own virtual environment
($LS_VENV, default ~/.cache/corpusforge/label-studio-venv) on a free port with a temporary
data dir. A fresh data dir needs 30-60 s of migrations, so the first session on a machine
keeps a migrated copy (with the test user and token) under ~/.cache/corpusforge/ and later
sessions start from a copy of it in a few seconds.

Other test folders can reuse it: `from tests.annotate.conftest import label_studio  # noqa: F401`
or `pytest_plugins = ["tests.annotate.conftest"]`.
"""

from __future__ import annotations

import glob
import http.client
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

LS_VENV = Path(os.environ.get("LS_VENV", Path.home() / ".cache" / "corpusforge" / "label-studio-venv"))
CACHE_DIR = Path.home() / ".cache" / "corpusforge"
USERNAME = "tester@corpusforge.local"
PASSWORD = "corpusforge-test-password"
TOKEN = "corpusforge-test-token-0123456789"


def _ls_version() -> str:
    dist = sorted(glob.glob(str(LS_VENV / "lib" / "python*" / "site-packages" / "label_studio-*.dist-info")))
    return Path(dist[-1]).name.removeprefix("label_studio-").removesuffix(".dist-info") if dist else "unknown"


class LabelStudioServer:
    """One `label-studio start` process over one data dir; can be stopped and started again."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = TOKEN
        self.username = USERNAME
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.proc: subprocess.Popen | None = None

    def launch(self, fresh: bool = False) -> None:
        env = {
            **os.environ,
            "LABEL_STUDIO_USERNAME": USERNAME,
            "LABEL_STUDIO_PASSWORD": PASSWORD,
            "LABEL_STUDIO_USER_TOKEN": TOKEN,
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        }
        if fresh:  # without it, 1.23 refuses the token set above with 401
            env["LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN"] = "true"
        cmd = [str(LS_VENV / "bin" / "label-studio"), "start", "--no-browser", "--port", str(self.port),
               "--internal-host", "127.0.0.1", "--data-dir", str(self.data_dir)]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir)

    def wait(self, timeout: float = 300) -> None:
        """Until /health answers on our port and our token is ours (Label Studio moves to
        another port when its port is taken: another server could be answering there)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"label-studio exited with {self.proc.returncode}:\n{self._log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    who = httpx.get(f"{self.url}/api/current-user/whoami",
                                    headers={"Authorization": f"Token {TOKEN}"}, timeout=5)  # fmt: skip
                    if who.status_code == 200 and who.json().get("email") == USERNAME:
                        return
                    raise RuntimeError(f"port {self.port} is answered by another Label Studio ({who.status_code})")
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Label Studio did not answer on {self.url} within {timeout:.0f}s:\n{self._log_tail()}")

    def start(self, fresh: bool = False) -> LabelStudioServer:
        self.launch(fresh)
        # Migrating a fresh data dir takes 30-60 s on an idle machine, minutes on a busy one.
        self.wait(timeout=900 if fresh else 300)
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


def _template_dir() -> Path:
    return CACHE_DIR / f"label-studio-testdata-{_ls_version()}"


def _build_template(work: Path) -> Path:
    """Migrate a fresh data dir once (the slow part), then keep a copy of it."""
    build = work / "template-build"
    build.mkdir()
    server = LabelStudioServer(build)
    try:
        server.start(fresh=True)
    finally:
        server.stop()
    template = _template_dir()
    template.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ls-template-", dir=template.parent))
    shutil.copytree(build, staging / "data")
    try:
        os.rename(staging / "data", template)  # atomic: a parallel session builds its own or uses ours
    except OSError:
        pass
    shutil.rmtree(staging, ignore_errors=True)
    return build


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory, request) -> LabelStudioServer:
    """A real Label Studio (url, api_key, username; stop() / start() to simulate an outage)."""
    if not (LS_VENV / "bin" / "label-studio").exists():
        pytest.skip(f"Label Studio is not installed in {LS_VENV} (set LS_VENV; see the annotate issue)")
    work = tmp_path_factory.mktemp("label-studio")
    template = _template_dir()
    if template.exists():
        data_dir = work / "data"
        shutil.copytree(template, data_dir)
    else:
        data_dir = _build_template(work)
    server = LabelStudioServer(data_dir)
    server.launch()
    # Start the session's Prefect server while Label Studio boots: both take a while.
    request.getfixturevalue("prefect_api")
    try:
        server.wait()
        yield server
    finally:
        server.stop()


# ---- fault injection ------------------------------------------------------------------------------
class FaultProxy:
    """An HTTP proxy in front of Label Studio. `stop_at_import(n, action)` runs `action` right
    after the n-th import request reached the server and before its answer goes back: the test
    stops the real server there, the moment a push can lose track of tasks it created. From then
    on (while `down` is set) every request is answered by closing the connection."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self._fault: tuple[int, Callable[[], None]] | None = None
        self.down = False
        self.imports = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy.down:
                    self.close_connection = True
                    return
                host = proxy.upstream.removeprefix("http://")
                conn = http.client.HTTPConnection(host, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                except OSError:
                    self.close_connection = True
                    return
                finally:
                    conn.close()
                if self.command == "POST" and self.path.split("?")[0].endswith("/import"):
                    proxy.imports += 1
                    if proxy._fault is not None and proxy._fault[0] == proxy.imports:
                        action, proxy._fault = proxy._fault[1], None
                        action()
                        proxy.down = True
                        self.close_connection = True
                        return
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def stop_at_import(self, n: int, action: Callable[[], None]) -> None:
        self._fault = (self.imports + n, action)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def fault_proxy(label_studio):
    with FaultProxy(label_studio.url) as proxy:
        yield proxy
