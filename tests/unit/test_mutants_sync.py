"""sync's small pure helpers pinned exactly (mutation survivors in plan/sync): line endings, quoted names in the
DROP it adds, the BOM, and the atomic write."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from chconform.config import SourceSpec
from chconform.errors import SourceError
from chconform.model import Difference
from chconform.plan import sync
from chconform.sql.source import Source, split_statements


@pytest.mark.parametrize(("text", "nl"), [
    ("a\nb\nc\n", "\n"),
    ("a\r\nb\r\nc\r\n", "\r\n"),
    ("a\r\nb\nc\r\nd\n", "\r\n"),  # half the lines: CRLF wins the tie
    ("a\r\nb\nc\nd\n", "\n"),  # a minority of CRLF lines
    ("a\r\nb\nc\n", "\n"),  # 1 of 3 lines
    ("no newline at all", "\n"),
    ("", "\n"),
], ids=["lf", "crlf", "tie", "minority", "one-of-three", "none", "empty"])
def test_a_files_line_ending_is_its_majority(text: str, nl: str) -> None:
    assert sync.newline_of(text) == nl


def test_text_takes_the_files_line_ending() -> None:
    assert sync._with_newlines("a\r\nb\nc", "\r\n") == "a\r\nb\r\nc"
    assert sync._with_newlines("a\r\nb\nc", "\n") == "a\nb\nc"
    assert sync._with_newlines("a\rb", "\n") == "a\rb"  # a lone CR is not a line ending


@pytest.mark.parametrize(("fqn", "shown"), [
    ("zakaz.dim_events", "zakaz.dim_events"),
    ("_tmp.t1", "_tmp.t1"),
    ("zakaz.1st", "zakaz.`1st`"),
    ("zakaz.my table", "zakaz.`my table`"),
    ("zakaz.a`b", "zakaz.`a``b`"),
    ("db-x.t", "`db-x`.t"),
    ("zakaz.", "zakaz.``"),
    ("zakaz.aé", "zakaz.aé"),
])
def test_names_in_an_added_drop_are_quoted_only_where_needed(fqn: str, shown: str) -> None:
    assert sync._name(fqn) == shown


def test_the_encoding_and_its_bom_are_kept_and_a_character_it_cannot_hold_is_one_line() -> None:
    assert sync.encode("é;\n", "utf-8-sig", "a.sql") == b"\xef\xbb\xbf" + "é;\n".encode()
    assert sync.encode("é;\n", "utf-8", "a.sql") == "é;\n".encode()
    assert sync.encode("ж;\n", "cp1251", "a.sql") == b"\xe6;\n"
    with pytest.raises(SourceError) as info:
        sync.encode("SELECT '✓';", "cp1251", "legacy.sql")
    assert str(info.value) == ("legacy.sql: the canonical text has '✓', which cp1251 cannot hold; save the file as "
                               "UTF-8 and run sync again")


def test_an_atomic_write_keeps_the_mode_and_leaves_nothing_behind(tmp_path: Path) -> None:
    file = tmp_path / "a.sql"
    file.write_bytes(b"old")
    os.chmod(file, 0o640)
    sync.write_atomic(file, b"new\r\n")
    assert file.read_bytes() == b"new\r\n" and (file.stat().st_mode & 0o7777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sql"]


def test_a_failed_atomic_write_leaves_the_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "a.sql"
    file.write_bytes(b"old")

    def refuse(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sync.os, "replace", refuse)
    with pytest.raises(OSError):
        sync.write_atomic(file, b"new")
    assert file.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sql"]


def test_the_temporary_file_is_a_hidden_sibling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beside the file (a rename within one directory, never across file systems), hidden, named for it."""
    file = tmp_path / "a.sql"
    file.write_bytes(b"old")
    moved: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        moved.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(sync.os, "replace", replace)
    sync.write_atomic(file, b"new")
    ((src, dst),) = moved
    assert Path(dst) == file and Path(src).parent == tmp_path
    assert Path(src).name.startswith(".a.sql.") and Path(src).name.endswith(".tmp")


def _source(text: str, path: str = "m.sql") -> Source:
    return Source(path, text, "utf-8", tuple(split_statements(text)))


def test_an_earlier_drop_counts_only_after_the_last_create() -> None:
    stmts = _source("DROP TABLE IF EXISTS zakaz.t;\nDROP TABLE IF EXISTS zakaz.u;\n"
                    "CREATE TABLE zakaz.t (a String) ENGINE = Log;\nCREATE TABLE zakaz.u (a String) ENGINE = Log;\n"
                    "CREATE TABLE zakaz.t (a String) ENGINE = Log;\n").statements
    assert sync._dropped_before(stmts, 2) is True  # the block of drops at the top
    assert sync._dropped_before(stmts, 3) is True  # another table's CREATE in between does not matter
    assert sync._dropped_before(stmts, 4) is False  # its own CREATE stands between
    assert sync._dropped_before(stmts, 0) is False
    other = _source("DROP TABLE IF EXISTS zakaz.x;\nCREATE TABLE zakaz.t (a String) ENGINE = Log;\n").statements
    assert sync._dropped_before(other, 1) is False  # a DROP of another table


def test_a_templated_source_is_left_alone_with_a_note(tmp_path: Path) -> None:
    text = "CREATE TABLE IF NOT EXISTS zakaz.t (a String) ENGINE = Log;\n"
    source = replace(_source(text, "t.sql"), original="CREATE TABLE IF NOT EXISTS ${DB}.t (a String) ENGINE = Log;\n",
                     templated=True)
    spec = SourceSpec("t.sql", tmp_path / "t.sql", "migration", ("zakaz.t",))
    plan = sync.plan_source(source, spec, {"zakaz.t": "CREATE TABLE zakaz.t (a UInt8) ENGINE = Log"})
    assert plan == sync.FilePlan("t.sql", tmp_path / "t.sql", "utf-8", source.original, source.original, (),
                                 ("t.sql: a template (placeholders from [variables]); sync does not rewrite it, apply "
                                  "the canonical definitions by hand",))


def test_canonical_texts_are_the_end_state_statements_of_decidable_objects() -> None:
    canon = _source("CREATE DATABASE IF NOT EXISTS zakaz;\n"
                    "CREATE TABLE IF NOT EXISTS zakaz.a (x String) ENGINE = Log;\n"
                    "CREATE TABLE IF NOT EXISTS zakaz.b (x String) ENGINE = Log;\n"
                    "ALTER TABLE zakaz.b ADD COLUMN y String;\n"
                    "CREATE TABLE IF NOT EXISTS zakaz.c AS zakaz.a;\n"
                    "CREATE OR REPLACE VIEW zakaz.v AS SELECT x FROM zakaz.a;\n"
                    "CREATE OR REPLACE VIEW zakaz.v AS SELECT x, 1 AS one FROM zakaz.a;\n")
    assert sync.canonical_texts(canon) == {
        "zakaz.a": "CREATE TABLE IF NOT EXISTS zakaz.a (x String) ENGINE = Log",
        "zakaz.v": "CREATE OR REPLACE VIEW zakaz.v AS SELECT x, 1 AS one FROM zakaz.a",
    }
    assert sync.canonical_texts(canon, ("zakaz.v", "zakaz.b", "zakaz.none")) == {
        "zakaz.v": "CREATE OR REPLACE VIEW zakaz.v AS SELECT x, 1 AS one FROM zakaz.a"}
    no_database = _source("CREATE TABLE IF NOT EXISTS zakaz.a (x String) ENGINE = Log;\n")
    assert sync.canonical_texts(no_database) == {}  # zakaz does not exist: the CREATE fails
    assert sync.canonical_texts(no_database, None, ("CREATE DATABASE IF NOT EXISTS zakaz",)) == {
        "zakaz.a": "CREATE TABLE IF NOT EXISTS zakaz.a (x String) ENGINE = Log"}  # the prelude made it


def test_beyond_sync_keeps_definition_findings_no_edit_touches() -> None:
    class Report:
        sources = (SimpleNamespace(path="m.sql", differences=(
            Difference("zakaz.t", "column_type", "String", "UInt8", "x", "m.sql", 4),
            Difference("zakaz.u", "engine", "Log", "Memory", None, "m.sql", None),
            Difference("zakaz.e", "engine", "Log", "Memory", None, "m.sql", 9),
            Difference("zakaz.t", "drop_not_recreated", "", "", None, "m.sql", 2, "role"),
            Difference("zakaz.t", "not_idempotent", "", "", None, "m.sql", 3),
            Difference("zakaz.t", "unknown_table", "", "", None, "m.sql", 5),
        )),)

    plans = [sync.FilePlan("m.sql", Path("m.sql"), "utf-8", "", "", (sync.Edit(0, 0, "", "why", "zakaz.e"),))]
    assert sync.beyond_sync(plans, Report()) == [("m.sql", "m.sql:4  zakaz.t.x  column_type"),
                                                 ("m.sql", "m.sql  zakaz.u  engine")]
    assert sync.beyond_sync(plans, object()) == []
    assert sync._a_definition("engine", "static") and not sync._a_definition("engine", "role")
    assert not sync._a_definition("duplicate_definition", "static")


CANON_T = "CREATE TABLE IF NOT EXISTS zakaz.t (a String) ENGINE = Log"
CANON_V = "CREATE OR REPLACE VIEW zakaz.v AS SELECT a FROM zakaz.t"
CANON_D = ("CREATE DICTIONARY IF NOT EXISTS zakaz.d (k UInt64, a String) PRIMARY KEY k SOURCE(NULL()) LAYOUT(FLAT()) "
           "LIFETIME(0)")
TEXTS = {"zakaz.t": CANON_T, "zakaz.v": CANON_V, "zakaz.d": CANON_D}
DB = "CREATE DATABASE IF NOT EXISTS zakaz;\n"


def _plan(text: str, role: str, must: tuple[str, ...] = ()) -> sync.FilePlan:
    return sync.plan_source(_source(text), SourceSpec("m.sql", Path("/r/m.sql"), role, must), TEXTS)


def test_a_missing_table_goes_at_the_end_of_a_file_without_an_anchor() -> None:
    p = _plan("-- empty\nSELECT 1;", "migration", ("zakaz.t",))
    assert p.new == f"-- empty\nSELECT 1;\n\nDROP TABLE IF EXISTS zakaz.t;\n{CANON_T};\n"
    assert [(e.start, e.end, e.why) for e in p.edits] == [(18, 18, "m.sql  zakaz.t: added (must_define) at the end of "
                                                                    "the file")]
    assert _plan("", "dump", ("zakaz.t",)).new == f"{CANON_T};\n"  # an empty file: no blank lines before it
    assert _plan("SELECT 1;\n", "dump", ("zakaz.t",)).new == f"SELECT 1;\n\n{CANON_T};\n"


def test_a_missing_table_follows_the_last_key_table_and_closes_its_statement() -> None:
    p = _plan(DB + "CREATE TABLE zakaz.t (a String) ENGINE = Log", "dump", ("zakaz.t", "zakaz.v", "zakaz.none"))
    assert p.new == f"{DB}{CANON_T};\n\n{CANON_V};"
    assert [(e.start, e.end, e.why, e.object) for e in p.edits] == [
        (37, 81, "m.sql:2  zakaz.t: rewritten to the canonical text (IF NOT EXISTS / OR REPLACE)", "zakaz.t"),
        (81, 81, "m.sql  zakaz.v: added (must_define) after line 2", ""),
    ]
    assert p.notes == ("m.sql  zakaz.none: must_define asks for it, but the canonical source does not define it",)


def test_the_drop_added_before_a_rewrite_names_what_it_drops() -> None:
    table = _plan(DB + "CREATE TABLE zakaz.t (a String) ENGINE = Log;\n", "migration")
    assert table.new == f"{DB}DROP TABLE IF EXISTS zakaz.t;\n{CANON_T};\n"
    assert [e.why for e in table.edits][1] == "m.sql:2  zakaz.t: DROP TABLE IF EXISTS added before it (migration)"
    dictionary = _plan(DB + "CREATE DICTIONARY zakaz.d (k UInt64, a String) PRIMARY KEY k SOURCE(NULL()) "
                            "LAYOUT(HASHED()) LIFETIME(0);\n", "init")
    assert dictionary.new == f"{DB}DROP DICTIONARY IF EXISTS zakaz.d;\n{CANON_D};\n"
    assert [e.why for e in dictionary.edits] == [
        "m.sql:2  zakaz.d: rewritten to the canonical text (definition)",
        "m.sql:2  zakaz.d: DROP DICTIONARY IF EXISTS added before it (init)"]
    view = _plan(DB + "CREATE VIEW zakaz.v AS SELECT 1 AS a;\n", "init")  # OR REPLACE in the canon: no DROP
    assert view.new == f"{DB}{CANON_V};\n"
    assert [e.why for e in view.edits] == ["m.sql:2  zakaz.v: rewritten to the canonical text (view_query)"]
    plain_view = replace(_source(DB + "CREATE VIEW zakaz.v AS SELECT 1 AS a;\n"))
    texts = {"zakaz.v": "CREATE VIEW IF NOT EXISTS zakaz.v AS SELECT a FROM zakaz.t"}
    p = sync.plan_source(plain_view, SourceSpec("m.sql", Path("/r/m.sql"), "migration", ()), texts)
    assert p.new == f"{DB}DROP VIEW IF EXISTS zakaz.v;\nCREATE VIEW IF NOT EXISTS zakaz.v AS SELECT a FROM zakaz.t;\n"
