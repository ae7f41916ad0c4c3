"""Where data lives: Parquet tables under a root, the DuckDB catalog, locks and snapshots."""

from warehouse.catalog import register_view
from warehouse.lock import TableLockedError
from warehouse.store import TableStats, Warehouse, WarehouseError, new_run_id, utc_now

__all__ = ["TableLockedError", "TableStats", "Warehouse", "WarehouseError", "new_run_id", "register_view", "utc_now"]
