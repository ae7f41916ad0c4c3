"""`duckdb`, imported on its first use rather than with the warehouse package.

The crawl worker imports the warehouse to write Parquet and never queries it (the flow's process
reads the crawl state for it): importing duckdb would cost that process about 45 MB resident,
its shared library's pages, for nothing. Modules of the warehouse write `from
corpusforge.warehouse.lazy_duckdb import duckdb` and use it as the module itself.
"""

from __future__ import annotations

import importlib
from typing import Any


class _LazyDuckDB:
    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("duckdb"), name)


duckdb: Any = _LazyDuckDB()
