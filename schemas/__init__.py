"""Every table of the warehouse: its Arrow schema, version and column descriptions.

This is the one place where tables and their columns are defined. `schemas.tables` holds the
eight tables of the architecture; stages that keep internal state (signatures, embeddings,
...) define their tables in a module of their own here, and every module of this package is
imported (with pyarrow) when one of the names below is first asked for, so that the registry
always knows every table, and `corpusforge.schemas.config` loads without pyarrow (the CLI's
start-up).
"""

import importlib
import pkgutil


def _load_registry() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if module != "config":  # config is the YAML model, not a table
            importlib.import_module(f"{__name__}.{module}")


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _load_registry()
    value = getattr(importlib.import_module(f"{__name__}.tables"), name)
    globals()[name] = value
    return value


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
