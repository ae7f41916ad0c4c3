"""A corpusforge command run as a user runs it, for the idle checks' tests: a fresh interpreter,
no PREFECT_API_URL (so the shared local server of flows/prefect_server.py would be used), its own
cache folder; its last output line says which of `modules` it imported and its exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NOT_A_USERS = ("CORPUSFORGE_CONFIG", "PREFECT_API_URL", "CORPUSFORGE_PREFECT_SERVER")


def run_as_a_user(args: list[str], cwd: Path, cache: Path, modules: tuple[str, ...]) -> subprocess.CompletedProcess:
    """`corpusforge ARGS` in `cwd`; its stdout ends with e.g. "[] 0" (no module of `modules`
    imported, exit code 0)."""
    code = (
        f"from corpusforge.flows.cli import main; rc = main({args!r}); import sys; "
        f"print(sorted(m for m in {modules!r} if m in sys.modules), rc)"
    )
    env = {k: v for k, v in os.environ.items() if k not in NOT_A_USERS} | {"XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
