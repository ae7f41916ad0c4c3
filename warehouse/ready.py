"""Whether a warehouse is ready for a stage's idle check, asked without writing anything.

An idle check (flows/dedup_plan.py, flows/export_plan.py) answers only for a warehouse that is set
up and that no killed writer left half-written: otherwise the stage's flow runs, which creates the
tables and sweeps the temp files under its locks.
"""

from __future__ import annotations

from pyarrow import fs as pafs

from corpusforge.schemas.tables import TABLES
from corpusforge.warehouse.store import SCHEMA_FILE, TMP_DIR


def initialised(wh) -> bool:
    """Whether every table has its schema file (and a local warehouse its catalog): what
    `Warehouse.init` makes, checked without rewriting anything (init's schema comparison alone
    imports pandas through pyarrow)."""
    paths = [f"{wh.table_dir(table)}/{SCHEMA_FILE}" for table in TABLES]
    paths += [wh.catalog_path] if wh.is_local else []
    return all(info.type != pafs.FileType.NotFound for info in wh.fs.get_file_info(paths))


def has_temp_files(wh, table: str) -> bool:
    """Whether a killed writer left temp files in the table (warehouse.store's `_tmp` folder)."""
    selector = pafs.FileSelector(f"{wh.table_dir(table)}/{TMP_DIR}", allow_not_found=True)
    return any(info.path.endswith(".tmp") for info in wh.fs.get_file_info(selector))


def ready(wh, written_tables) -> bool:
    """Set up, and no temp files left in the tables the stage writes."""
    return initialised(wh) and not any(has_temp_files(wh, table) for table in written_tables)
