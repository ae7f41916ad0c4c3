"""The machinery of table definitions: `TableSpec` (a version and a description of every column),
the registry of tables, and what writers and readers do with a spec.

A table's Arrow schema is built from its columns, so the descriptions cannot drift from the
types. `validate` rejects a batch that does not match and names the offending column;
`conform` additionally fills missing nullable columns and casts safe type differences, which
is what writers use so that a producer need not spell out every optional column. The tables
themselves are defined in `schemas.tables`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


class SchemaError(ValueError):
    """A batch does not match its table's schema; the message names the column."""


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    nullable: bool = True
    # A fixed_size_list column whose size depends on configuration (embedding dimension).
    any_list_size: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    version: int
    description: str
    columns: tuple[Column, ...]
    # The columns that identify a row's entity; the catalog's plain view shows the latest row
    # per key (ordered by `order_by`), the `<name>_history` view every row ever written.
    key: tuple[str, ...] = ()
    order_by: str | None = None
    # Rows whose doc_id has a tombstone newer than this column are hidden by the plain view.
    hide_tombstoned_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> pa.Schema:
        fields = [pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns]
        return pa.schema(
            fields,
            metadata={
                b"corpusforge.table": self.name.encode(),
                b"corpusforge.schema_version": str(self.version).encode(),
            },
        )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


TABLES: dict[str, TableSpec] = {}


def register_table(spec: TableSpec) -> TableSpec:
    """Add a table to the registry (stages may register internal tables, e.g. signatures)."""
    TABLES[spec.name] = spec
    return spec


def schema_of(name: str) -> pa.Schema:
    try:
        return TABLES[name].schema
    except KeyError:
        raise SchemaError(f"unknown table {name!r}; known tables: {', '.join(sorted(TABLES))}") from None


def empty_table(name: str) -> pa.Table:
    return schema_of(name).empty_table()


def _types_match(col: Column, actual: pa.DataType) -> bool:
    if actual == col.type:
        return True
    if col.any_list_size and pa.types.is_fixed_size_list(actual) and pa.types.is_fixed_size_list(col.type):
        return actual.value_type == col.type.value_type
    return False


def validate(name: str, batch: pa.Table | pa.RecordBatch) -> None:
    """Raise SchemaError naming the first column that is missing, unexpected, of the wrong
    type, or null where nulls are not allowed."""
    spec = TABLES.get(name)
    if spec is None:
        schema_of(name)  # raises the unknown-table error
    expected = {c.name: c for c in spec.columns}
    for actual in batch.schema:
        if actual.name not in expected:
            raise SchemaError(f"{name}: unexpected column {actual.name!r} (not in schema v{spec.version})")
    for col in spec.columns:
        idx = batch.schema.get_field_index(col.name)
        if idx < 0:
            raise SchemaError(f"{name}: missing column {col.name!r} ({col.type})")
        actual_type = batch.schema.field(idx).type
        if not _types_match(col, actual_type):
            raise SchemaError(f"{name}: column {col.name!r} has type {actual_type}, expected {col.type}")
        if not col.nullable and batch.column(idx).null_count:
            raise SchemaError(f"{name}: column {col.name!r} has nulls but is required")


def conform(name: str, data: pa.Table | pa.RecordBatch | list[dict]) -> pa.Table:
    """Turn rows (dicts) or an Arrow table into a table with exactly this table's schema.

    Missing nullable columns are filled with nulls and castable types are cast; anything else
    (unknown column, uncastable value, a required column missing) raises SchemaError.
    """
    spec = TABLES.get(name)
    if spec is None:
        schema_of(name)
    if isinstance(data, list):
        return _rows_to_table(spec, data)
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    for actual in table.schema:
        if actual.name not in spec.column_names:
            raise SchemaError(f"{name}: unexpected column {actual.name!r} (not in schema v{spec.version})")
    arrays, fields = [], []
    for col in spec.columns:
        if col.name in table.column_names:
            arr = table.column(col.name)
            if not _types_match(col, arr.type):
                try:
                    arr = arr.cast(col.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise SchemaError(
                        f"{name}: column {col.name!r} has type {arr.type}, expected {col.type} ({exc})"
                    ) from None
        else:
            arr = pa.nulls(table.num_rows, type=col.type)
        fields.append(pa.field(col.name, arr.type, nullable=col.nullable))
        arrays.append(arr)
    out = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=spec.schema.metadata))
    validate(name, out)
    return out


def _rows_to_table(spec: TableSpec, rows: list[dict]) -> pa.Table:
    names = set(spec.column_names)
    for row in rows:
        for key in row:
            if key not in names:
                raise SchemaError(f"{spec.name}: unexpected column {key!r} (not in schema v{spec.version})")
    arrays = []
    for col in spec.columns:
        values = [row.get(col.name) for row in rows]
        try:
            arrays.append(pa.array(values, type=col.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
            raise SchemaError(f"{spec.name}: column {col.name!r} cannot hold the given values ({exc})") from None
    out = pa.Table.from_arrays(arrays, schema=spec.schema)
    validate(spec.name, out)
    return out


def record_type(name: str) -> type:
    """A dataclass with one field per column (all optional): the record code passes around."""
    spec = TABLES[name]
    cls_name = "".join(part.title() for part in name.split("_")) + "Record"
    cls = dataclasses.make_dataclass(
        cls_name,
        [(c.name, Any, dataclasses.field(default=None)) for c in spec.columns],
        namespace={"to_dict": lambda self: dataclasses.asdict(self), "table": name},
    )
    cls.__doc__ = spec.description
    return cls


def C(name: str, type_: pa.DataType, description: str, nullable: bool = True, **kw: Any) -> Column:
    return Column(name, type_, description, nullable, **kw)
