"""Every table of the warehouse: its Arrow schema, version and column descriptions.

This is the one place where tables and their columns are defined. `schemas.tables` holds the
eight tables of the architecture; stages that keep internal state (signatures, embeddings,
...) define their tables in a module of their own here, and every module of this package is
imported below so that the registry always knows every table.
"""

import importlib
import pkgutil

from corpusforge.schemas.tables import (
    CORE_TABLES,
    TABLES,
    Column,
    SchemaError,
    TableSpec,
    conform,
    empty_table,
    record_type,
    register_table,
    schema_of,
    validate,
)

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in ("tables", "config"):  # config is the YAML model, not a table
        importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "CORE_TABLES",
    "TABLES",
    "Column",
    "SchemaError",
    "TableSpec",
    "conform",
    "empty_table",
    "record_type",
    "register_table",
    "schema_of",
    "validate",
]
