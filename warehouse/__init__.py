"""Where data lives: Parquet tables under a root, the DuckDB catalog, locks and snapshots."""

from corpusforge.warehouse.catalog import register_view
from corpusforge.warehouse.lock import TableLockedError
from corpusforge.warehouse.store import TableStats, Warehouse, WarehouseError, new_run_id, utc_now

__all__ = ["TableLockedError", "TableStats", "Warehouse", "WarehouseError", "new_run_id", "register_view", "utc_now"]

# Modules that add catalog views (crawl_state, clusters_latest, ...): imported here so that every
# catalog that is written has them, whichever stage wrote it.
from corpusforge.warehouse import crawl_state as _crawl_state  # noqa: E402,F401
from corpusforge.warehouse import dedup_clusters as _dedup_clusters  # noqa: E402,F401
from corpusforge.warehouse import dedup_index as _dedup_index  # noqa: E402,F401
