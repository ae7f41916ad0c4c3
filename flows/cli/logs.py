"""Keep Prefect's console quiet about failures the CLI reports itself.

A failing flow or task logs "Encountered exception during execution" with the whole traceback
(~20 lines) on the console before the CLI's own one-line error. The console handler drops the
traceback (the line stays); Prefect's API handler, on the flow and task run loggers, runs before
it and still sends the traceback to the Prefect UI. `--debug` keeps it on the console too.
"""

from __future__ import annotations

import logging
import os


class WithoutTraceback(logging.Filter):
    """Drops a record's traceback, keeps the record (its message names the error)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


def hide_flow_tracebacks() -> None:
    """Put the filter on Prefect's console handlers (installed on the root logger when Prefect is
    first imported), once; nothing to do under --debug or before Prefect set up logging."""
    if os.environ.get("CORPUSFORGE_DEBUG"):
        return
    for handler in logging.getLogger().handlers:
        if type(handler).__name__ != "PrefectConsoleHandler":
            continue
        if not any(isinstance(f, WithoutTraceback) for f in handler.filters):
            handler.addFilter(WithoutTraceback())
