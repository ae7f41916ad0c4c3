"""A real Label Studio server for the test session, and a fault-injecting proxy in front of it.

`label_studio` (session) starts Label Studio with the same launcher as `corpusforge demo`
(`corpusforge.connectors.label_studio_server`): from its own virtual environment ($LS_VENV,
default ~/.cache/corpusforge/label-studio-venv), on a free port, with a temporary data dir and a
test account. A fresh data dir needs 30-60 s of migrations, so the launcher keeps the first
migrated copy under ~/.cache/corpusforge/ and later sessions start from a copy in a few seconds.

Other test folders can reuse it: `from tests.annotate.conftest import label_studio  # noqa: F401`
or `pytest_plugins = ["tests.annotate.conftest"]`.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from corpusforge.connectors.label_studio_server import Account, LabelStudioServer, label_studio_venv

TEST_ACCOUNT = Account("tester@corpusforge.local", "corpusforge-test-password", "corpusforge-test-token-0123456789")


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory, request) -> LabelStudioServer:
    """A real Label Studio (url, api_key, username; stop() / start() to simulate an outage)."""
    server = LabelStudioServer(tmp_path_factory.mktemp("label-studio") / "data", port=None, account=TEST_ACCOUNT)
    if not server.installed():
        pytest.skip(f"Label Studio is not installed in {label_studio_venv()} (run `make label-studio` or set LS_VENV)")
    fresh = server.prepare_data_dir()
    server.launch()
    try:
        # Start the session's Prefect server while Label Studio boots: both take a while.
        request.getfixturevalue("prefect_api")
        server.wait(900 if fresh else 300)
        if fresh:
            server.keep_as_template()
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
