"""The statement rules and the rule policy asserted whole (mutation survivors in checks/rules).

Each DROP in a migration gets the one rule it answers to, with its expected/actual text and line; the policy
splits findings into errors, warnings and ignored lines exactly as reported.
"""

from __future__ import annotations

from chconform.checks.rules import Ignore, apply_rules, inline_ignores, role_findings, rule_id
from chconform.model import Difference
from chconform.sql.source import Source, split_statements


def source(text: str) -> Source:
    return Source("m.sql", text, "utf-8", tuple(split_statements(text)))


MIGRATION = """DROP TABLE IF EXISTS zakaz.a;
CREATE TABLE zakaz.a (x String) ENGINE = Memory;
DROP TABLE IF EXISTS zakaz.b;
DROP TABLE IF EXISTS zakaz.c;
CREATE TABLE zakaz.c (x String) ENGINE = Memory;
CREATE TABLE zakaz.b (x String) ENGINE = Memory;
DROP VIEW IF EXISTS zakaz.v;
DROP DICTIONARY IF EXISTS zakaz.d;
TRUNCATE TABLE zakaz.t;
DROP DATABASE IF EXISTS old;
DROP TABLE IF EXISTS zakaz.e;
CREATE TABLE zakaz.other (x String) ENGINE = Memory;
DROP TABLE zakaz.f;
RENAME TABLE zakaz.f_new TO zakaz.f;
CREATE VIEW zakaz.w AS SELECT 1;
DROP TABLE zakaz.w;
DROP DATABASE IF EXISTS scratch;
CREATE DATABASE scratch;
"""
LOST = "never created again in this file (its rows are lost)"
VIEW = "not created again in this file (a view holds no rows)"


def role(obj: str, aspect: str, expected: str, actual: str, line: int) -> Difference:
    return Difference(obj, aspect, expected, actual, source="m.sql", line=line, check="role")


def test_each_drop_in_a_migration_gets_its_rule() -> None:
    assert role_findings(source(MIGRATION), "migration") == [
        role("zakaz.b", "drop_before_create", "re-created at line 6, not right after the DROP", "DROP TABLE zakaz.b", 3),
        role("zakaz.v", "drop_view_not_recreated", VIEW, "DROP VIEW zakaz.v", 7),
        role("zakaz.d", "drop_view_not_recreated",
             "not created again in this file (a dictionary holds no rows of its own)", "DROP DICTIONARY zakaz.d", 8),
        role("zakaz.t", "drop_not_recreated", "no TRUNCATE (the rows are lost)", "TRUNCATE zakaz.t", 9),
        role("old", "drop_not_recreated", LOST, "DROP DATABASE old", 10),
        role("zakaz.e", "drop_not_recreated", LOST, "DROP TABLE zakaz.e", 11),  # the next CREATE is another table
        role("zakaz.w", "drop_view_not_recreated", VIEW, "DROP TABLE zakaz.w", 16),  # it was a view
    ]
    assert role_findings(source(MIGRATION), "init") == role_findings(source(MIGRATION), "migration")


def test_a_dump_drops_nothing() -> None:
    text = "DROP TABLE zakaz.a;\nTRUNCATE zakaz.b;\nDROP DATABASE x;\nCREATE TABLE zakaz.a (x String) ENGINE = Log;\n"
    rule = "no DROP or TRUNCATE in a dump"
    assert role_findings(source(text), "dump") == [
        role("zakaz.a", "drop_in_dump", rule, "DROP TABLE zakaz.a", 1),
        role("zakaz.b", "drop_in_dump", rule, "TRUNCATE zakaz.b", 2),
        role("x", "drop_in_dump", rule, "DROP DATABASE x", 3),
    ]


def test_a_dropped_table_and_a_database_of_the_same_name_are_not_one_object() -> None:
    text = "DROP DATABASE IF EXISTS zakaz;\nCREATE TABLE default.zakaz (x String) ENGINE = Log;\n"
    assert role_findings(source(text), "migration") == [role("zakaz", "drop_not_recreated", LOST,
                                                             "DROP DATABASE zakaz", 1)]
    text = "DROP TABLE IF EXISTS zakaz.t;\nRENAME TABLE zakaz.t_old TO zakaz.t2;\n"
    assert role_findings(source(text), "migration") == [role("zakaz.t", "drop_not_recreated", LOST,
                                                             "DROP TABLE zakaz.t", 1)]
    text = "DROP TABLE IF EXISTS t;\nRENAME TABLE t_new TO t;\n"  # unqualified names are the default database's
    assert role_findings(source(text), "migration") == []


def test_rule_ids() -> None:
    assert rule_id(Difference("t", "engine", check="idempotency")) == "idempotency"
    assert rule_id(Difference("t", "engine", check="duplicate")) == "duplicate"
    assert rule_id(Difference("t", "engine", check="static")) == "engine"
    assert rule_id(Difference("t", "drop_in_dump", check="role")) == "drop_in_dump"


POLICY_TEXT = """-- chconform: ignore[drop_not_recreated] the old table is archived elsewhere
DROP TABLE zakaz.old;
DROP TABLE zakaz.gone; -- chconform: ignore[drop_not_recreated]
CREATE TABLE zakaz.t
(
    x String -- chconform: ignore[column_type, engine] the type is widened on purpose
) ENGINE = Memory;
-- chconform: ignore[all] everything here is legacy
DROP VIEW zakaz.v;
-- chconform: ignore[engine] nothing to ignore below
SELECT 1;
"""


def test_inline_ignores_are_read_with_their_rules_and_reason() -> None:
    assert inline_ignores(POLICY_TEXT) == [
        Ignore(1, ("drop_not_recreated",), "the old table is archived elsewhere"),
        Ignore(3, ("drop_not_recreated",), ""),
        Ignore(6, ("column_type", "engine"), "the type is widened on purpose"),
        Ignore(8, ("all",), "everything here is legacy"),
        Ignore(10, ("engine",), "nothing to ignore below"),
    ]
    assert inline_ignores("-- chconform: ignore[ a ,, b ]   why  \n") == [Ignore(1, ("a", "b"), "why")]


def test_the_policy_splits_errors_warnings_and_ignored_lines() -> None:
    src = source(POLICY_TEXT)
    found = role_findings(src, "migration") + [
        Difference("zakaz.t", "column_type", "String", "UInt8", "x", "m.sql", 6),
        Difference("zakaz.t", "engine", "MergeTree", "Memory", None, "m.sql", 4),
        Difference("zakaz.u", "column_comment", "a", "", "y", "m.sql", 40),
        Difference("zakaz.u", "not_idempotent", "", "", None, "m.sql", None, "idempotency"),
    ]
    policy = apply_rules(found, src, {"column_comment": "warning", "idempotency": "off"})
    assert policy.errors == (role("zakaz.gone", "drop_not_recreated", LOST, "DROP TABLE zakaz.gone", 3),)
    assert policy.warnings == (
        "m.sql:40: column_comment: zakaz.u.y: canonical a, here ∅",
        "m.sql:3: ignore_without_reason: ignore[drop_not_recreated] says no reason; write why after it (the finding "
        "still counts)",
        "m.sql:10: ignore[engine] matches no finding here; remove it",
    )
    assert policy.ignored == (
        f"m.sql:2: drop_not_recreated: DROP TABLE zakaz.old: {LOST} (ignored: the old table is archived elsewhere)",
        f"m.sql:9: drop_view_not_recreated: DROP VIEW zakaz.v: {VIEW} (ignored: everything here is legacy)",
        "m.sql:6: column_type: zakaz.t.x: canonical String, here UInt8 (ignored: the type is widened on purpose)",
        "m.sql:4: engine: zakaz.t: canonical MergeTree, here Memory (ignored: the type is widened on purpose)",
        "m.sql: idempotency: zakaz.u: canonical ∅, here ∅ (off in [rules])",
    )


def test_default_severities_and_no_source() -> None:
    text = "DROP TABLE zakaz.b;\nSELECT 1;\nCREATE TABLE zakaz.b (x String) ENGINE = Log;\nDROP VIEW zakaz.v;\n"
    src = source(text)
    policy = apply_rules(role_findings(src, "migration"), src)
    assert policy.errors == () and policy.ignored == ()
    assert policy.warnings == (
        "m.sql:1: drop_before_create: DROP TABLE zakaz.b: re-created at line 3, not right after the DROP",
        f"m.sql:4: drop_view_not_recreated: DROP VIEW zakaz.v: {VIEW}",
    )
    assert apply_rules(role_findings(src, "migration"), src, {"drop_before_create": "error"}).errors[0].line == 1
    bare = apply_rules([Difference("zakaz.a", "engine", "A", "B")], None)
    assert (bare.errors, bare.warnings, bare.ignored) == ((Difference("zakaz.a", "engine", "A", "B"),), (), ())
    off = apply_rules([Difference("zakaz.a", "engine", "A", "B")], None, {"engine": "off"})
    assert off.ignored == (": engine: zakaz.a: canonical A, here B (off in [rules])",)


def test_a_finding_without_a_file_takes_the_sources_path_and_no_source_means_no_ignores() -> None:
    src = source("SELECT 1;\n")
    policy = apply_rules([Difference("zakaz.a", "engine", "A", "B")], src, {"engine": "warning"})
    assert policy.warnings == ("m.sql: engine: zakaz.a: canonical A, here B",)
    bare = apply_rules([Difference("zakaz.a", "engine", "A", "B", None, "x.sql", 3)], None, {"engine": "warning"})
    assert bare.warnings == ("x.sql:3: engine: zakaz.a: canonical A, here B",)


def test_an_ignore_naming_several_rules_is_reported_with_all_of_them() -> None:
    src = source("-- chconform: ignore[engine, ttl]\nSELECT 1;\n-- chconform: ignore[engine, ttl] why\nSELECT 2;\n")
    assert apply_rules([], src).warnings == (
        "m.sql:1: ignore_without_reason: ignore[engine, ttl] says no reason; write why after it (the finding still "
        "counts)",
        "m.sql:3: ignore[engine, ttl] matches no finding here; remove it",
    )


def test_an_ignore_covers_its_statements_lines_and_the_line_above_only() -> None:
    text = ("SELECT 0;\n-- chconform: ignore[engine] above\nCREATE TABLE zakaz.t\n(\n    a String\n)\n"
            "ENGINE = Log; -- chconform: ignore[ttl] last line\nSELECT 1;\n-- chconform: ignore[sorting_key] too far\n\n")
    src = source(text)
    found = [Difference("zakaz.t", "engine", "A", "B", None, "m.sql", 3),
             Difference("zakaz.t", "ttl", "A", "B", None, "m.sql", 4),
             Difference("zakaz.t", "sorting_key", "A", "B", None, "m.sql", 11)]  # past every statement
    policy = apply_rules(found, src)
    assert [d.aspect for d in policy.errors] == ["sorting_key"]
    assert [line.split(":")[2].strip() for line in policy.ignored] == ["engine", "ttl"]
    near = apply_rules([Difference("zakaz.t", "sorting_key", "A", "B", None, "m.sql", 10)], src)
    assert near.errors == () and near.ignored[0].endswith("(ignored: too far)")  # the line above line 10
    far = apply_rules([Difference("zakaz.t", "sorting_key", "A", "B", None, "m.sql", 12)], src)
    assert [d.aspect for d in far.errors] == ["sorting_key"]


def test_a_drop_table_of_a_plain_table_is_not_taken_for_a_view_another_statement_made() -> None:
    text = ("CREATE TABLE zakaz.t (a String) ENGINE = Log;\nCREATE VIEW zakaz.v AS SELECT 1;\nDROP TABLE zakaz.t;\n")
    assert role_findings(source(text), "migration") == [role("zakaz.t", "drop_not_recreated", LOST,
                                                             "DROP TABLE zakaz.t", 3)]


def test_a_quoted_rename_re_creates_the_dropped_table() -> None:
    for new in ("`zakaz`.`t`", '"zakaz"."t"'):
        text = f"DROP TABLE IF EXISTS zakaz.t;\nRENAME TABLE zakaz.t_new TO {new};\n"
        assert role_findings(source(text), "migration") == [], new


def test_an_ignore_above_a_statement_covers_a_finding_on_its_last_line() -> None:
    text = "SELECT 0;\n-- chconform: ignore[ttl] kept on purpose\nCREATE TABLE zakaz.t\n(\n    a String\n)\nENGINE = Log;\n"
    policy = apply_rules([Difference("zakaz.t", "ttl", "A", "B", None, "m.sql", 7)], source(text))
    assert policy.errors == () and policy.ignored == ("m.sql:7: ttl: zakaz.t: canonical A, here B "
                                                      "(ignored: kept on purpose)",)


def test_an_ignore_on_the_line_after_a_statement_does_not_cover_it() -> None:
    text = "CREATE TABLE zakaz.t\n(\n    a String\n)\nENGINE = Log;\n-- chconform: ignore[ttl] meant for the next\nSELECT 1;\n"
    policy = apply_rules([Difference("zakaz.t", "ttl", "A", "B", None, "m.sql", 3)], source(text))
    assert [d.line for d in policy.errors] == [3] and policy.ignored == ()
    assert policy.warnings == ("m.sql:6: ignore[ttl] matches no finding here; remove it",)


def test_an_ignore_on_the_line_after_a_finding_outside_any_statement_does_not_cover_it() -> None:
    text = "SELECT 1;\n\n\n\n-- chconform: ignore[ttl] below the finding\n"
    policy = apply_rules([Difference("zakaz.t", "ttl", "A", "B", None, "m.sql", 4)], source(text))
    assert [d.line for d in policy.errors] == [4] and policy.ignored == ()
    above = apply_rules([Difference("zakaz.t", "ttl", "A", "B", None, "m.sql", 6)], source(text))
    assert above.errors == () and above.ignored == ("m.sql:6: ttl: zakaz.t: canonical A, here B "
                                                    "(ignored: below the finding)",)


def test_a_drop_with_a_long_comment_before_its_kind_is_still_read() -> None:
    """Bug fixed in issue 18: the kind was read from the first 200 characters only; a longer comment was cut
    open (the lexer refused it: "unterminated comment") or hid the VIEW, making a view's drop an error."""
    text = "DROP /* " + "why " * 60 + "*/ VIEW IF EXISTS zakaz.v;\nDROP TABLE /* '" + "x" * 200 + "' */ zakaz.t;\n"
    assert role_findings(source(text), "migration") == [
        role("zakaz.v", "drop_view_not_recreated", VIEW, "DROP VIEW zakaz.v", 1),
        role("zakaz.t", "drop_not_recreated", LOST, "DROP TABLE zakaz.t", 2),
    ]


def test_a_half_written_drop_is_named_by_a_question_mark() -> None:
    text = "DROP TABLE;\nTRUNCATE;\nCREATE TABLE;\n"
    assert role_findings(source(text), "migration") == [
        role("?", "drop_not_recreated", LOST, "DROP TABLE ?", 1),
        role("?", "drop_not_recreated", "no TRUNCATE (the rows are lost)", "TRUNCATE ?", 2),
    ]


def test_a_half_written_create_database_re_creates_no_database() -> None:
    text = "DROP DATABASE IF EXISTS XXXX;\nCREATE DATABASE;\n"
    assert role_findings(source(text), "migration") == [role("XXXX", "drop_not_recreated", LOST,
                                                             "DROP DATABASE XXXX", 1)]


def test_a_database_name_holding_a_dot_is_one_name() -> None:
    assert role_findings(source("DROP DATABASE IF EXISTS `a.b`;\nCREATE DATABASE `a.b`;\n"), "migration") == []
    assert role_findings(source("DROP DATABASE IF EXISTS `a.b`;\nCREATE DATABASE `b`;\n"), "migration") == [
        role("a.b", "drop_not_recreated", LOST, "DROP DATABASE a.b", 1)]
    assert role_findings(source("DROP DATABASE IF EXISTS `b`;\nCREATE DATABASE `a.b`;\n"), "migration") == [
        role("b", "drop_not_recreated", LOST, "DROP DATABASE b", 1)]
