"""Functions run on the worker processes in the pool tests (workers import them by name)."""

from __future__ import annotations

import time


def sleep_then_echo(seconds: float, value: str) -> str:
    time.sleep(seconds)
    return value


def fail(message: str) -> str:
    raise ValueError(message)
