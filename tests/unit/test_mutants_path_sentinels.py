"""Sentinel rows and the rows a step kept, asserted whole (mutation survivors in checks/path: sentinels.py).

The counts a walk reads (`row_counts` on a fake query), the SQL it builds from names and values (`quoted`,
`literal`, `marker_condition`, `sentinel_values`), the engine arguments that fix a row's role, and which
tables a step lost and after which statement, from censuses written out by hand.
"""

from __future__ import annotations

from typing import Any

import pytest

from chconform.checks.sentinels import (
    NO_UUID,
    Census,
    DataLoss,
    _engine_args,
    literal,
    marker_condition,
    may_destroy,
    quoted,
    replaced,
    retyped_columns,
    row_counts,
    sentinel_values,
    step_losses,
)
from chconform.schema.queries import snapshot_query
from chconform.sql.source import Statement, split_statements

U1, U2, U3, U4, U5 = (f"{d * 8}-0000-0000-0000-00000000000{d}" for d in "12345")


def walk(text: str, censuses: list[dict[str, tuple[str, int]]]) -> list[tuple[Statement | None, Census]]:
    """Checkpoints after each statement of `text` that may destroy rows, then the step's end."""
    stmts = [s for s in split_statements(text) if may_destroy(s)]
    assert len(censuses) == len(stmts) + 1, [s.first_line for s in stmts]
    return [(s, Census(c)) for s, c in zip([*stmts, None], censuses)]


# ---- counting -------------------------------------------------------------------------------------------

def test_row_counts_reads_every_table_but_inner_ones_with_its_engine_rows_and_uuid() -> None:
    asked: list[str] = []
    rows: list[dict[str, Any]] = [
        {"database": "app", "name": ".inner_id.5f3e", "engine": "MergeTree", "total_rows": 5, "uuid": U1},
        {"database": "app", "name": "t", "engine": "MergeTree", "total_rows": "3", "uuid": U2},
        {"database": "app", "name": "k", "engine": "Kafka", "total_rows": None, "uuid": None},
        {"database": "old", "name": "m", "engine": "Memory", "total_rows": 0},
    ]

    def query(sql: str) -> list[dict[str, Any]]:
        asked.append(sql)
        return rows

    assert row_counts(query) == {"app.t": ("MergeTree", 3, U2), "app.k": ("Kafka", None, NO_UUID),
                                 "old.m": ("Memory", 0, NO_UUID)}
    assert asked == [snapshot_query("row_counts")]


@pytest.mark.parametrize(
    ("text", "destroys"),
    [("replace table z.t (a String) ENGINE = Memory", True), ("SELECT 1", False), ("USE z", False)],
)
def test_which_statements_are_followed_by_a_count(text: str, destroys: bool) -> None:
    (stmt,) = split_statements(text)
    assert may_destroy(stmt) is destroys


# ---- SQL built from names and values --------------------------------------------------------------------

def test_a_table_name_is_quoted_as_database_and_table_backquotes_escaped() -> None:
    assert quoted("app.t") == "`app`.`t`"
    assert quoted("app.we`ird") == "`app`.`we\\`ird`"
    assert quoted("app.t.with.dots") == "`app`.`t.with.dots`"


def test_a_literal_escapes_backslashes_and_quotes() -> None:
    assert literal("it's a \\ path") == "'it\\'s a \\\\ path'"


def test_a_marker_condition_skips_columns_that_cannot_be_written_and_escapes_backquotes() -> None:
    columns = [("m", "String", "MATERIALIZED"), ("we`ird", "String", ""), ("d", "Date", "")]
    assert marker_condition(columns, "chconform sentinel 2", "2027-01-02") == (
        "`we\\`ird` = 'chconform sentinel 2' OR toDate(`d`) = toDate('2027-01-02')")


def test_a_sentinel_fills_every_column_after_one_it_cannot_write_and_after_its_sign() -> None:
    columns = [("m", "String", "MATERIALIZED"), ("sign", "Int8", ""), ("id", "String", ""), ("n", "UInt32", "")]
    assert sentinel_values(columns, "CollapsingMergeTree(sign) ORDER BY id", 4) == [
        ("sign", "1"), ("id", "'chconform sentinel 4'"), ("n", "4")]


@pytest.mark.parametrize(
    ("engine_full", "parsed"),
    [
        ("SummingMergeTree((n, m)) ORDER BY id", ("SummingMergeTree", ["(n, m)"])),
        ("VersionedCollapsingMergeTree(sign, ver) ORDER BY id", ("VersionedCollapsingMergeTree", ["sign", "ver"])),
        ("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/t', '{replica}', ver, `deleted_X`) ORDER BY id",
         ("ReplacingMergeTree", ["ver", "deleted_X"])),
        ("ReplicatedMergeTree('/clickhouse/tables/{shard}/t', '{replica}') ORDER BY id", ("MergeTree", [])),
        ("MergeTree ORDER BY (id, ver)", ("MergeTree", [])),
        ("Memory", ("Memory", [])),
    ],
)
def test_engine_arguments(engine_full: str, parsed: tuple[str, list[str]]) -> None:
    assert _engine_args(engine_full) == parsed


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ALTER TABLE a.t MODIFY COLUMN s LowCardinality(String)", [("s", "LowCardinality(String)")]),
        ("ALTER TABLE a.t MODIFY COLUMN m Map(String, Array(UInt8)), MODIFY COLUMN n UInt64",
         [("m", "Map(String, Array(UInt8))"), ("n", "UInt64")]),
        ("ALTER TABLE a.t MODIFY COLUMN IF EXISTS", []),  # cut short
    ],
)
def test_retyped_columns(text: str, found: list[tuple[str, str]]) -> None:
    (stmt,) = split_statements(text)
    assert retyped_columns(stmt) == found


# ---- what a step lost -----------------------------------------------------------------------------------

def test_each_table_is_judged_on_its_own_a_kept_one_before_a_lost_one() -> None:
    base = Census({"z.a": (U1, 1), "z.b": (U2, 1)})
    lost = step_losses(base, walk("TRUNCATE TABLE z.b;", [{"z.a": (U1, 1), "z.b": (U2, 0)}] * 2), "s.sql")
    assert lost == [DataLoss("z.b", 1, 0, "s.sql", 1, "TRUNCATE TABLE z.b")]


def test_rows_of_an_ordinary_database_are_counted_by_name_and_blamed_on_the_statement_that_took_them() -> None:
    base = Census({"o.t": (NO_UUID, 3)})
    text = "OPTIMIZE TABLE o.t FINAL;\nALTER TABLE o.t DELETE WHERE n > 1;"
    checkpoints = walk(text, [{"o.t": (NO_UUID, 3)}, {"o.t": (NO_UUID, 1)}, {"o.t": (NO_UUID, 1)}])
    assert step_losses(base, checkpoints, "s.sql") == [
        DataLoss("o.t", 3, 1, "s.sql", 2, "ALTER TABLE o.t DELETE WHERE n > 1")]


def test_rows_kept_are_counted_in_the_table_itself_wherever_it_went() -> None:
    base = Census({"z.t": (U1, 3)})
    text = "RENAME TABLE z.t TO z.t_old;\nALTER TABLE z.t_old DELETE WHERE n > 1;"
    checkpoints = walk(text, [{"z.t_old": (U1, 3)}, {"z.t_old": (U1, 1)}, {"z.t_old": (U1, 1)}])
    assert step_losses(base, checkpoints, "s.sql") == [
        DataLoss("z.t", 3, 1, "s.sql", 2, "ALTER TABLE z.t_old DELETE WHERE n > 1")]


def test_a_table_swapped_out_is_judged_after_tables_that_kept_or_never_had_their_own_table() -> None:
    base = Census({"z.0empty": (U5, 0), "z.a": (U1, 1), "z.a2": (U4, 1), "z.b": (U2, 1)})
    text = "EXCHANGE TABLES z.a AND z.a2;\nEXCHANGE TABLES z.b AND z.c;\nDROP TABLE z.c;"
    swapped_a = {"z.0empty": (U5, 0), "z.a": (U4, 1), "z.a2": (U1, 1)}
    checkpoints = walk(text, [{**swapped_a, "z.b": (U2, 1), "z.c": (U3, 1)},
                              {**swapped_a, "z.b": (U3, 1), "z.c": (U2, 1)},
                              {**swapped_a, "z.b": (U3, 1)}, {**swapped_a, "z.b": (U3, 1)}])
    assert replaced(base, checkpoints, "s.sql") == [DataLoss("z.b", 1, 0, "s.sql", 3, "DROP TABLE z.c")]


def test_a_swap_is_judged_on_the_counts_at_the_end_of_the_step() -> None:
    """The empty table swapped in gets a row by the end: the name counts as many rows, the old ones are gone."""
    base = Census({"z.b": (U2, 1)})
    text = "EXCHANGE TABLES z.b AND z.c;\nDROP TABLE z.c;\nINSERT INTO z.b SELECT * FROM z.src;"
    checkpoints = walk(text, [{"z.b": (U3, 0), "z.c": (U2, 1)}, {"z.b": (U3, 0)}, {"z.b": (U3, 1)}])
    assert replaced(base, checkpoints, "s.sql") == [DataLoss("z.b", 1, 0, "s.sql", 2, "DROP TABLE z.c")]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"z.t": (U1, 2)}, {"z.t": (U2, 1)}),  # fewer rows under the name: step_losses counts that one
        ({"z.t": (U1, 0)}, {"z.t": (U2, 0)}),  # no rows to lose
        ({"z.t": (NO_UUID, 1)}, {"z.t": (U2, 1)}),  # an ordinary database's table cannot be followed
    ],
)
def test_a_swap_that_is_not_a_candidate_loss(before: dict[str, tuple[str, int]],
                                               after: dict[str, tuple[str, int]]) -> None:
    assert replaced(Census(before), [(None, Census(after))], "s.sql") == []


def test_a_swap_no_statement_of_the_step_made_has_no_line_and_no_statement() -> None:
    got = replaced(Census({"z.t": (U1, 1)}), [(None, Census({"z.t": (U2, 1)}))], "s.sql")
    assert got == [DataLoss("z.t", 1, 0, "s.sql", None, "")]
