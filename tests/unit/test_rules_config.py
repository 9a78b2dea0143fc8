"""Rules users can live with: DROP rules, severities from [rules], inline ignores reported; config tables checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from chconform.checks.rules import RULES, apply_rules, inline_ignores, role_findings
from chconform.config import load_config
from chconform.errors import ConfigError
from chconform.sql.source import Source, split_statements


def _source(text: str) -> Source:
    return Source("m.sql", text, "utf-8", tuple(split_statements(text)))


def _found(text: str, role: str = "migration") -> list[tuple[str, str, int | None]]:
    return [(d.aspect, d.object, d.line) for d in role_findings(_source(text), role)]


def test_a_drop_followed_by_the_create_of_another_table_is_not_a_re_create() -> None:
    """Issue 18's survivor: the CREATE right after the DROP must be of the same table."""
    text = "DROP TABLE IF EXISTS s.t;\nCREATE TABLE IF NOT EXISTS s.u (a UInt8) ENGINE = Memory;"
    assert _found(text) == [("drop_not_recreated", "s.t", 1)]
    same = "DROP TABLE IF EXISTS s.t;\nCREATE TABLE IF NOT EXISTS s.t (a UInt8) ENGINE = Memory;"
    assert _found(same) == []


def test_dropped_database_is_named_as_a_database() -> None:
    (d,) = role_findings(_source("DROP DATABASE IF EXISTS scratch;"), "init")
    assert (d.object, d.actual) == ("scratch", "DROP DATABASE scratch")
    assert _found("DROP DATABASE IF EXISTS scratch;\nCREATE DATABASE IF NOT EXISTS scratch;") == []


def test_a_view_drop_says_drop_view_and_loses_no_rows() -> None:
    (d,) = role_findings(_source("DROP VIEW IF EXISTS s.old_report;"), "migration")
    assert (d.aspect, d.actual) == ("drop_view_not_recreated", "DROP VIEW s.old_report")
    assert RULES["drop_view_not_recreated"][0] == "warning" and RULES["drop_not_recreated"][0] == "error"


def test_views_and_dictionaries_hold_no_rows() -> None:
    assert _found("DROP DICTIONARY IF EXISTS s.d;") == [("drop_view_not_recreated", "s.d", 1)]
    text = "CREATE VIEW s.v AS SELECT 1;\nDROP TABLE s.v;"  # DROP TABLE of what the file made a view
    assert _found(text) == [("drop_view_not_recreated", "s.v", 2)]
    text = "CREATE TABLE s.v (a UInt8) ENGINE = Memory;\nDROP TABLE s.v;"
    assert _found(text) == [("drop_not_recreated", "s.v", 2)]


def test_a_rebuild_through_rename_re_creates_the_table() -> None:
    text = ("CREATE TABLE s.t_new (a UInt8) ENGINE = Memory;\nDROP TABLE s.t;\n"
            "RENAME TABLE s.t_new TO s.t;")
    assert _found(text) == []  # re-created by the RENAME right after the DROP
    later = "DROP TABLE s.t;\nSELECT 1;\nRENAME TABLE s.t_new TO s.t;"
    assert _found(later) == [("drop_before_create", "s.t", 1)]


def test_truncate_in_a_migration_loses_rows_and_a_dump_drops_nothing() -> None:
    assert _found("TRUNCATE TABLE s.t;") == [("drop_not_recreated", "s.t", 1)]
    assert _found("DROP TABLE IF EXISTS s.t;\nCREATE TABLE s.t (a UInt8) ENGINE = Memory;", "dump") == [
        ("drop_in_dump", "s.t", 1)]


def test_severity_from_config_and_default() -> None:
    text = "DROP TABLE IF EXISTS s.a;\nSELECT 1;\nCREATE TABLE s.a (x UInt8) ENGINE = Memory;"
    found = role_findings(_source(text), "migration")
    default = apply_rules(found, _source(text))
    assert default.errors == () and len(default.warnings) == 1 and "drop_before_create" in default.warnings[0]
    strict = apply_rules(found, _source(text), {"drop_before_create": "error"})
    assert [d.aspect for d in strict.errors] == ["drop_before_create"] and strict.warnings == ()
    off = apply_rules(found, _source(text), {"drop_before_create": "off"})
    assert off.errors == () and off.warnings == () and off.ignored[0].endswith("(off in [rules])")


def test_inline_ignore_is_reported_with_its_reason_never_silently() -> None:
    text = ("-- chconform: ignore[drop_not_recreated] legacy table, rows exported\n"
            "DROP TABLE IF EXISTS s.legacy;\nDROP TABLE IF EXISTS s.other;")
    policy = apply_rules(role_findings(_source(text), "migration"), _source(text))
    assert [(d.object, d.line) for d in policy.errors] == [("s.other", 3)]  # the ignore covers its statement only
    (ignored,) = policy.ignored
    assert ignored.startswith("m.sql:2: drop_not_recreated: DROP TABLE s.legacy")
    assert ignored.endswith("(ignored: legacy table, rows exported)")


def test_inline_ignore_without_reason_does_not_ignore() -> None:
    text = "DROP TABLE IF EXISTS s.legacy; -- chconform: ignore[drop_not_recreated]"
    policy = apply_rules(role_findings(_source(text), "migration"), _source(text))
    assert [d.aspect for d in policy.errors] == ["drop_not_recreated"]
    assert any("ignore_without_reason" in w for w in policy.warnings)


def test_inline_ignore_of_another_rule_matches_nothing_and_says_so() -> None:
    text = "-- chconform: ignore[column_type] not this one\nDROP TABLE IF EXISTS s.legacy;"
    policy = apply_rules(role_findings(_source(text), "migration"), _source(text))
    assert [d.aspect for d in policy.errors] == ["drop_not_recreated"]
    assert policy.warnings == ("m.sql:1: ignore[column_type] matches no finding here; remove it",)
    assert [(g.line, g.rules, g.reason) for g in inline_ignores(text)] == [(1, ("column_type",), "not this one")]


def _config(tmp_path: Path, tables: str) -> Path:
    (tmp_path / "s.sql").write_text("SELECT 1;\n", encoding="utf-8")
    file = tmp_path / "chconform.toml"
    file.write_text(f'canonical = "s.sql"\n[[source]]\npath = "s.sql"\n{tables}\n', encoding="utf-8")
    return file


def test_rules_table_is_checked(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, '[rules]\ndrop_before_create = "off"\ncolumn_comment = "warning"'))
    assert config.rule_severity == {"drop_before_create": "off", "column_comment": "warning"}
    with pytest.raises(ConfigError, match="unknown rule 'drop_befor_create'"):
        load_config(_config(tmp_path, '[rules]\ndrop_befor_create = "off"'))
    with pytest.raises(ConfigError, match="use one of error, warning, off"):
        load_config(_config(tmp_path, '[rules]\ndrop_before_create = "info"'))


def test_settings_and_macros_tables_are_checked(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, '[settings]\nallow_nullable_key = true\nbackground_pool_size = 32\n'
                                           '[macros]\ncluster = "main"\nshard = 3'))
    assert config.settings == (("allow_nullable_key", "1"), ("background_pool_size", "32"))
    assert dict(config.macros) == {"cluster": "main", "shard": "3"}
    with pytest.raises(ConfigError, match="storage_policy"):
        load_config(_config(tmp_path, '[settings]\nstorage_policy = "s3"'))
    with pytest.raises(ConfigError, match=r"\[macros\]"):
        load_config(_config(tmp_path, '[macros]\ncluster = "<x>"'))
