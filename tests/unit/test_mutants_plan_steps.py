"""The exact SQL `chconform plan` writes (pure): every step kind, its quoting and literals, and the order of steps.

These statements are what users run against production, so each test spells out the whole statement."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chconform.model import Column, Constraint, Index, Projection, Snapshot, Table
from chconform.plan import steps
from chconform.plan.steps import Step, column_definition, literal, plan_steps, quote

ID, NAME, N, D = (Column("id", 1, "UInt64"), Column("name", 2, "String"), Column("n", 3, "UInt32"),
                  Column("d", 4, "Date"))
T = Table("db", "t", "table", engine="MergeTree", sorting_key="id", primary_key="id", columns=(ID, NAME, N, D))
CREATE_T = "CREATE TABLE db.t (`id` UInt64, `name` String, `n` UInt32, `d` Date) ENGINE = MergeTree ORDER BY id"


def steps_of(want: Table, got: Table | None, create: str = CREATE_T, **kw) -> list[Step]:
    actual = Snapshot((want.database,), (got,) if got is not None else ())
    return plan_steps(Snapshot((want.database,), (want,)), actual, {want.fqn: create}, **kw)


def alters(want: Table, got: Table) -> list[str]:
    """The statements of the one in-place step."""
    (step,) = steps_of(want, got)
    assert step.kind == "in_place" and step.tables == (want.fqn,)
    return step.statement.split(";\n")


def with_cols(table: Table, *cols: Column) -> Table:
    return replace(table, columns=cols)


# quoting and literals


def test_quote_escapes_backslash_then_backtick() -> None:
    assert quote("plain") == "`plain`"
    assert quote("a`b") == "`a\\`b`"
    assert quote("a\\b") == "`a\\\\b`"
    assert quote("x\\`") == "`x\\\\\\``"


def test_literal_escapes_backslash_then_quote() -> None:
    assert literal("") == "''"
    assert literal("it's") == "'it\\'s'"
    assert literal("a\\b") == "'a\\\\b'"
    assert literal("\\'") == "'\\\\\\''"


def test_odd_database_and_table_names_are_quoted_in_every_alter() -> None:
    want = Table("my db", "t`1", "table", engine="MergeTree", sorting_key="id", primary_key="id", columns=(ID, NAME))
    got = with_cols(want, ID)
    (step,) = plan_steps(Snapshot(("my db",), (want,)), Snapshot(("my db",), (got,)), {})
    assert step.statement == "ALTER TABLE `my db`.`t\\`1` ADD COLUMN IF NOT EXISTS `name` String AFTER `id`"
    assert step.tables == ("my db.t`1",)


def test_a_database_the_actual_side_lacks_is_created_first_quoted_and_sorted() -> None:
    a = Table("b db", "x", "table", engine="Memory", columns=(ID,))
    b = Table("a`db", "y", "table", engine="Memory", columns=(ID,))
    c = Table("kept", "z", "table", engine="Memory", columns=(ID,))
    canon = Snapshot(("b db", "a`db", "kept"), (a, b, c))
    creates = {"b db.x": "CREATE TABLE `b db`.x (`id` UInt64) ENGINE = Memory",
               "a`db.y": "CREATE TABLE `a\\`db`.y (`id` UInt64) ENGINE = Memory",
               "kept.z": "CREATE TABLE kept.z (`id` UInt64) ENGINE = Memory"}
    out = plan_steps(canon, Snapshot(("kept",), ()), creates)
    assert out == [
        Step("create", "CREATE DATABASE IF NOT EXISTS `a\\`db`", ()),
        Step("create", "CREATE DATABASE IF NOT EXISTS `b db`", ()),
        Step("create", "CREATE TABLE IF NOT EXISTS `a\\`db`.y (`id` UInt64) ENGINE = Memory", ("a`db.y",)),
        Step("create", "CREATE TABLE IF NOT EXISTS `b db`.x (`id` UInt64) ENGINE = Memory", ("b db.x",)),
        Step("create", "CREATE TABLE IF NOT EXISTS kept.z (`id` UInt64) ENGINE = Memory", ("kept.z",)),
    ]


def test_a_database_the_actual_side_has_tables_in_is_not_created() -> None:
    other = Table("db", "other", "table", engine="Memory", columns=(ID,))
    out = plan_steps(Snapshot(("db",), (T,)), Snapshot((), (other,)), {"db.t": CREATE_T})
    assert out == [Step("create", CREATE_T.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1), ("db.t",))]


# column definitions


def test_column_definition_parts_in_order() -> None:
    assert column_definition(Column("a", 1, "String")) == "`a` String"
    assert column_definition(Column("a", 1, "String", "MATERIALIZED", "upper(b)")) == "`a` String MATERIALIZED upper(b)"
    c = Column("a b", 1, "String", "DEFAULT", "'x'", "it's", "ZSTD(3)", "d + toIntervalDay(1)")
    assert column_definition(c) == "`a b` String DEFAULT 'x' COMMENT 'it\\'s' CODEC(ZSTD(3)) TTL d + toIntervalDay(1)"
    assert column_definition(c, comment=False) == "`a b` String DEFAULT 'x' CODEC(ZSTD(3)) TTL d + toIntervalDay(1)"
    assert column_definition(Column("a", 1, "String", comment="")) == "`a` String"


def test_a_codec_already_written_as_codec_is_kept_in_any_case() -> None:
    assert column_definition(Column("a", 1, "UInt8", codec="CODEC(Delta, LZ4)")) == "`a` UInt8 CODEC(Delta, LZ4)"
    assert column_definition(Column("a", 1, "UInt8", codec="codec(LZ4)")) == "`a` UInt8 codec(LZ4)"
    assert column_definition(Column("a", 1, "UInt8", codec="LZ4")) == "`a` UInt8 CODEC(LZ4)"


# keys and settings


@pytest.mark.parametrize(("key", "parts"), [
    ("", []), ("id", ["id"]), ("  id  ", ["id"]), ("id, d", ["id", "d"]), ("(id, d)", ["id", "d"]),
    (" (id, d) ", ["id", "d"]), ("(id)", ["id"]), ("(a), (b)", ["(a)", "(b)"]), ("(a), b", ["(a)", "b"]),
    ("a, (b)", ["a", "(b)"]), ("tuple()", ["tuple()"]), ("(f(a, b), c)", ["f(a, b)", "c"]), ("()", []),
    ("a,,b", ["a", "b"]),
], ids=repr)
def test_key_parts(key: str, parts: list[str]) -> None:
    assert steps._key_parts(key) == parts


def test_settings_split_at_the_first_equals_sign() -> None:
    assert steps._settings("") == {}
    assert steps._settings("a = 1, b=2,  c =  'x=y' ") == {"a": "1", "b": "2", "c": "'x=y'"}


# why a table is rebuilt


def reasons(want: Table, got: Table, readonly: frozenset[str] = frozenset()) -> list[str]:
    return steps._rebuild_reasons(want, got, readonly)


def test_no_reason_to_rebuild_an_equal_table() -> None:
    assert reasons(T, T) == []


@pytest.mark.parametrize(("change", "why"), [
    ({"engine": "ReplacingMergeTree"}, "engine"), ({"partition_key": "d"}, "partition key"),
    ({"sampling_key": "id"}, "sampling key"), ({"replication": "'/p', 'r'"}, "replication"),
    ({"create_rest": "x"}, "create rest"),
], ids=lambda v: v if isinstance(v, str) else next(iter(v)))
def test_each_table_aspect_no_alter_changes_is_a_reason(change: dict, why: str) -> None:
    assert reasons(replace(T, **change), T) == [why]


def test_a_changed_kind_says_what_becomes_what() -> None:
    assert reasons(replace(T, kind="dictionary"), T) == ["a table becomes a dictionary"]


def test_several_reasons_in_their_order() -> None:
    want = replace(T, engine="ReplacingMergeTree", partition_key="d", sampling_key="id", replication="r", create_rest="x")
    assert reasons(want, T) == ["engine", "partition key", "sampling key", "replication", "create rest"]


def test_a_sorting_key_that_appends_only_new_columns_is_no_reason() -> None:
    v, w = Column("v", 5, "UInt8"), Column("w", 6, "UInt8")
    assert reasons(replace(T, sorting_key="id, v", primary_key="id, v", columns=T.columns + (v,)), T) == []
    assert reasons(replace(T, sorting_key="(id, v, w)", primary_key="(id, v, w)", columns=T.columns + (v, w)), T) == []
    assert reasons(replace(T, sorting_key="id, v", primary_key="id", columns=T.columns + (v,)), T) == []


@pytest.mark.parametrize("key", ["id, name", "name, id", "name", "v, id", "id, v, name", "id, v, v2"])
def test_a_sorting_key_that_does_more_than_append_new_columns_is_a_reason(key: str) -> None:
    want = replace(T, sorting_key=key, primary_key=key, columns=T.columns + (Column("v", 5, "UInt8"),))
    assert reasons(want, T) == ["a sorting key that does not only append new columns"]


def test_a_shorter_sorting_key_is_a_reason() -> None:
    got = replace(T, sorting_key="id, name", primary_key="id, name")
    assert reasons(T, got) == ["a sorting key that does not only append new columns"]


def test_a_primary_key_apart_from_the_sorting_key_is_a_reason() -> None:
    got = replace(T, sorting_key="id, name", primary_key="id")
    assert reasons(replace(got, primary_key="id, name"), got) == ["primary key"]
    assert reasons(got, replace(got, primary_key="id, name")) == ["primary key"]
    assert reasons(replace(got, primary_key="(id)"), got) == []  # the same key, spelled apart


def test_a_primary_key_that_follows_the_sorting_key_on_both_sides_is_the_sorting_keys_business() -> None:
    v = Column("v", 5, "UInt8")
    assert reasons(replace(T, sorting_key="id, v", primary_key="id, v", columns=T.columns + (v,)), T) == []


@pytest.mark.parametrize("key", [{"sorting_key": "(name, id)", "primary_key": "(name, id)"},
                                 {"partition_key": "name"}, {"primary_key": "name", "sorting_key": "name, id"}],
                         ids=["sorting", "partition", "primary"])
def test_a_key_columns_type_change_is_a_reason(key: dict) -> None:
    got = replace(T, **key)
    want = replace(got, columns=(ID, replace(NAME, type="LowCardinality(String)"), N, D))
    assert reasons(want, got) == ["the key column name changes type"]


def test_a_type_change_outside_the_keys_is_no_reason() -> None:
    assert reasons(with_cols(T, ID, NAME, replace(N, type="UInt64"), D), T) == []


def test_becoming_or_ceasing_to_be_an_alias_is_a_reason() -> None:
    alias = replace(N, default_kind="ALIAS", default_expression="id + 1")
    default = replace(N, default_kind="DEFAULT", default_expression="1")
    assert reasons(with_cols(T, ID, NAME, alias, D), T) == ["n becomes or stops being an ALIAS"]
    assert reasons(T, with_cols(T, ID, NAME, alias, D)) == ["n becomes or stops being an ALIAS"]
    assert reasons(with_cols(T, ID, NAME, alias, D), with_cols(T, ID, NAME, default, D)) == \
        ["n becomes or stops being an ALIAS"]
    assert reasons(with_cols(T, ID, NAME, default, D), T) == []
    assert reasons(with_cols(T, ID, NAME, replace(alias, default_expression="id + 2"), D),
                   with_cols(T, ID, NAME, alias, D)) == []


def test_a_read_only_setting_set_changed_or_reset_is_a_reason_named_in_order() -> None:
    got = replace(T, settings="index_granularity = 8192, b = 1")
    ro = frozenset({"b", "index_granularity", "c"})
    assert reasons(replace(got, settings="index_granularity = 1024, b = 1"), got, ro) == \
        ["read-only setting index_granularity"]
    assert reasons(replace(got, settings="index_granularity = 8192, c = 2, b = 2"), got, ro) == \
        ["read-only setting b, c"]
    assert reasons(replace(got, settings=""), got, ro) == ["read-only setting b, index_granularity"]
    assert reasons(replace(got, settings="b = 1, index_granularity = 8192"), got, ro) == []
    assert reasons(replace(got, settings="index_granularity = 8192, b = 1, other = 2"), got, ro) == []


# in place: columns


def test_a_new_column_is_added_after_its_predecessor_and_first_when_it_leads() -> None:
    assert alters(T, with_cols(T, ID, NAME, N)) == ["ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `d` Date AFTER `n`"]
    got = with_cols(T, replace(NAME, position=1), replace(N, position=2), replace(D, position=3))
    assert alters(T, got) == ["ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `id` UInt64 FIRST"]


def test_a_new_columns_comment_is_set_apart_and_its_other_properties_in_the_add() -> None:
    new = Column("c", 5, "String", "DEFAULT", "'-'", "it's new", "ZSTD(1)", "d + toIntervalDay(7)")
    assert alters(with_cols(T, ID, NAME, N, D, new), T) == [
        "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `c` String DEFAULT '-' CODEC(ZSTD(1)) TTL d + toIntervalDay(7) "
        "AFTER `d`",
        "ALTER TABLE `db`.`t` COMMENT COLUMN IF EXISTS `c` 'it\\'s new'",
    ]


def test_an_extra_column_is_dropped_with_a_note_per_column() -> None:
    got = with_cols(T, ID, NAME, N, D, Column("x", 5, "String"), Column("y", 6, "UInt8"))
    (step,) = steps_of(T, got)
    assert step.statement == ("ALTER TABLE `db`.`t` DROP COLUMN IF EXISTS `x`;\n"
                              "ALTER TABLE `db`.`t` DROP COLUMN IF EXISTS `y`")
    assert step.note == "the values of column x are dropped; the values of column y are dropped"


def test_a_column_of_the_same_type_in_the_same_place_is_renamed() -> None:
    got = with_cols(T, ID, Column("title", 2, "String"), N, Column("day", 4, "Date"))
    (step,) = steps_of(T, got)
    assert step.statement == ("ALTER TABLE `db`.`t` RENAME COLUMN IF EXISTS `title` TO `name`;\n"
                              "ALTER TABLE `db`.`t` RENAME COLUMN IF EXISTS `day` TO `d`")
    assert step.note == ""


def test_a_renamed_column_that_also_changes_is_modified_under_its_new_name() -> None:
    got = with_cols(T, ID, Column("title", 2, "String", comment="old"), N, D)
    assert alters(T, got) == ["ALTER TABLE `db`.`t` RENAME COLUMN IF EXISTS `title` TO `name`",
                              "ALTER TABLE `db`.`t` COMMENT COLUMN IF EXISTS `name` ''"]


def test_another_type_or_place_is_a_drop_and_an_add_not_a_rename() -> None:
    got = with_cols(T, ID, Column("title", 2, "FixedString(8)"), N, D)
    assert alters(T, got) == ["ALTER TABLE `db`.`t` DROP COLUMN IF EXISTS `title`",
                              "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `name` String AFTER `id`"]
    got = with_cols(T, ID, N, D, Column("title", 5, "String"))
    want = with_cols(T, ID, replace(N, position=2), replace(D, position=3), replace(NAME, position=4))
    assert alters(want, got) == ["ALTER TABLE `db`.`t` DROP COLUMN IF EXISTS `title`",
                                 "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `name` String AFTER `d`"]


def test_two_missing_columns_of_one_type_take_the_extra_one_in_their_own_place_only() -> None:
    a, b = Column("a", 2, "String"), Column("b", 3, "String")
    want = with_cols(T, ID, a, b)
    got = with_cols(T, ID, Column("x", 3, "String"))
    assert alters(want, got) == ["ALTER TABLE `db`.`t` RENAME COLUMN IF EXISTS `x` TO `b`",
                                 "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `a` String AFTER `id`"]


def test_reordered_columns_are_moved_with_first_and_after() -> None:
    got = with_cols(T, replace(NAME, position=1), replace(ID, position=2), N, D)
    assert alters(T, got) == ["ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `id` UInt64 FIRST",
                              "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `name` String AFTER `id`",
                              "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32 AFTER `name`",
                              "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `d` Date AFTER `n`"]


def test_a_dropped_column_does_not_count_as_a_reorder() -> None:
    got = with_cols(T, ID, Column("x", 2, "UInt8"), replace(NAME, position=3), replace(N, position=4),
                    replace(D, position=5))
    assert alters(T, got) == ["ALTER TABLE `db`.`t` DROP COLUMN IF EXISTS `x`"]


def test_a_renamed_column_in_its_place_does_not_count_as_a_reorder() -> None:
    got = with_cols(T, Column("key", 1, "UInt64"), NAME, N, D)
    assert alters(T, got) == ["ALTER TABLE `db`.`t` RENAME COLUMN IF EXISTS `key` TO `id`"]


@pytest.mark.parametrize(("old", "new", "statement"), [
    ({"type": "UInt16"}, {}, "MODIFY COLUMN IF EXISTS `n` UInt32"),
    ({}, {"default_kind": "DEFAULT", "default_expression": "7"}, "MODIFY COLUMN IF EXISTS `n` UInt32 DEFAULT 7"),
    ({"default_kind": "DEFAULT", "default_expression": "7"}, {"default_kind": "MATERIALIZED", "default_expression": "7"},
     "MODIFY COLUMN IF EXISTS `n` UInt32 MATERIALIZED 7"),
    ({"default_kind": "DEFAULT", "default_expression": "7"}, {"default_kind": "DEFAULT", "default_expression": "8"},
     "MODIFY COLUMN IF EXISTS `n` UInt32 DEFAULT 8"),
    ({}, {"codec": "Delta, ZSTD"}, "MODIFY COLUMN IF EXISTS `n` UInt32 CODEC(Delta, ZSTD)"),
    ({"codec": "CODEC(LZ4)"}, {"codec": "CODEC(ZSTD(1))"}, "MODIFY COLUMN IF EXISTS `n` UInt32 CODEC(ZSTD(1))"),
    ({}, {"ttl": "d + toIntervalDay(1)"}, "MODIFY COLUMN IF EXISTS `n` UInt32 TTL d + toIntervalDay(1)"),
    ({"ttl": "d + toIntervalDay(2)"}, {"ttl": "d + toIntervalDay(1)"},
     "MODIFY COLUMN IF EXISTS `n` UInt32 TTL d + toIntervalDay(1)"),
    ({}, {"comment": "count's"}, "COMMENT COLUMN IF EXISTS `n` 'count\\'s'"),
], ids=["type", "default-added", "default-kind", "default-expression", "codec-added", "codec-changed", "ttl-added",
        "ttl-changed", "comment"])
def test_each_column_property_is_modified_alone(old: dict, new: dict, statement: str) -> None:
    assert alters(with_cols(T, ID, NAME, replace(N, **new), D), with_cols(T, ID, NAME, replace(N, **old), D)) == \
        [f"ALTER TABLE `db`.`t` {statement}"]


def test_a_property_the_canon_lacks_is_set_then_removed_so_the_pair_runs_again() -> None:
    old = replace(N, type="UInt16", default_kind="MATERIALIZED", default_expression="id % 7", comment="c",
                  codec="ZSTD(1)", ttl="d + toIntervalDay(3)")
    assert alters(T, with_cols(T, ID, NAME, old, D)) == [
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32 MATERIALIZED id % 7",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` REMOVE MATERIALIZED",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32 CODEC(ZSTD(1))",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` REMOVE CODEC",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32 TTL d + toIntervalDay(3)",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` REMOVE TTL",
        "ALTER TABLE `db`.`t` COMMENT COLUMN IF EXISTS `n` ''",
    ]


def test_removing_a_codec_written_as_codec_keeps_its_spelling() -> None:
    assert alters(T, with_cols(T, ID, NAME, replace(N, codec="codec(T64)"), D)) == [
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32 codec(T64)",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` REMOVE CODEC",
    ]


def test_removing_a_default_only() -> None:
    assert alters(T, with_cols(T, ID, NAME, replace(N, default_kind="DEFAULT", default_expression="1"), D)) == [
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32 DEFAULT 1",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` REMOVE DEFAULT",
    ]


def test_an_order_by_that_appends_new_columns_adds_them_in_its_own_alter() -> None:
    v, w = Column("v", 5, "UInt8"), Column("w", 6, "String", comment="w's")
    want = replace(T, sorting_key="id, v", primary_key="id, v", columns=T.columns + (v, w))
    assert alters(want, T) == [
        "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `w` String AFTER `v`",
        "ALTER TABLE `db`.`t` COMMENT COLUMN IF EXISTS `w` 'w\\'s'",
        "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `v` UInt8 AFTER `d`, MODIFY ORDER BY (id, v)",
    ]


def test_an_order_by_in_brackets_appending_two_columns() -> None:
    v, w = Column("v", 5, "UInt8"), Column("w", 6, "UInt8")
    got = replace(T, sorting_key="(id)", primary_key="(id)")
    want = replace(T, sorting_key="id, v, w", primary_key="id, v, w", columns=T.columns + (v, w))
    assert alters(want, got) == [
        "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `v` UInt8 AFTER `d`, "
        "ADD COLUMN IF NOT EXISTS `w` UInt8 AFTER `v`, MODIFY ORDER BY (id, v, w)",
    ]


# in place: indices, projections, constraints, TTL, settings, comment


def test_elements_are_dropped_then_added_by_kind_each_by_name() -> None:
    want = replace(T, indices=(Index("ib", "minmax", "n", 1), Index("ia", "bloom_filter(0.01)", "name", 4)),
                   projections=(Projection("pb", "(SELECT name ORDER BY name)"), Projection("pa", "(SELECT id)")),
                   constraints=(Constraint("cb", "CHECK", "n < 10"), Constraint("ca", "ASSUME", "id > 0")))
    got = replace(T, indices=(Index("iz", "set(0)", "d", 2), Index("ib", "minmax", "n", 2)),
                  projections=(Projection("pz", "(SELECT d)"),),
                  constraints=(Constraint("cz", "CHECK", "1"), Constraint("cb", "CHECK", "n < 9")))
    assert alters(want, got) == [
        "ALTER TABLE `db`.`t` DROP INDEX IF EXISTS `ib`",
        "ALTER TABLE `db`.`t` DROP INDEX IF EXISTS `iz`",
        "ALTER TABLE `db`.`t` ADD INDEX IF NOT EXISTS `ia` name TYPE bloom_filter(0.01) GRANULARITY 4",
        "ALTER TABLE `db`.`t` ADD INDEX IF NOT EXISTS `ib` n TYPE minmax GRANULARITY 1",
        "ALTER TABLE `db`.`t` DROP PROJECTION IF EXISTS `pz`",
        "ALTER TABLE `db`.`t` ADD PROJECTION IF NOT EXISTS `pa` (SELECT id)",
        "ALTER TABLE `db`.`t` ADD PROJECTION IF NOT EXISTS `pb` (SELECT name ORDER BY name)",
        "ALTER TABLE `db`.`t` DROP CONSTRAINT IF EXISTS `cb`",
        "ALTER TABLE `db`.`t` DROP CONSTRAINT IF EXISTS `cz`",
        "ALTER TABLE `db`.`t` ADD CONSTRAINT IF NOT EXISTS `ca` ASSUME id > 0",
        "ALTER TABLE `db`.`t` ADD CONSTRAINT IF NOT EXISTS `cb` CHECK n < 10",
    ]


def test_equal_elements_are_left_alone() -> None:
    same = replace(T, indices=(Index("i", "minmax", "n", 1),), projections=(Projection("p", "(SELECT id)"),),
                   constraints=(Constraint("c", "CHECK", "n < 10"),))
    assert alters(replace(same, comment="x"), same) == ["ALTER TABLE `db`.`t` MODIFY COMMENT 'x'"]


def test_table_ttl_is_modified_or_set_then_removed() -> None:
    assert alters(replace(T, ttl="d + toIntervalDay(30)"), T) == ["ALTER TABLE `db`.`t` MODIFY TTL d + toIntervalDay(30)"]
    assert alters(replace(T, ttl="d + toIntervalDay(30)"), replace(T, ttl="d + toIntervalDay(1)")) == \
        ["ALTER TABLE `db`.`t` MODIFY TTL d + toIntervalDay(30)"]
    assert alters(T, replace(T, ttl="d + toIntervalDay(1)")) == ["ALTER TABLE `db`.`t` MODIFY TTL d + toIntervalDay(1)",
                                                                 "ALTER TABLE `db`.`t` REMOVE TTL"]


def test_settings_are_modified_in_the_canons_order_and_reset_in_the_actual_order() -> None:
    want = replace(T, settings="b = 2, index_granularity = 8192, a = 1")
    got = replace(T, settings="index_granularity = 8192, z = 1, b = 3, y = 0")
    assert alters(want, got) == ["ALTER TABLE `db`.`t` MODIFY SETTING b = 2, a = 1",
                                 "ALTER TABLE `db`.`t` RESET SETTING z, y"]
    assert alters(want, replace(T, settings="b = 2, index_granularity = 8192")) == \
        ["ALTER TABLE `db`.`t` MODIFY SETTING a = 1"]
    assert alters(replace(T, settings="a = 1"), replace(T, settings="a = 1, c = 2")) == \
        ["ALTER TABLE `db`.`t` RESET SETTING c"]


def test_the_table_comment_is_a_quoted_literal() -> None:
    assert alters(replace(T, comment="it's \\ here"), T) == ["ALTER TABLE `db`.`t` MODIFY COMMENT 'it\\'s \\\\ here'"]
    assert alters(T, replace(T, comment="old")) == ["ALTER TABLE `db`.`t` MODIFY COMMENT ''"]


def test_the_in_place_order_is_columns_elements_ttl_settings_comment() -> None:
    want = replace(T, columns=T.columns + (Column("e", 5, "UInt8"),), indices=(Index("i", "minmax", "n", 1),),
                   ttl="d + toIntervalDay(30)", settings="a = 1", comment="facts")
    got = replace(T, settings="b = 1")
    (step,) = steps_of(want, got)
    assert step == Step("in_place", "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `e` UInt8 AFTER `d`;\n"
                                    "ALTER TABLE `db`.`t` ADD INDEX IF NOT EXISTS `i` n TYPE minmax GRANULARITY 1;\n"
                                    "ALTER TABLE `db`.`t` MODIFY TTL d + toIntervalDay(30);\n"
                                    "ALTER TABLE `db`.`t` MODIFY SETTING a = 1;\n"
                                    "ALTER TABLE `db`.`t` RESET SETTING b;\n"
                                    "ALTER TABLE `db`.`t` MODIFY COMMENT 'facts'", ("db.t",), "")


def test_the_column_order_is_renames_drops_then_columns_in_the_canons_order() -> None:
    want = with_cols(T, ID, NAME, replace(N, type="UInt64"), D, Column("e", 5, "UInt8"))
    got = with_cols(T, ID, Column("title", 2, "String"), replace(N, type="UInt16"), D, Column("x", 5, "Int8"),
                    Column("y", 6, "Int8"))
    (step,) = steps_of(want, got)
    assert step.statement.split(";\n") == [
        "ALTER TABLE `db`.`t` RENAME COLUMN IF EXISTS `title` TO `name`",
        "ALTER TABLE `db`.`t` DROP COLUMN IF EXISTS `x`",
        "ALTER TABLE `db`.`t` DROP COLUMN IF EXISTS `y`",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt64",
        "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `e` UInt8 AFTER `d`",
    ]
    assert step.note == "the values of column x are dropped; the values of column y are dropped"


# rebuilds


def test_the_rebuild_statements_exactly() -> None:
    want = replace(T, engine="ReplacingMergeTree")
    create = CREATE_T.replace("MergeTree", "ReplacingMergeTree")
    (step,) = steps_of(want, T, create)
    assert step == Step("rebuild", ";\n".join([
        "CREATE TABLE IF NOT EXISTS db.`t__chconform_rebuild` (`id` UInt64, `name` String, `n` UInt32, `d` Date) "
        "ENGINE = ReplacingMergeTree ORDER BY id",
        "INSERT INTO `db`.`t__chconform_rebuild` (`id`, `name`, `n`, `d`) SELECT `id`, `name`, `n`, `d` FROM `db`.`t` "
        "WHERE (SELECT count() FROM `db`.`t__chconform_rebuild`) = 0",
        "EXCHANGE TABLES `db`.`t` AND `db`.`t__chconform_rebuild`",
        "-- chconform: ignore[drop_not_recreated] the old copy of db.t: its rows were copied above\n"
        "DROP TABLE IF EXISTS `db`.`t__chconform_rebuild`",
    ]), ("db.t",), "")


def test_a_rebuild_copies_only_stored_columns_both_sides_have_with_casts() -> None:
    want = replace(T, partition_key="d", columns=(
        ID, replace(NAME, type="LowCardinality(String)"), replace(N, default_kind="DEFAULT", default_expression="0"),
        Column("m", 4, "UInt8", "MATERIALIZED", "1"), Column("a", 5, "UInt8", "ALIAS", "n"), Column("new", 6, "UInt8"),
        Column("k", 7, "Int32"), Column("j", 8, "Nullable(Int32)"), Column("f", 9, "Float32"),
        Column("we", 10, "UInt8", "EPHEMERAL", "")))
    got = replace(T, columns=(
        ID, NAME, N, Column("m", 4, "UInt8"), Column("a", 5, "UInt8"), Column("gone", 6, "String"),
        Column("k", 7, "Nullable(Int64)"), Column("j", 8, "Int32"), Column("f", 9, "Nullable(Float32)"),
        Column("we", 10, "UInt8"), Column("old", 11, "UInt8", "ALIAS", "1")))
    (step,) = steps_of(want, got, "CREATE TABLE `db`.`t` (…) ENGINE = MergeTree")
    insert = step.statement.split(";\n")[1]
    assert insert == (
        "INSERT INTO `db`.`t__chconform_rebuild` (`id`, `name`, `n`, `k`, `j`, `f`) SELECT `id`, "
        "CAST(`name` AS LowCardinality(String)), `n`, CAST(ifNull(`k`, defaultValueOfTypeName('Int32')) AS Int32), "
        "CAST(`j` AS Nullable(Int32)), CAST(ifNull(`f`, defaultValueOfTypeName('Float32')) AS Float32) FROM `db`.`t` "
        "WHERE (SELECT count() FROM `db`.`t__chconform_rebuild`) = 0")
    assert step.statement.startswith("CREATE TABLE IF NOT EXISTS db.`t__chconform_rebuild` (…) ENGINE = MergeTree;\n")
    assert step.note == "the values of gone, old are not copied"


def test_a_nullable_to_nullable_change_is_a_plain_cast() -> None:
    assert steps._cast(Column("a", 1, "Nullable(Int64)"), Column("b", 1, "Nullable(Int32)")) == \
        "CAST(`b` AS Nullable(Int64))"
    assert steps._cast(Column("a", 1, "Int64"), Column("b`", 1, "Int64")) == "`b\\``"


def test_the_rebuilt_table_is_found_in_the_create_text_spelled_either_way() -> None:
    assert steps._renamed_create("CREATE TABLE `db`.`t` (x) ENGINE = Log", T, "t__r") == \
        "CREATE TABLE db.`t__r` (x) ENGINE = Log"
    assert steps._renamed_create("CREATE TABLE db.t (x) ENGINE = Log AS db.t", T, "t__r") == \
        "CREATE TABLE db.`t__r` (x) ENGINE = Log AS db.t"


def test_a_create_text_without_the_table_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^cannot find db\.t in its CREATE text$"):
        steps._renamed_create("CREATE TABLE db.other (x) ENGINE = Log", T, "t__r")


@pytest.mark.parametrize(("create", "out"), [
    ("CREATE TABLE a.b (x UInt8) ENGINE = Log", "CREATE TABLE IF NOT EXISTS a.b (x UInt8) ENGINE = Log"),
    ("CREATE VIEW a.v AS SELECT 1", "CREATE VIEW IF NOT EXISTS a.v AS SELECT 1"),
    ("CREATE MATERIALIZED VIEW a.m TO a.b AS SELECT 1", "CREATE MATERIALIZED VIEW IF NOT EXISTS a.m TO a.b AS SELECT 1"),
    ("CREATE DICTIONARY a.d (k UInt64) PRIMARY KEY k", "CREATE DICTIONARY IF NOT EXISTS a.d (k UInt64) PRIMARY KEY k"),
    ("CREATE FUNCTION f AS x -> x", "CREATE FUNCTION IF NOT EXISTS f AS x -> x"),
    ("CREATE TABLE IF NOT EXISTS a.b (x UInt8)", "CREATE TABLE IF NOT EXISTS a.b (x UInt8)"),
    ("CREATE MATERIALIZED VIEW IF NOT EXISTS a.m AS SELECT 1", "CREATE MATERIALIZED VIEW IF NOT EXISTS a.m AS SELECT 1"),
    ("CREATE OR REPLACE VIEW a.v AS SELECT 1", "CREATE OR REPLACE VIEW a.v AS SELECT 1"),
    ("", ""),
], ids=["table", "view", "mv", "dictionary", "function", "table-already", "mv-already", "or-replace", "empty"])
def test_if_not_exists(create: str, out: str) -> None:
    assert steps._if_not_exists(create) == out


def test_or_replace() -> None:
    assert steps._or_replace("CREATE VIEW a.v AS SELECT 1", "VIEW") == "CREATE OR REPLACE VIEW a.v AS SELECT 1"
    assert steps._or_replace("CREATE DICTIONARY a.d (k UInt64)", "DICTIONARY") == "CREATE OR REPLACE DICTIONARY a.d (k UInt64)"
    assert steps._or_replace("CREATE OR REPLACE VIEW a.v AS SELECT 1", "VIEW") == "CREATE OR REPLACE VIEW a.v AS SELECT 1"


@pytest.mark.parametrize("change", [
    {"engine": "ReplacingMergeTree"}, {"sorting_key": "(name, id)", "primary_key": "(name, id)"},
    {"settings": "index_granularity = 1024"}, {"settings": "storage_policy = 'cold'"},
    {"settings": "index_granularity_bytes = 0"}, {"settings": "enable_mixed_granularity_parts = 0"},
    {"settings": "disk = 'd2'"},
], ids=lambda c: ",".join(c.values()))
def test_what_no_alter_changes_is_rebuilt(change: dict) -> None:
    assert [s.kind for s in steps_of(replace(T, **change), T)] == ["rebuild"]


def test_a_read_only_setting_named_by_the_engine_is_rebuilt_and_another_altered() -> None:
    want = replace(T, settings="min_bytes_for_wide_part = 0")
    assert [s.kind for s in steps_of(want, T, readonly_settings=["min_bytes_for_wide_part"])] == ["rebuild"]
    assert [s.kind for s in steps_of(want, T)] == ["in_place"]


def test_only_the_tables_asked_for_are_rebuilt() -> None:
    u = replace(T, name="u")
    got_t, got_u = with_cols(T, ID, NAME, N), with_cols(u, ID, NAME, N)
    creates = {"db.t": CREATE_T, "db.u": CREATE_T.replace("db.t", "db.u")}
    out = plan_steps(Snapshot(("db",), (T, u)), Snapshot(("db",), (got_t, got_u)), creates, rebuild=["db.u"])
    assert [(s.kind, s.tables) for s in out] == [("in_place", ("db.t",)), ("rebuild", ("db.u",))]


# views, materialized views, dictionaries; order of steps


V = Table("db", "v", "view", view_query="SELECT id FROM db.t", columns=(ID,))
M = Table("db", "m", "materialized_view", view_query="SELECT id FROM db.t", target="db.t", columns=(ID,))
DICT = Table("db", "dict", "dictionary", primary_key="id", source="CLICKHOUSE(TABLE 't')", layout="FLAT()",
             lifetime="MIN 0 MAX 0", columns=(ID,))
CREATES = {"db.v": "CREATE VIEW db.v (`id` UInt64) AS SELECT id FROM db.t",
           "db.m": "CREATE MATERIALIZED VIEW db.m TO db.t (`id` UInt64) AS SELECT id FROM db.t",
           "db.dict": "CREATE DICTIONARY db.dict (`id` UInt64) PRIMARY KEY id SOURCE(CLICKHOUSE(TABLE 't'))",
           "db.t": CREATE_T}


def test_a_changed_view_and_dictionary_are_replaced() -> None:
    actual = Snapshot(("db",), (T, replace(V, view_query="SELECT 1 AS id"), replace(DICT, lifetime="MIN 1 MAX 2")))
    out = plan_steps(Snapshot(("db",), (T, V, DICT)), actual, CREATES)
    assert out == [Step("dictionary", "CREATE OR REPLACE DICTIONARY db.dict (`id` UInt64) PRIMARY KEY id "
                                      "SOURCE(CLICKHOUSE(TABLE 't'))", ("db.dict",)),
                   Step("view", "CREATE OR REPLACE VIEW db.v (`id` UInt64) AS SELECT id FROM db.t", ("db.v",))]


def test_a_changed_materialized_view_with_a_target_is_dropped_and_created() -> None:
    actual = Snapshot(("db",), (T, replace(M, view_query="SELECT 2 AS id")))
    assert plan_steps(Snapshot(("db",), (T, M)), actual, CREATES) == [Step(
        "materialized_view", "DROP VIEW IF EXISTS `db`.`m`;\n"
        "CREATE MATERIALIZED VIEW IF NOT EXISTS db.m TO db.t (`id` UInt64) AS SELECT id FROM db.t", ("db.m",),
        "rows written before the view is re-created are not backfilled")]


def test_a_materialized_view_with_its_own_storage_says_its_rows_go() -> None:
    inner = replace(M, target="")
    (step,) = plan_steps(Snapshot(("db",), (inner,)), Snapshot(("db",), (replace(inner, view_query="x"),)), CREATES)
    assert step.note == "rows written before the view is re-created are not backfilled; its own stored rows are dropped with it"


def test_an_object_of_another_kind_is_dropped_by_its_own_kind_then_created() -> None:
    as_dict = replace(DICT, name="m")
    (step,) = plan_steps(Snapshot(("db",), (M,)), Snapshot(("db",), (as_dict,)), CREATES)
    assert step.kind == "materialized_view"
    assert step.statement.split(";\n")[0] == "DROP DICTIONARY IF EXISTS `db`.`m`"
    table_v = replace(T, name="v")
    (step,) = plan_steps(Snapshot(("db",), (V,)), Snapshot(("db",), (replace(M, name="v"),)), CREATES)
    assert step.statement == "DROP VIEW IF EXISTS `db`.`v`;\nCREATE VIEW IF NOT EXISTS db.v (`id` UInt64) AS SELECT id FROM db.t"
    (step,) = plan_steps(Snapshot(("db",), (table_v,)), Snapshot(("db",), (V,)), {"db.v": CREATE_T.replace("db.t", "db.v")})
    assert step == Step("materialized_view", "DROP VIEW IF EXISTS `db`.`v`;\n"
                        + CREATE_T.replace("CREATE TABLE db.t", "CREATE TABLE IF NOT EXISTS db.v"), ("db.v",),
                        "rows written before the view is re-created are not backfilled; its own stored rows are dropped "
                        "with it")


def test_steps_come_tables_dictionaries_views_then_materialized_views_each_by_name() -> None:
    t2 = replace(T, name="a", columns=(ID,))
    creates = dict(CREATES, **{"db.a": "CREATE TABLE db.a (`id` UInt64) ENGINE = Log"})
    v2 = replace(V, name="a_view")
    creates["db.a_view"] = "CREATE VIEW db.a_view AS SELECT 1"
    out = plan_steps(Snapshot(("db",), (M, V, DICT, T, t2, v2)), Snapshot(("db",), ()), creates)
    assert [s.tables for s in out] == [("db.a",), ("db.t",), ("db.dict",), ("db.a_view",), ("db.v",), ("db.m",)]
    assert [s.kind for s in out] == ["create"] * 6
    assert out[-1].statement == "CREATE MATERIALIZED VIEW IF NOT EXISTS db.m TO db.t (`id` UInt64) AS SELECT id FROM db.t"


def test_only_the_tables_named_are_planned_and_unknown_names_are_skipped() -> None:
    canon = Snapshot(("db",), (T, V))
    out = plan_steps(canon, Snapshot(("db",), ()), CREATES, tables=["db.nope", "db.v"])
    assert out == [Step("create", "CREATE VIEW IF NOT EXISTS db.v (`id` UInt64) AS SELECT id FROM db.t", ("db.v",))]
    assert plan_steps(canon, Snapshot(("db",), ()), CREATES, tables=[]) == []


def test_an_unchanged_table_gives_no_step_and_a_missing_create_text_an_empty_statement() -> None:
    assert plan_steps(Snapshot(("db",), (T,)), Snapshot(("db",), (T,)), {}) == []
    assert plan_steps(Snapshot(("db",), (T,)), Snapshot(("db",), ()), {}) == [Step("create", "", ("db.t",))]


def test_a_renamed_column_counts_in_the_column_order() -> None:
    """Only the renamed column and `a` are common to both sides, in the opposite order: both are moved."""
    got = with_cols(T, Column("a", 1, "UInt8"), Column("old", 2, "String"), Column("e", 3, "Int8"))
    want = with_cols(T, Column("m", 1, "Date"), Column("new", 2, "String"), Column("a", 3, "UInt8"))
    (step,) = steps_of(want, got)
    assert step.statement.split(";\n") == [
        "ALTER TABLE `db`.`t` RENAME COLUMN IF EXISTS `old` TO `new`",
        "ALTER TABLE `db`.`t` DROP COLUMN IF EXISTS `e`",
        "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `m` Date FIRST",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `new` String AFTER `m`",
        "ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `a` UInt8 AFTER `new`",
    ]


def test_a_modify_never_names_the_comment_which_is_set_apart() -> None:
    kept = replace(N, comment="rows")
    assert alters(with_cols(T, ID, NAME, kept, D), with_cols(T, ID, NAME, replace(kept, type="UInt8"), D)) == \
        ["ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32"]
    assert alters(with_cols(T, ID, NAME, kept, D), with_cols(T, ID, NAME, replace(N, type="UInt8"), D)) == \
        ["ALTER TABLE `db`.`t` MODIFY COLUMN IF EXISTS `n` UInt32",
         "ALTER TABLE `db`.`t` COMMENT COLUMN IF EXISTS `n` 'rows'"]


@pytest.mark.parametrize("want", [replace(DICT, name="t"), replace(V, name="t")], ids=["dictionary", "view"])
def test_a_table_the_canon_has_as_a_dictionary_or_view_is_never_dropped_for_it(want: Table) -> None:
    """A plan never drops a table's rows to make room for another kind of object: it goes the rebuild's way (whose
    INSERT into a view or dictionary the proof then refuses)."""
    (step,) = steps_of(want, T, "CREATE VIEW db.t AS SELECT 1")
    assert step.kind == "rebuild"
    assert step.statement.split(";\n")[0] == "CREATE VIEW IF NOT EXISTS db.`t__chconform_rebuild` AS SELECT 1"
    assert "DROP VIEW" not in step.statement and "DROP DICTIONARY" not in step.statement
