"""One local Prefect server, started on first use and reused by every later command.

Without PREFECT_API_URL, Prefect starts a temporary server inside each command (seconds of start-up
paid by every run, and the run history is thrown away). Instead, a command that runs flows uses:

1. the server recorded in the state file (`~/.cache/corpusforge/prefect-server.json`, or under
   $XDG_CACHE_HOME) when it answers its health check;
2. else a server already answering on the default address (http://127.0.0.1:4200), e.g. one the
   user started with `prefect server start`;
3. else it starts `prefect server start` in the background (its own session, so it outlives the
   command; log in `prefect-server.log` beside the state file), records its URL and pid, and waits
   for it to answer.

and sets PREFECT_API_URL for this process. The UI of that server shows every run. A set
PREFECT_API_URL (the tests' own server, a team's server) is always left alone, and
CORPUSFORGE_PREFECT_SERVER=ephemeral keeps Prefect's temporary server per command.
Stop the shared server with `kill $(jq .pid ~/.cache/corpusforge/prefect-server.json)`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:4200/api"
START_TIMEOUT_SECONDS = 120.0  # a first start (database migrations) on a busy small machine is slow
# Commands that run Prefect flows; the others (--help, query, tables, init...) never touch Prefect.
FLOW_COMMANDS = frozenset({"run", "demo", "crawl", "clean", "dedup", "annotate", "export", "serve"})
# Flow commands that first ask the warehouse whether they have work (flows/cli/stages.py): they call
# point_at_shared_server() only before a flow runs, so an idle one neither waits for nor starts a server.
CHECK_FIRST_COMMANDS = frozenset({"clean", "dedup", "export"})
_OPTIONS_WITH_VALUE = frozenset({"-c", "--config"})


def state_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "corpusforge"


def healthy(api_url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def _recorded_url(state_file: Path) -> str | None:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        url = json.loads(state_file.read_text())["url"]
        if healthy(url):
            return url
    return None


def _free_port(preferred: int = 4200) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(folder: Path) -> tuple[str, int]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": url}
    env.pop("PREFECT_API_URL", None)
    with open(folder / "prefect-server.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command, and a Ctrl-C on it
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not healthy(url):
        if proc.poll() is not None:
            raise RuntimeError(f"the local Prefect server did not start; see {folder / 'prefect-server.log'}")
        if time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"the local Prefect server did not answer within {START_TIMEOUT_SECONDS:g}s")
        time.sleep(0.2)
    return url, proc.pid


def shared_server_url() -> str:
    """The URL of the shared local server, starting it if none answers (see the module docstring)."""
    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    state_file = folder / "prefect-server.json"
    url = _recorded_url(state_file)
    if url:
        return url
    with open(folder / "prefect-server.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two commands started at once start one server
        url = _recorded_url(state_file)
        if url:
            return url
        if healthy(DEFAULT_URL):
            return DEFAULT_URL
        url, pid = _start_server(folder)
        state_file.write_text(json.dumps({"url": url, "pid": pid, "started_at": time.time()}))
        return url


def _command(args: list[str]) -> str | None:
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def use_shared_server(args: list[str]) -> None:
    """Before a command that runs flows: point PREFECT_API_URL at the shared local server."""
    command = _command(args)
    if "--help" in args or "-h" in args or command not in FLOW_COMMANDS or command in CHECK_FIRST_COMMANDS:
        return
    if command != "demo" and not _has_config(args):
        return  # the command stops at its one-line "no corpusforge.yaml" error: start nothing for it
    point_at_shared_server()


def point_at_shared_server() -> None:
    """Set PREFECT_API_URL to the shared local server (before Prefect is imported), unless the user
    set one or asked for Prefect's temporary server."""
    if os.environ.get("PREFECT_API_URL") or os.environ.get("CORPUSFORGE_PREFECT_SERVER") == "ephemeral":
        return
    os.environ["PREFECT_API_URL"] = shared_server_url()


def _has_config(args: list[str]) -> bool:
    """Whether the command has a config to run with (-c, $CORPUSFORGE_CONFIG or ./corpusforge.yaml)."""
    return any(a in _OPTIONS_WITH_VALUE or a.startswith("--config=") for a in args) or bool(
        os.environ.get("CORPUSFORGE_CONFIG") or os.path.exists("corpusforge.yaml")
    )
