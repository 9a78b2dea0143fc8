"""One finding per cause: no round-2 echo of a round-1 error, no primary_key echoing sorting_key, no
missing_table caused by a failed CREATE, a view query difference shown as the tokens that differ."""

from __future__ import annotations

from chconform.checks.run import StatementError, _missing, _once
from chconform.model import Snapshot, Table
from chconform.schema.compare import compare_tables, token_diff
from chconform.sql.source import Source, split_statements


def test_primary_key_that_is_the_order_by_is_not_a_second_finding() -> None:
    want = Table("d", "t", "table", "MergeTree", sorting_key="a, b", primary_key="a, b")
    got = Table("d", "t", "table", "MergeTree", sorting_key="b, a", primary_key="b, a")
    assert [d.aspect for d in compare_tables(want, got)] == ["sorting_key"]


def test_an_explicit_primary_key_difference_is_still_shown() -> None:
    want = Table("d", "t", "table", "MergeTree", sorting_key="a, b", primary_key="a")
    got = Table("d", "t", "table", "MergeTree", sorting_key="a, b", primary_key="a, b")
    assert [d.aspect for d in compare_tables(want, got)] == ["primary_key"]


def test_view_query_difference_is_the_differing_tokens() -> None:
    columns = ", ".join(f"sum(c{i}) AS s{i}" for i in range(80))
    want = f"SELECT k, {columns} FROM d.t WHERE x > 1 GROUP BY k"
    got = want.replace("x > 1", "x >= 1")
    a, b = token_diff(want, got)
    assert (a, b) == ("… t WHERE x > 1 GROUP BY …", "… t WHERE x >= 1 GROUP BY …")
    (d,) = compare_tables(Table("d", "v", "view", view_query=want), Table("d", "v", "view", view_query=got))
    assert (d.aspect, d.canonical, d.actual) == ("view_query", a, b)
    assert token_diff("SELECT 1", "SELECT 2") == ("SELECT 1", "SELECT 2")  # short texts are shown whole


def test_round_two_repeat_of_a_round_one_error_is_dropped() -> None:
    first = StatementError(1, 3, 62, "SYNTAX_ERROR", "Syntax error", "CREATE TABLE t", "s.sql")
    again = StatementError(2, 3, 62, "SYNTAX_ERROR", "Syntax error", "CREATE TABLE t", "s.sql")
    new = StatementError(2, 5, 57, "TABLE_ALREADY_EXISTS", "Table d.u already exists", "CREATE TABLE d.u", "s.sql")
    assert _once([first, again, new]) == [first, new]


def test_missing_table_whose_create_failed_is_not_reported_again() -> None:
    text = "CREATE TABLE d.a (x UInt8) ENGINE = Memory;\nCREATE TABLE d.b (x UInt8,\n) ENGINE = Memory;"
    source = Source("s.sql", text, "utf-8", tuple(split_statements(text)))
    error = StatementError(1, 3, 62, "SYNTAX_ERROR", "Syntax error", "CREATE TABLE d.b", "s.sql")
    assert _missing(("d.a", "d.b", "d.c"), Snapshot(), source, [error]) == ("d.a", "d.c")
    assert _missing(("d.a", "d.b"), Snapshot(), source, []) == ("d.a", "d.b")


def test_an_unknown_table_error_caused_by_a_failed_create_is_not_a_second_finding() -> None:
    text = ("CREATE TABLE d.base (x UInt8,\n) ENGINE = Memory;\n"
            "CREATE VIEW d.v AS SELECT x FROM d.base;\n"
            "CREATE VIEW d.w AS SELECT x FROM d.other;")
    source = Source("s.sql", text, "utf-8", tuple(split_statements(text)))
    root = StatementError(1, 1, 62, "SYNTAX_ERROR", "Syntax error", "CREATE TABLE d.base (x UInt8,", "s.sql")
    caused = StatementError(1, 3, 60, "UNKNOWN_TABLE", "Table d.base does not exist.", "CREATE VIEW d.v", "s.sql")
    other = StatementError(1, 4, 60, "UNKNOWN_TABLE", "Table d.other does not exist.", "CREATE VIEW d.w", "s.sql")
    assert _once([root, caused, other], source) == [root, other]
    assert _once([caused, other], source) == [caused, other]  # without the root error both are causes
