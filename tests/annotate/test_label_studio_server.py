"""The Label Studio launcher the demo uses: start, reuse from another process, stop, clear errors."""

from __future__ import annotations

import socket

import httpx
import pytest

from corpusforge.connectors.label_studio_server import LabelStudioServer, LabelStudioServerError
from tests.annotate.conftest import TEST_ACCOUNT


def _whoami(server: LabelStudioServer) -> httpx.Response:
    return httpx.get(f"{server.url}/api/current-user/whoami", headers={"Authorization": f"Token {server.api_key}"},
                     timeout=10)  # fmt: skip


@pytest.fixture()
def launcher(tmp_path):
    server = LabelStudioServer(tmp_path / "label-studio", port=None, account=TEST_ACCOUNT)
    if not server.installed():
        pytest.skip("Label Studio is not installed (make label-studio)")
    yield server
    server.stop()


def test_started_server_answers_with_its_account_and_is_reused_then_stopped_by_another_launcher(launcher):
    launcher.start()
    assert not launcher.reused
    assert _whoami(launcher).json()["email"] == TEST_ACCOUNT.username
    assert launcher.client_env() == {"LABEL_STUDIO_URL": launcher.url, "LABEL_STUDIO_API_KEY": TEST_ACCOUNT.token}
    assert TEST_ACCOUNT.token not in repr(launcher.account)
    assert launcher.state_path.exists()

    # A later process (the next `corpusforge demo`) finds the running server through the data dir.
    again = LabelStudioServer(launcher.data_dir, port=None, account=TEST_ACCOUNT).start(timeout=30)
    assert again.reused and again.url == launcher.url

    again.stop()  # stops the process the first launcher started
    assert launcher.proc.wait(30) is not None
    assert not launcher.running() and not launcher.state_path.exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{launcher.url}/health", timeout=2)


def test_a_taken_port_moves_the_server_to_a_free_one(launcher):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        launcher.port = taken
        launcher.start()
        assert launcher.port != taken
        assert _whoami(launcher).status_code == 200


def test_missing_installation_is_a_one_line_error(tmp_path):
    server = LabelStudioServer(tmp_path / "ls", port=None, account=TEST_ACCOUNT, venv=tmp_path / "no-venv")
    with pytest.raises(LabelStudioServerError, match=r"^Label Studio is not installed in .*no-venv \(run `make"):
        server.start()
    assert not server.state_path.exists()
