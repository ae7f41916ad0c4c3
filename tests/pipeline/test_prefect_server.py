"""Without PREFECT_API_URL, commands share one local Prefect server: the first flow command
starts it (recorded in the cache folder), the next one finds it and starts nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

CLI = str(Path(sys.executable).with_name("corpusforge"))


def test_first_flow_command_starts_the_shared_server_and_the_next_reuses_it(tmp_path):
    (tmp_path / "corpusforge.yaml").write_text("warehouse: ./data\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "CORPUSFORGE_PREFECT_SERVER")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    state = tmp_path / "cache" / "corpusforge" / "prefect-server.json"
    pid = None
    try:
        first = subprocess.run([CLI, "dedup"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
        assert first.returncode == 0, first.stderr[-2000:]
        if state.exists():  # started by us (else one was already answering on 127.0.0.1:4200)
            recorded = json.loads(state.read_text())
            pid = recorded["pid"]
            assert httpx.get(f"{recorded['url']}/health", timeout=5).status_code == 200
        second = subprocess.run([CLI, "dedup"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
        assert second.returncode == 0, second.stderr[-2000:]
        if pid is not None:
            assert json.loads(state.read_text())["pid"] == pid  # the same server, not a second one
        assert "Starting temporary server" not in first.stderr + second.stderr
    finally:
        if pid is not None:
            os.killpg(pid, signal.SIGTERM) if _is_group_leader(pid) else os.kill(pid, signal.SIGTERM)


def _is_group_leader(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False
