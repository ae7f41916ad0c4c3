"""Shared fixtures: a real sample site on a local HTTP server, a temporary warehouse, and a real
Prefect server (one per test session; its URL is fixed before prefect is imported)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


_PREFECT_PORT = free_port()
_PREFECT_HOME = tempfile.mkdtemp(prefix="corpusforge-prefect-")


def pytest_configure(config):
    # Prefect reads its settings when it is imported: point it at the session's server now.
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{_PREFECT_PORT}/api"
    os.environ["PREFECT_HOME"] = _PREFECT_HOME
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # A test that drops PREFECT_API_URL gets a temporary server, never the user's shared one in
    # ~/.cache (which would outlive the tests); tests/pipeline/test_prefect_server.py covers that.
    os.environ["CORPUSFORGE_PREFECT_SERVER"] = "ephemeral"


def pytest_unconfigure(config):
    # The session's Prefect home (its database, about 20 MB) would otherwise stay in /tmp after
    # every run; the servers that used it were stopped with their fixtures.
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_api():
    """A real Prefect server (`prefect server start`) for the whole session."""
    log = Path(_PREFECT_HOME) / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    # The UI asks the API at PREFECT_UI_API_URL, which otherwise defaults to port 4200.
    env["PREFECT_UI_API_URL"] = f"http://127.0.0.1:{_PREFECT_PORT}/api"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(_PREFECT_PORT)],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{_PREFECT_PORT}/api/health", 120, proc, log)
        yield os.environ["PREFECT_API_URL"]
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def sample_site_dir(tmp_path_factory) -> Path:
    """The 50-page sample site, generated once per session (read-only: copy it to change it)."""
    from corpusforge.connectors.sample_site import generate_site

    root = tmp_path_factory.mktemp("sample-site")
    generate_site(root, pages=50, seed=0)
    return root


@pytest.fixture(scope="session")
def sample_manifest(sample_site_dir) -> dict:
    from corpusforge.connectors.sample_site import load_manifest

    return load_manifest(sample_site_dir)


@pytest.fixture(scope="session")
def site_server(sample_site_dir):
    """The sample site served on a free local port for the whole session."""
    from corpusforge.connectors.sample_site import SampleServer

    with SampleServer(sample_site_dir) as srv:
        yield srv


S3_BUCKET = "corpus"


def s3_url(endpoint: str, prefix: str) -> str:
    """A warehouse URL on the test S3 server: pyarrow's S3 options in the query."""
    return f"s3://{S3_BUCKET}/{prefix}?endpoint_override={endpoint}&scheme=http&region=us-east-1"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """A local S3 server (moto's server mode) with the bucket S3_BUCKET, for warehouses on object
    storage as workers on several machines would share one. The AWS_* credentials are set in this
    process's environment while it runs, so processes started after it (Dask workers) get them."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=fh, stderr=fh
        )
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/moto-api/", 60, proc, log)
        import pyarrow.fs as pafs

        fs = pafs.S3FileSystem(
            endpoint_override=f"127.0.0.1:{port}", scheme="http", region="us-east-1", allow_bucket_creation=True
        )
        fs.create_dir(S3_BUCKET)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture()
def wh(tmp_path):
    """A fresh, initialised warehouse in a temporary folder."""
    from corpusforge.warehouse import Warehouse

    w = Warehouse(str(tmp_path / "data"))
    w.init()
    return w


# The sample site under the names the sample site's own tests use.
@pytest.fixture(scope="module")
def site(sample_site_dir) -> Path:
    """The session's 50-page site (tests/conftest.py), read-only in its tests: tests that change pages copy it."""
    return sample_site_dir


@pytest.fixture(scope="module")
def manifest(sample_manifest) -> dict:
    return sample_manifest


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client
