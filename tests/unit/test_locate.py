"""A column's finding points at the column's own line, in CREATE and in ALTER."""

from __future__ import annotations

import pytest

from chconform.sql.locate import column_line
from chconform.sql.source import split_statements

CREATE = """CREATE TABLE db.t
(
    id UInt64,
    `city` LowCardinality(String) COMMENT 'city, (not id)',
    payload Map(String, UInt64) DEFAULT map('id', 1),
    id2 String
)
ENGINE = MergeTree ORDER BY id;
"""


def only(text: str):
    return split_statements(text)[0]


@pytest.mark.parametrize(("column", "line"), [("id", 3), ("city", 4), ("payload", 5), ("id2", 6)])
def test_create_column_lines(column: str, line: int) -> None:
    assert column_line(only(CREATE), column) == line


def test_a_name_used_in_an_expression_is_not_a_definition() -> None:
    # `id` appears in the map literal and in ORDER BY, but is defined on line 3 only.
    assert column_line(only(CREATE), "missing") is None
    assert column_line(only("\n\n" + CREATE), "id") == 5


def test_alter_add_column_if_not_exists() -> None:
    stmt = only("ALTER TABLE db.t\n  ADD COLUMN IF NOT EXISTS\n  extra String;\n")
    assert column_line(stmt, "extra") == 3
