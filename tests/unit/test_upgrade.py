"""Pure parts of the upgrade-path check: which rows a step lost, and which statement lost them."""

from __future__ import annotations

import pytest

from chconform.sql.source import Source, split_statements
from chconform.checks.path import DataLoss, PathResult, losses, seedable


def _source(text: str, path: str = "step.sql") -> Source:
    return Source(path, text, "utf-8", tuple(split_statements(text)))


@pytest.mark.parametrize(
    ("text", "line", "statement"),
    [
        ("CREATE DATABASE IF NOT EXISTS z;\nDROP TABLE IF EXISTS z.t;\nCREATE TABLE z.t (a String) ENGINE = Memory;",
         2, "DROP TABLE IF EXISTS z.t"),
        ("TRUNCATE TABLE z.t;", 1, "TRUNCATE TABLE z.t"),
        ("SELECT 1;\nDROP DATABASE z;", 2, "DROP DATABASE z"),
        ("CREATE OR REPLACE TABLE z.t (a String) ENGINE = Memory;", 1,
         "CREATE OR REPLACE TABLE z.t (a String) ENGINE = Memory"),
        ("SELECT 1;", None, ""),
    ],
    ids=["drop-table", "truncate", "drop-database", "create-or-replace", "no-culprit"],
)
def test_a_loss_names_the_statement_that_destroyed_the_rows(text: str, line: int | None, statement: str) -> None:
    (loss,) = losses({"z.t": 3}, {"z.t": 0}, _source(text))
    assert (loss.table, loss.before, loss.after, loss.lost, loss.step) == ("z.t", 3, 0, 3, "step.sql")
    assert (loss.line, loss.statement) == (line, statement)


def test_a_vanished_table_lost_everything_and_kept_or_grown_tables_lost_nothing() -> None:
    before, after = {"z.gone": 2, "z.kept": 1, "z.grew": 1}, {"z.kept": 1, "z.grew": 5, "z.new": 1}
    found = losses(before, after, _source("SELECT 1;"))
    assert [(x.table, x.before, x.after) for x in found] == [("z.gone", 2, 0)]


@pytest.mark.parametrize(
    ("engine", "ok"),
    [("MergeTree", True), ("ReplacingMergeTree", True), ("ReplicatedReplacingMergeTree", True), ("Memory", True),
     ("Log", True), ("Kafka", False), ("Distributed", False), ("Null", False), ("URL", False)],
)
def test_only_plain_stored_tables_get_sentinel_rows(engine: str, ok: bool) -> None:
    assert (seedable(engine) is None) is ok


def test_data_loss_fails_a_path_unless_accepted() -> None:
    lost = PathResult("p", ("a.sql",), data_loss=(DataLoss("z.t", 1, 0, "a.sql", 1, "DROP TABLE z.t"),))
    assert lost.reaches_canon and not lost.ok() and lost.ok(accept_data_loss=True)
    assert PathResult("p", ("a.sql",)).ok()
