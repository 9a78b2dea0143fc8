from __future__ import annotations

import pytest

from chconform.errors import SourceError
from chconform.sql.source import decode, split_statements


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"]),
        ("SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", "SELECT 2"]),
        ("SELECT 'it''s; fine'", ["SELECT 'it''s; fine'"]),
        ("SELECT 'back\\'slash;'", ["SELECT 'back\\'slash;'"]),
        ("SELECT `a;b` FROM t", ["SELECT `a;b` FROM t"]),
        ('SELECT "a;b" FROM t', ['SELECT "a;b" FROM t']),
        ("-- a; comment\nSELECT 1", ["SELECT 1"]),
        ("#!/usr/bin/env clickhouse\nSELECT 1", ["SELECT 1"]),
        ("# a; comment\nSELECT 1", ["SELECT 1"]),
        ("/* a; /* nested; */ still; */ SELECT 1", ["SELECT 1"]),
        ("SELECT $$a;b$$", ["SELECT $$a;b$$"]),
        (";;  ;\n", []),
        ("-- only a comment\n", []),
    ],
    ids=["plain", "quoted", "doubled-quote", "backslash", "backtick", "double-quote", "dash-comment", "shebang",
         "hash-comment", "nested-block", "heredoc", "empty-statements", "comment-only"],
)
def test_split(text: str, expected: list[str]) -> None:
    assert [s.text for s in split_statements(text)] == expected


def test_line_and_column_survive_comments() -> None:
    stmts = split_statements("-- header\n\n  CREATE TABLE t (a String) ENGINE = Memory;\n/* x */ DROP TABLE t;")
    assert [(s.line, s.column) for s in stmts] == [(3, 3), (4, 9)]


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("CREATE TABLE IF NOT EXISTS zakaz.t (a String) ENGINE = Memory", "create_table", "zakaz.t"),
        ("create table `zakaz`.`odd name` (a String) ENGINE = Memory", "create_table", "zakaz.odd name"),
        ("CREATE OR REPLACE VIEW zakaz.v AS SELECT 1", "create_view", "zakaz.v"),
        ("CREATE MATERIALIZED VIEW IF NOT EXISTS zakaz.mv ENGINE = Memory AS SELECT 1", "create_materialized_view", "zakaz.mv"),
        ("CREATE DATABASE IF NOT EXISTS zakaz", "create_database", "default.zakaz"),
        ("DROP TABLE IF EXISTS zakaz.t", "drop_table", "zakaz.t"),
        ("DROP DATABASE IF EXISTS zakaz", "drop_database", "default.zakaz"),
        ("TRUNCATE TABLE IF EXISTS zakaz.t", "truncate", "zakaz.t"),
        ("INSERT INTO zakaz.t VALUES (1)", "insert", "zakaz.t"),
        ("INSERT INTO FUNCTION file('x') VALUES (1)", "insert_function", None),
        ("GRANT SELECT ON zakaz.* TO r", "access", None),
        ("CREATE ROLE IF NOT EXISTS r", "access", None),
        ("CREATE USER u IDENTIFIED WITH no_password", "access", None),
        ("REVOKE SELECT ON zakaz.* FROM r", "access", None),
        ("ALTER TABLE zakaz.t ADD COLUMN b String", "alter", "zakaz.t"),
        ("SYSTEM SHUTDOWN", "system", None),
    ],
)
def test_classify(text: str, kind: str, target: str | None) -> None:
    (stmt,) = split_statements(text)
    assert (stmt.kind, stmt.target) == (kind, target)


def test_use_sets_the_database_of_unqualified_names() -> None:
    stmts = split_statements("USE zakaz; CREATE TABLE t (a String) ENGINE = Memory;")
    assert stmts[1].target == "zakaz.t"


def test_target_span_points_at_the_name() -> None:
    (stmt,) = split_statements("CREATE TABLE IF NOT EXISTS zakaz.t (a String) ENGINE = Memory")
    a, b = stmt.target_span or (0, 0)
    assert stmt.text[a:b] == "zakaz.t"
    assert stmt.if_not_exists and not stmt.or_replace


@pytest.mark.parametrize(
    ("text", "where"),
    [("SELECT 'open", "line 1:8: unterminated string"), ("SELECT 1;\n/* open", "line 2:1: unterminated comment")],
)
def test_unterminated(text: str, where: str) -> None:
    with pytest.raises(SourceError, match=where):
        split_statements(text)


def test_decode_encodings() -> None:
    word = "Москва"
    assert decode(word.encode("utf-8"))[:2] == (word, "utf-8")
    assert decode(b"\xef\xbb\xbf" + word.encode("utf-8"))[:2] == (word, "utf-8-sig")
    assert decode(word.encode("cp1251"))[:2] == (word, "cp1251")


def test_decode_warns_about_mojibake_with_the_line() -> None:
    garbled = "SELECT 1;\n-- " + "Москва Петербург".encode("utf-8").decode("cp1251") + "\n"
    _, _, warnings = decode(garbled.encode("utf-8"), "x.sql")
    assert len(warnings) == 1 and warnings[0].startswith("x.sql:2:")


def test_decode_refuses_binary() -> None:
    with pytest.raises(SourceError, match="binary"):
        decode(b"\x00\x01\x02", "x.sql")
