"""Every table's schema round-trips through Parquet and DuckDB; bad batches name their column."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpusforge.schemas import CORE_TABLES, TABLES, SchemaError, conform, record_type, schema_of, validate


def _sample_value(t: pa.DataType):
    if pa.types.is_string(t):
        return "x"
    if pa.types.is_binary(t):
        return b"\x00\x01"
    if pa.types.is_boolean(t):
        return True
    if pa.types.is_integer(t):
        return 7
    if pa.types.is_floating(t):
        return 0.5
    if pa.types.is_timestamp(t):
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    if pa.types.is_map(t):
        return [("k", _sample_value(t.item_type))]
    if pa.types.is_fixed_size_list(t):
        return [0.25] * t.list_size
    if pa.types.is_list(t):
        return [_sample_value(t.value_type)]
    if pa.types.is_struct(t):
        return {f.name: _sample_value(f.type) for f in t}
    raise AssertionError(f"no sample for {t}")


def sample_row(name: str) -> dict:
    return {c.name: _sample_value(c.type) for c in TABLES[name].columns}


def test_core_tables_are_registered_with_versions_and_descriptions():
    assert set(CORE_TABLES) <= set(TABLES)
    for name in CORE_TABLES:
        spec = TABLES[name]
        assert spec.version >= 1
        for col in spec.columns:
            assert col.description.strip(), f"{name}.{col.name} has no description"


@pytest.mark.parametrize("name", CORE_TABLES)
def test_schema_round_trips_through_parquet_and_duckdb(name, tmp_path):
    import duckdb

    table = conform(
        name,
        [
            sample_row(name),
            {c.name: None for c in TABLES[name].columns if c.nullable}
            | {c.name: _sample_value(c.type) for c in TABLES[name].columns if not c.nullable},
        ],
    )
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table, path)
    back = pq.read_table(path)
    assert back.schema.equals(schema_of(name), check_metadata=False)
    assert back.to_pylist() == table.to_pylist()
    rows = duckdb.sql(f"select * from read_parquet('{path}')").fetchall()
    assert len(rows) == 2
    cols = [d[0] for d in duckdb.sql(f"select * from read_parquet('{path}')").description]
    assert cols == TABLES[name].column_names


def test_validate_names_the_wrong_type_column():
    good = conform("tombstones", [sample_row("tombstones")])
    bad = good.set_column(good.schema.get_field_index("status"), "status", pa.array(["oops"]))
    with pytest.raises(SchemaError, match="column 'status' has type string"):
        validate("tombstones", bad)


def test_validate_names_missing_and_unexpected_columns():
    good = conform("tombstones", [sample_row("tombstones")])
    with pytest.raises(SchemaError, match="missing column 'reason'"):
        validate("tombstones", good.drop_columns(["reason"]))
    with pytest.raises(SchemaError, match="unexpected column 'colour'"):
        conform("tombstones", [sample_row("tombstones") | {"colour": "red"}])


def test_required_column_may_not_be_null():
    row = sample_row("tombstones") | {"doc_id": None}
    with pytest.raises(SchemaError, match="'doc_id' has nulls but is required"):
        conform("tombstones", [row])


def test_uncastable_value_names_the_column():
    with pytest.raises(SchemaError, match="column 'status'"):
        conform("tombstones", [sample_row("tombstones") | {"status": "four-oh-four"}])


def test_record_type_has_a_field_per_column():
    Page = record_type("pages")
    page = Page(url="http://a/", source="s")
    assert page.url == "http://a/" and page.body is None
    assert set(page.to_dict()) == set(TABLES["pages"].column_names)
