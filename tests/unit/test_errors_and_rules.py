from __future__ import annotations

from chconform.errors import parse_engine_message
from chconform.checks.rules import role_findings
from chconform.sql.source import Source, split_statements


def test_parse_engine_message() -> None:
    code, name, msg = parse_engine_message("Code: 60. DB::Exception: Unknown table 'x'. (UNKNOWN_TABLE)")
    assert (code, name, msg) == (60, "UNKNOWN_TABLE", "Unknown table 'x'.")
    server = "Code: 60. DB::Exception: Unknown table 'x'. (UNKNOWN_TABLE) (version 24.8.4.13 (official build))"
    assert parse_engine_message(server) == (60, "UNKNOWN_TABLE", "Unknown table 'x'.")


def _source(text: str) -> Source:
    return Source("f.sql", text, "utf-8", tuple(split_statements(text)))


def test_dump_may_not_drop() -> None:
    found = role_findings(_source("DROP TABLE IF EXISTS z.t;\nCREATE TABLE z.t (a String) ENGINE = Memory;"), "dump")
    assert [(d.aspect, d.object, d.line) for d in found] == [("drop_in_dump", "z.t", 1)]


def test_migration_drops_only_right_before_recreating() -> None:
    ok = "DROP TABLE IF EXISTS z.t;\nCREATE TABLE z.t (a String) ENGINE = Memory;"
    assert role_findings(_source(ok), "migration") == []
    late = "DROP TABLE IF EXISTS z.t;\nSELECT 1;\nCREATE TABLE z.t (a String) ENGINE = Memory;"
    assert [d.aspect for d in role_findings(_source(late), "migration")] == ["drop_before_create"]  # style only
    gone = "DROP TABLE IF EXISTS z.t;\nSELECT 1;"
    assert [d.aspect for d in role_findings(_source(gone), "migration")] == ["drop_not_recreated"]
    db = "DROP DATABASE IF EXISTS z;"
    assert [(d.aspect, d.object, d.actual) for d in role_findings(_source(db), "init")] == [
        ("drop_not_recreated", "z", "DROP DATABASE z")]
