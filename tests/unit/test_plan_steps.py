"""The plan's SQL from two snapshots (pure): in place where ClickHouse allows it, a rebuild where it does not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chconform.model import Column, Constraint, Index, Projection, Snapshot, Table
from chconform.plan.steps import column_definition, plan_steps

COLS = (Column("id", 1, "UInt64"), Column("city", 2, "LowCardinality(String)"),
        Column("n", 3, "UInt32", "DEFAULT", "0"), Column("d", 4, "Date"))
CANON = Table("db", "t", "table", engine="MergeTree", partition_key="toYYYYMM(d)", sorting_key="id",
              primary_key="id", settings="index_granularity = 8192", columns=COLS)
CREATE = ("CREATE TABLE db.t (`id` UInt64, `city` LowCardinality(String), `n` UInt32 DEFAULT 0, `d` Date) "
          "ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id SETTINGS index_granularity = 8192")


def plan(got: Table | None, want: Table = CANON, readonly: tuple[str, ...] = ("index_granularity",)) -> list:
    actual = Snapshot(("db",), (got,) if got else ())
    return plan_steps(Snapshot(("db",), (want,)), actual, {"db.t": CREATE}, readonly)


def sql(got: Table | None, **kw) -> str:
    return "\n".join(s.statement for s in plan(got, **kw))


def cols(*changes: tuple[str, dict]) -> tuple[Column, ...]:
    edits = dict(changes)
    return tuple(replace(c, **edits[c.name]) if c.name in edits else c for c in COLS)


def test_nothing_to_do() -> None:
    assert plan(CANON) == []


def test_a_missing_table_is_created_if_not_exists() -> None:
    (step,) = plan(None)
    assert step.kind == "create" and step.statement == CREATE.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)


def test_column_type_in_place() -> None:
    got = replace(CANON, columns=cols(("n", {"type": "UInt16"})))
    (step,) = plan(got)
    assert step.kind == "in_place"
    assert step.statement == "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32 DEFAULT 0"


def test_a_key_columns_type_needs_a_rebuild() -> None:
    got = replace(CANON, columns=cols(("id", {"type": "UInt32"})))
    (step,) = plan(got)
    assert step.kind == "rebuild"
    lines = step.statement.split(";\n")
    assert lines[0].startswith("CREATE TABLE IF NOT EXISTS db.`t__chconform_rebuild` (")
    assert "CAST(`id` AS UInt64)" in lines[1] and "WHERE (SELECT count() FROM `db`.`t__chconform_rebuild`) = 0" in lines[1]
    assert lines[2] == "EXCHANGE TABLES `db`.`t` AND `db`.`t__chconform_rebuild`"
    assert lines[3].endswith("DROP TABLE IF EXISTS `db`.`t__chconform_rebuild`")
    assert "ignore[drop_not_recreated]" in lines[3]


@pytest.mark.parametrize("change", [
    {"engine": "ReplacingMergeTree"}, {"partition_key": "d"}, {"sorting_key": "(city, id)"},
    {"settings": "index_granularity = 1024"},
], ids=["engine", "partition", "sorting-not-append", "readonly-setting"])
def test_rebuilds(change: dict) -> None:
    assert [s.kind for s in plan(replace(CANON, **change))] == ["rebuild"]


def test_nullable_to_plain_keeps_rows_with_the_types_default() -> None:
    got = replace(CANON, columns=cols(("id", {"type": "Nullable(UInt64)"})), sorting_key="id", primary_key="id")
    assert "CAST(ifNull(`id`, defaultValueOfTypeName('UInt64')) AS UInt64)" in sql(got)


def test_missing_and_extra_columns() -> None:
    got = replace(CANON, columns=COLS[:3] + (Column("legacy", 4, "String"),))
    text = sql(got)
    assert "ALTER TABLE `db`.`t` DROP COLUMN IF EXISTS `legacy`" in text
    assert "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `d` Date AFTER `n`" in text
    (step,) = plan(got)
    assert step.note == "the values of column legacy are dropped"


def test_same_type_same_place_is_a_rename() -> None:
    got = replace(CANON, columns=COLS[:3] + (Column("day", 4, "Date"),))
    assert sql(got) == "ALTER TABLE `db`.`t` RENAME COLUMN IF EXISTS `day` TO `d`"


def test_order_by_append_adds_the_column_in_the_same_alter() -> None:
    want = replace(CANON, sorting_key="id, v", primary_key="id, v", columns=COLS + (Column("v", 5, "UInt8"),))
    text = sql(CANON, want=want)
    assert text == "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `v` UInt8 AFTER `d`, MODIFY ORDER BY (id, v)"


def test_removing_a_property_sets_it_first_so_it_can_run_again() -> None:
    got = replace(CANON, columns=cols(("city", {"codec": "CODEC(ZSTD(1))", "comment": "x"}),
                                      ("n", {"default_kind": "", "default_expression": ""})))
    got = replace(got, columns=tuple(replace(c, default_kind="DEFAULT", default_expression="1") if c.name == "d" else c
                                     for c in got.columns))
    text = sql(got)
    assert ("MODIFY COLUMN IF EXISTS `city` LowCardinality(String) CODEC(ZSTD(1));\n"
            "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `city` REMOVE CODEC") in text
    assert "COMMENT COLUMN IF EXISTS `city` ''" in text
    assert "MODIFY COLUMN IF EXISTS `n` UInt32 DEFAULT 0" in text
    assert "MODIFY COLUMN IF EXISTS `d` Date DEFAULT 1;\nALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `d` REMOVE DEFAULT" in text


def test_elements_ttl_settings_comment() -> None:
    want = replace(CANON, indices=(Index("i", "minmax", "n", 1),), projections=(Projection("p", "(SELECT id ORDER BY n)"),),
                   constraints=(Constraint("c", "CHECK", "n < 10"),), ttl="d + toIntervalDay(30)",
                   settings="index_granularity = 8192, merge_with_ttl_timeout = 60", comment="facts")
    got = replace(CANON, indices=(Index("i", "set(10)", "n", 1),), constraints=(Constraint("old", "CHECK", "1"),))
    text = sql(got, want=want)
    for part in ("DROP INDEX IF EXISTS `i`", "ADD INDEX IF NOT EXISTS `i` n TYPE minmax GRANULARITY 1",
                 "ADD PROJECTION IF NOT EXISTS `p` (SELECT id ORDER BY n)", "DROP CONSTRAINT IF EXISTS `old`",
                 "ADD CONSTRAINT IF NOT EXISTS `c` CHECK n < 10", "MODIFY TTL d + toIntervalDay(30)",
                 "MODIFY SETTING merge_with_ttl_timeout = 60", "MODIFY COMMENT 'facts'"):
        assert part in text, part
    assert "REMOVE TTL" in sql(replace(CANON, ttl="d + toIntervalDay(1)"))


def test_views_and_materialized_views() -> None:
    view = Table("db", "v", "view", view_query="SELECT 1", columns=(Column("x", 1, "UInt8"),))
    mv = Table("db", "m", "materialized_view", view_query="SELECT id FROM db.t", target="",
               columns=(Column("id", 1, "UInt64"),))
    canon = Snapshot(("db",), (view, mv))
    actual = Snapshot(("db",), (replace(view, view_query="SELECT 2"), replace(mv, view_query="SELECT 1 AS id")))
    creates = {"db.v": "CREATE VIEW db.v (`x` UInt8) AS SELECT 1", "db.m": "CREATE MATERIALIZED VIEW db.m AS SELECT id FROM db.t"}
    steps = plan_steps(canon, actual, creates)
    assert [s.kind for s in steps] == ["view", "materialized_view"]
    assert steps[0].statement == "CREATE OR REPLACE VIEW db.v (`x` UInt8) AS SELECT 1"
    assert steps[1].statement == "DROP VIEW IF EXISTS `db`.`m`;\nCREATE MATERIALIZED VIEW IF NOT EXISTS db.m AS SELECT id FROM db.t"
    assert "not backfilled" in steps[1].note and "stored rows are dropped" in steps[1].note


def test_tables_that_failed_in_place_are_rebuilt_when_asked() -> None:
    got = replace(CANON, columns=cols(("n", {"type": "UInt16"})))
    steps = plan_steps(Snapshot(("db",), (CANON,)), Snapshot(("db",), (got,)), {"db.t": CREATE}, (), None, {"db.t"})
    assert [s.kind for s in steps] == ["rebuild"]


def test_a_known_read_only_setting_is_rebuilt_even_where_the_engine_does_not_say() -> None:
    assert [s.kind for s in plan(replace(CANON, settings="index_granularity = 1024"), readonly=())] == ["rebuild"]


def test_a_plan_never_drops_a_table_the_canon_lacks() -> None:
    extra = Table("db", "other", "table", engine="Memory")
    assert plan_steps(Snapshot(("db",), (CANON,)), Snapshot(("db",), (CANON, extra)), {"db.t": CREATE}) == []


def test_column_definition_order_every_release_accepts() -> None:
    c = Column("a", 1, "String", "DEFAULT", "'x'", "note", "CODEC(ZSTD(1))", "d + toIntervalDay(1)")
    assert column_definition(c) == "`a` String DEFAULT 'x' COMMENT 'note' CODEC(ZSTD(1)) TTL d + toIntervalDay(1)"
