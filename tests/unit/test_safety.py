"""Nothing lost: path guards and the destructive-statement classifier, without an engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from chconform.errors import ConfigError
from chconform.checks.safety import (
    classify_destructive,
    destructive_actions,
    destructive_statements,
    guard_path,
    project_roots,
    rename_targets,
)
from chconform.sql.source import Source, split_statements


def one(text: str):  # type: ignore[no-untyped-def]
    (stmt,) = split_statements(text)
    return stmt


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DROP TABLE IF EXISTS zakaz.t", "DROP TABLE zakaz.t"),
        ("DROP VIEW zakaz.mv", "DROP VIEW zakaz.mv"),
        ("DROP DATABASE IF EXISTS zakaz", "DROP DATABASE zakaz (every table in it)"),
        ("TRUNCATE TABLE zakaz.t", "TRUNCATE TABLE zakaz.t"),
        ("ALTER TABLE zakaz.t DROP COLUMN IF EXISTS a", "ALTER TABLE zakaz.t DROP COLUMN a"),
        ("ALTER TABLE zakaz.t MODIFY COLUMN b String", "ALTER TABLE zakaz.t MODIFY COLUMN b"),
        ("ALTER TABLE zakaz.t CLEAR COLUMN b IN PARTITION 1", "ALTER TABLE zakaz.t CLEAR COLUMN b"),
        ("ALTER TABLE zakaz.t DROP PARTITION 202401", "ALTER TABLE zakaz.t DROP PARTITION"),
        ("ALTER TABLE zakaz.t DELETE WHERE a = 1", "ALTER TABLE zakaz.t DELETE WHERE"),
        ("ALTER TABLE zakaz.t UPDATE a = 1 WHERE 1", "ALTER TABLE zakaz.t UPDATE (rewrites rows)"),
        ("DELETE FROM zakaz.t WHERE a = 1", "DELETE FROM zakaz.t"),
        ("CREATE OR REPLACE TABLE zakaz.t (a UInt8) ENGINE = Memory",
         "CREATE OR REPLACE TABLE zakaz.t (replaces the table and its rows)"),
        ("RENAME TABLE zakaz.a TO zakaz.b", "RENAME zakaz.a TO zakaz.b (destroys data if zakaz.b is an existing table)"),
        ("EXCHANGE TABLES zakaz.a AND zakaz.b", "EXCHANGE zakaz.a AND zakaz.b (the two tables swap their rows)"),
    ],
)
def test_destructive_statements_are_named(text: str, expected: str) -> None:
    assert classify_destructive(one(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "CREATE TABLE IF NOT EXISTS zakaz.t (a UInt8) ENGINE = Memory",
        "CREATE OR REPLACE VIEW zakaz.v AS SELECT 1",
        "ALTER TABLE zakaz.t ADD COLUMN IF NOT EXISTS c UInt8 DEFAULT 1",
        "ALTER TABLE zakaz.t COMMENT COLUMN a 'why'",
        "ALTER TABLE zakaz.t MODIFY SETTING index_granularity = 8192",
        "INSERT INTO zakaz.t VALUES (1)",
        "SELECT 1",
    ],
)
def test_harmless_statements_are_not_destructive(text: str) -> None:
    assert classify_destructive(one(text)) is None


def test_an_alter_with_several_losses_lists_each() -> None:
    actions = destructive_actions(one("ALTER TABLE zakaz.t DROP COLUMN a, ADD COLUMN c UInt8, MODIFY COLUMN b String"))
    assert [(a.kind, a.detail) for a in actions] == [
        ("alter_column", "ALTER TABLE zakaz.t DROP COLUMN a"),
        ("alter_column", "ALTER TABLE zakaz.t MODIFY COLUMN b"),
    ]


def test_rename_targets() -> None:
    assert rename_targets(one("RENAME TABLE a TO b, zakaz.c TO zakaz.d"), "zakaz") == [
        ("zakaz.a", "zakaz.b"), ("zakaz.c", "zakaz.d")]


def test_destructive_statements_carry_file_line_and_role() -> None:
    text = "CREATE TABLE zakaz.t (a UInt8) ENGINE = Memory;\n\nDROP TABLE zakaz.t;\nTRUNCATE TABLE zakaz.u;\n"
    source = Source("migrations/x.sql", text, "utf-8", tuple(split_statements(text)))
    found = [str(d) for d in destructive_statements(source, "migration")]
    assert found == ["migrations/x.sql:3 (migration): DROP TABLE zakaz.t",
                     "migrations/x.sql:4 (migration): TRUNCATE TABLE zakaz.u"]


def test_guard_path_allows_the_project_directories(tmp_path: Path) -> None:
    data = tmp_path / "infra" / "clickhouse" / "data"
    assert guard_path(data / "store" / "x.bin", project_roots(tmp_path, data)) == (data / "store" / "x.bin").resolve()
    assert guard_path(tmp_path / "logs", project_roots(tmp_path)) == (tmp_path / "logs").resolve()


@pytest.mark.parametrize("outside", ["../elsewhere", "logs/../../etc", "/etc/passwd", "~"])
def test_guard_path_refuses_anything_outside_with_the_path(tmp_path: Path, outside: str) -> None:
    target = Path(outside).expanduser() if outside.startswith(("/", "~")) else tmp_path / outside
    with pytest.raises(ConfigError, match="refusing to delete or overwrite .*outside the project"):
        guard_path(target, project_roots(tmp_path))


def test_guard_path_follows_symlinks(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "sneaky").symlink_to(tmp_path.parent)
    with pytest.raises(ConfigError, match=str(tmp_path.parent.resolve())):
        guard_path(tmp_path / "logs" / "sneaky", project_roots(tmp_path))


def test_guard_path_never_accepts_the_filesystem_root_as_a_root() -> None:
    with pytest.raises(ConfigError, match="none configured"):
        guard_path("/etc/passwd", ["/"])
