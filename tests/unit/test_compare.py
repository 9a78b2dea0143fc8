from __future__ import annotations

from dataclasses import replace

from chconform.model import Column, Index, Snapshot, Table
from chconform.schema.compare import compare, compare_tables

COLS = (Column("id", 1, "String"), Column("city", 2, "LowCardinality(String)"),
        Column("n", 3, "UInt32", "DEFAULT", "0"))
T = Table("zakaz", "t", "table", "ReplacingMergeTree(_ver)", "tuple()", "id", "id",
          settings="index_granularity = 8192", columns=COLS)


def aspects(a: Table, b: Table) -> list[tuple[str, str | None]]:
    return [(d.aspect, d.column) for d in compare_tables(a, b)]


def test_identical_tables_have_no_difference() -> None:
    assert compare_tables(T, replace(T)) == []


def test_each_aspect_is_reported() -> None:
    assert aspects(T, replace(T, engine="MergeTree")) == [("engine", None)]
    assert aspects(T, replace(T, partition_key="toYYYYMM(d)")) == [("partition_key", None)]
    assert aspects(T, replace(T, sorting_key="id, city")) == [("sorting_key", None)]
    assert aspects(T, replace(T, settings="index_granularity = 4096")) == [("settings", None)]
    assert aspects(T, replace(T, ttl="d + toIntervalDay(1)")) == [("ttl", None)]
    assert aspects(T, replace(T, indices=(Index("ix", "set(1)", "id", 1),))) == [("indices", None)]


def test_column_differences() -> None:
    changed = replace(COLS[2], default_expression="1", comment="c", codec="CODEC(ZSTD(1))")
    cols = (COLS[0], replace(COLS[1], type="String"), changed)
    assert aspects(T, replace(T, columns=cols)) == [
        ("column_type", "city"), ("column_default", "n"), ("column_comment", "n"), ("column_codec", "n")]


def test_missing_extra_and_order() -> None:
    got = replace(T, columns=(COLS[1], COLS[0], Column("x", 3, "Date")))
    assert aspects(T, got) == [("column_missing", "n"), ("column_extra", "x"), ("column_order", None)]


def test_view_columns_are_labelled_as_such() -> None:
    view = replace(T, kind="view", engine="View", view_query="SELECT 1")
    retyped = replace(view, columns=(COLS[0], replace(COLS[1], type="String"), COLS[2]))
    assert aspects(view, retyped) == [("view_columns", "city")]


def test_compare_snapshots_only_shared_tables_by_default() -> None:
    other = replace(T, name="u")
    assert compare(Snapshot(tables=(T, other)), Snapshot(tables=(T,))) == []
    drift = compare(Snapshot(tables=(T, other)), Snapshot(tables=(T, replace(T, name="w"))), missing=True)
    assert [(d.object, d.aspect) for d in drift] == [("zakaz.u", "missing_table"), ("zakaz.w", "extra_table")]


def test_snapshot_equality_is_generated() -> None:
    assert Snapshot(tables=(T,)) == Snapshot(tables=(replace(T),))
    assert Snapshot(tables=(T,)) != Snapshot(tables=(replace(T, comment="x"),))


def test_new_aspects_each_report_once() -> None:
    from chconform.model import Constraint, Projection

    ttl = (COLS[0], replace(COLS[1], ttl="d + toIntervalDay(30)"), COLS[2])
    stats = (COLS[0], COLS[1], replace(COLS[2], statistics="(tdigest)"))
    assert aspects(T, replace(T, columns=ttl)) == [("column_ttl", "city")]
    assert aspects(T, replace(T, columns=stats)) == [("column_statistics", "n")]
    assert aspects(T, replace(T, constraints=(Constraint("c", "CHECK", "n > 0"),))) == [("constraints", None)]
    assert aspects(T, replace(T, projections=(Projection("p", "(SELECT id ORDER BY n)"),))) == [("projections", None)]
    mv = replace(T, kind="materialized_view", target="zakaz.a")
    assert aspects(mv, replace(mv, target="zakaz.b")) == [("mv_target", None)]
    d = replace(T, kind="dictionary", source="CLICKHOUSE(TABLE 's')", layout="FLAT()", lifetime="MIN 0 MAX 1")
    assert aspects(d, replace(d, source="NULL()")) == [("dictionary_source", None)]
    assert aspects(d, replace(d, layout="HASHED()")) == [("dictionary_layout", None)]
    assert aspects(d, replace(d, lifetime="MIN 0 MAX 2")) == [("dictionary_lifetime", None)]
    assert aspects(d, replace(d, range="MIN a MAX b")) == [("dictionary_range", None)]
    opts = (COLS[0], replace(COLS[1], options="INJECTIVE"), COLS[2])
    assert aspects(d, replace(d, columns=opts)) == [("column_options", "city")]


def test_the_catch_all_reports_only_what_nothing_modelled_explains() -> None:
    plain = replace(T, create_rest="TABLE")
    unmodelled = replace(T, create_rest="TABLE `city` SETTINGS (max_compress_block_size = 65536)")
    assert aspects(plain, unmodelled) == [("create_query", None)]
    assert aspects(plain, replace(unmodelled, engine="MergeTree")) == [("engine", None)]  # one finding per cause
    assert aspects(plain, replace(plain)) == []


def test_functions_are_compared_by_name() -> None:
    from chconform.model import Function

    f1, f2 = Function("f", "CREATE FUNCTION f AS x -> (x + 1)"), Function("f", "CREATE FUNCTION f AS x -> (x + 2)")
    g = Function("g", "CREATE FUNCTION g AS x -> x")
    assert [(d.object, d.aspect) for d in compare(Snapshot(functions=(f1, g)), Snapshot(functions=(f2,)))] == [
        ("f", "function")]
    drift = compare(Snapshot(functions=(f1, g)), Snapshot(functions=(f1, replace(g, name="h"))), missing=True)
    assert [(d.object, d.aspect) for d in drift] == [("g", "missing_function"), ("h", "extra_function")]


def test_a_dictionary_whose_key_moves_reports_the_key_not_the_order() -> None:
    d = replace(T, kind="dictionary", primary_key="id")
    moved = replace(d, primary_key="city", columns=(COLS[1], COLS[0], COLS[2]))
    assert aspects(d, moved) == [("primary_key", None)]
    assert aspects(d, replace(d, columns=(COLS[1], COLS[0], COLS[2]))) == [("column_order", None)]


def test_a_codec_width_that_follows_the_type_is_the_types_difference() -> None:
    ts = Column("ts", 1, "DateTime", codec="CODEC(Delta(4), ZSTD(1))")
    t = replace(T, columns=(ts,))
    wider = replace(ts, type="DateTime64(3)", codec="CODEC(Delta(8), ZSTD(1))")
    assert aspects(t, replace(t, columns=(wider,))) == [("column_type", "ts")]
    assert aspects(t, replace(t, columns=(replace(ts, codec="CODEC(Delta(8), ZSTD(1))"),))) == [("column_codec", "ts")]
    other = replace(wider, codec="CODEC(Delta(8), ZSTD(3))")
    assert aspects(t, replace(t, columns=(other,))) == [("column_type", "ts"), ("column_codec", "ts")]
