"""Mutation tests of sql/source (decoding, the lexer, the statement splitter, templates, a column's line).

Each test pins exact behaviour: tokens with their kinds and offsets, statements with their lines, columns
and offsets, error messages in full (file, line, what is wrong, what to do).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chconform.errors import SourceError
from chconform.sql.lexer import Token, tokenize
from chconform.sql.locate import column_line
from chconform.sql.source import Source, Statement, decode, first_link, read_source, split_statements
from chconform.sql.templates import check_value, placeholders, substitute

# --- the lexer ------------------------------------------------------------------------------------------


def test_every_token_kind_with_its_offset() -> None:
    assert tokenize("SELECT a1, 'x' -- c\n") == [
        Token("word", "SELECT", 0), Token("space", " ", 6), Token("word", "a1", 7), Token("punct", ",", 9),
        Token("space", " ", 10), Token("string", "'x'", 11), Token("space", " ", 14),
        Token("comment", "-- c", 15), Token("space", "\n", 19)]


def test_quoted_names_numbers_comments_and_heredocs_with_their_offsets() -> None:
    text = '`a b`."c""d" 1.5e3 /* x /* y */ z */#!sh\n# h\n#x $t$a;b$t$ $$'
    assert tokenize(text) == [
        Token("ident", "`a b`", 0), Token("punct", ".", 5), Token("ident", '"c""d"', 6), Token("space", " ", 12),
        Token("number", "1.5e3", 13), Token("space", " ", 18), Token("comment", "/* x /* y */ z */", 19),
        Token("comment", "#!sh", 36), Token("space", "\n", 40), Token("comment", "# h", 41),
        Token("space", "\n", 44), Token("punct", "#", 45), Token("word", "x", 46), Token("space", " ", 47),
        Token("string", "$t$a;b$t$", 48), Token("space", " ", 57), Token("word", "$$", 58)]


def test_an_empty_comment_closes_at_once() -> None:
    assert tokenize("/**/x/*/**/*/") == [Token("comment", "/**/", 0), Token("word", "x", 4),
                                          Token("comment", "/*/**/*/", 5)]


def test_a_closing_heredoc_tag_right_after_the_opening_one_closes_it() -> None:
    assert tokenize("$a$$a$") == [Token("string", "$a$$a$", 0)]
    assert tokenize("$$$$ $$x$$") == [Token("string", "$$$$", 0), Token("space", " ", 4),
                                      Token("string", "$$x$$", 5)]


def test_a_dollar_that_opens_no_heredoc_is_part_of_a_word() -> None:
    assert tokenize("$a$ x") == [Token("word", "$a$", 0), Token("space", " ", 3), Token("word", "x", 4)]
    assert tokenize("$1,$x") == [Token("word", "$1", 0), Token("punct", ",", 2), Token("word", "$x", 3)]
    assert tokenize("x $b$ y $c$z$c$") == [
        Token("word", "x", 0), Token("space", " ", 1), Token("word", "$b$", 2), Token("space", " ", 5),
        Token("word", "y", 6), Token("space", " ", 7), Token("string", "$c$z$c$", 8)]


def test_backslashes_and_doubled_quotes_stay_inside_their_string() -> None:
    assert tokenize(r"'a\\' 'b\'c' 'd''e'") == [
        Token("string", r"'a\\'", 0), Token("space", " ", 5), Token("string", r"'b\'c'", 6),
        Token("space", " ", 12), Token("string", "'d''e'", 13)]


@pytest.mark.parametrize(("text", "message"), [
    ("SELECT 1;\n  'abc", "line 2:3: unterminated string; close it with '"),
    ("\n\"a", 'line 2:1: unterminated quoted identifier; close it with "'),
    ("x\n\ny `a", "line 3:3: unterminated quoted identifier; close it with `"),
    ("SELECT 'a\\'", "line 1:8: unterminated string; close it with '"),
    ("/* a /* b */", "line 1:1: unterminated comment /*; close it with */"),
    ("\nSELECT 1 /* a */ /* b", "line 2:18: unterminated comment /*; close it with */"),
    ("SELECT 1 /* a\n\n", "line 1:10: unterminated comment /*; close it with */"),
], ids=["string", "double-quoted name", "backquoted name", "escaped closing quote", "nested comment",
        "second comment", "lines after it"])
def test_an_unterminated_token_is_one_error_with_line_column_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        tokenize(text)
    assert str(caught.value) == message


# --- decoding --------------------------------------------------------------------------------------------


def test_utf8_with_and_without_a_byte_order_mark() -> None:
    assert decode("SELECT 'é'".encode()) == ("SELECT 'é'", "utf-8", [])
    assert decode(b"\xef\xbb\xbfSELECT '\xc3\xa9'") == ("SELECT 'é'", "utf-8-sig", [])
    assert decode(b"\xef\xbb\xbf") == ("", "utf-8-sig", [])


def test_cp1251_when_the_bytes_are_not_utf8() -> None:
    assert decode("SELECT 'Москва'".encode("cp1251"), "x.sql") == ("SELECT 'Москва'", "cp1251", [])


def test_a_byte_order_mark_followed_by_bytes_that_are_not_utf8_is_one_error() -> None:
    # this used to escape as a UnicodeDecodeError (a traceback); cp1251 is not guessed: the mark says UTF-8
    with pytest.raises(SourceError) as caught:
        decode(b"\xef\xbb\xbfSELECT 1;\nSELECT '\xcc\xee';", "seed/a.sql")
    assert str(caught.value) == ("seed/a.sql:2: not utf-8 text, though it starts with a UTF-8 byte-order mark "
                                 "(invalid continuation byte); save it as UTF-8")


def test_bytes_that_are_neither_utf8_nor_cp1251_are_one_error_naming_the_line() -> None:
    with pytest.raises(SourceError) as caught:
        decode(b"SELECT 1;\nSELECT 2;\n\x98", "seed/a.sql")
    assert str(caught.value) == "seed/a.sql:3: not utf-8 or cp1251 text (invalid start byte); save it as UTF-8"
    with pytest.raises(SourceError) as caught:
        decode(b"\x98")
    assert str(caught.value) == "<source>:1: not utf-8 or cp1251 text (invalid start byte); save it as UTF-8"


def test_a_nul_byte_is_a_binary_file() -> None:
    with pytest.raises(SourceError) as caught:
        decode(b"SELECT 1;\x00", "seed/a.sql")
    assert str(caught.value) == "seed/a.sql: binary file (contains NUL bytes), not SQL text"


def test_mojibake_is_warned_line_by_line_from_three_latin_or_two_cp1251_pairs() -> None:
    text = "SELECT 1;\n-- ÐÑÃ\n-- ÐÑ\n-- Р°Рµ\n-- Р°\n-- ÂÂÂ Р»Р»\n"
    _, _, warnings = decode(text.encode(), "a.sql")
    assert warnings == [f"a.sql:{n}: text looks double-encoded (mojibake); check the file's encoding"
                        for n in (2, 4, 6)]


# --- splitting: lines, columns, offsets ------------------------------------------------------------------


def test_each_statement_keeps_its_line_column_start_and_end() -> None:
    text = "  SELECT 1; SELECT 2;\n\n   SELECT 3;\nSELECT 4"
    stmts = split_statements(text)
    assert [(s.text, s.line, s.column, s.start, s.end) for s in stmts] == [
        ("SELECT 1", 1, 3, 2, 11), ("SELECT 2", 1, 13, 12, 21), ("SELECT 3", 3, 4, 26, 35),
        ("SELECT 4", 4, 1, 36, 44)]


def test_a_leading_line_break_counts() -> None:
    assert [(s.line, s.column) for s in split_statements("\nSELECT 1;\n\nSELECT 2")] == [(2, 1), (4, 1)]


def test_comments_and_spaces_around_a_statement_are_not_its_text() -> None:
    (stmt,) = split_statements("/* a */ -- b\n SELECT 1 /* c */ ; -- d\n")
    assert (stmt.text, stmt.line, stmt.column, stmt.start, stmt.end) == ("SELECT 1", 2, 2, 14, 32)


def test_only_a_semicolon_splits() -> None:
    assert [s.text for s in split_statements("SELECT 1, 2 . 3;SELECT (4)")] == ["SELECT 1, 2 . 3", "SELECT (4)"]


def test_use_switches_the_database_of_the_statements_after_it() -> None:
    stmts = split_statements("USE db1; CREATE TABLE t (a Int8) ENGINE = Memory; USE `db 2`; DROP TABLE t; USE;"
                             " DROP TABLE u; CREATE TABLE other.v (a Int8) ENGINE = Memory; DROP TABLE w")
    assert [(s.kind, s.target) for s in stmts] == [
        ("use", "db1"), ("create_table", "db1.t"), ("use", "db 2"), ("drop_table", "db 2.t"), ("use", None),
        ("drop_table", "db 2.u"), ("create_table", "other.v"), ("drop_table", "db 2.w")]


def test_the_database_is_default_unless_named() -> None:
    assert [s.target for s in split_statements("DROP TABLE t")] == ["default.t"]
    assert [s.target for s in split_statements("DROP TABLE t", "seed")] == ["seed.t"]


def test_the_name_span_is_relative_to_the_statement() -> None:
    first, second = split_statements("SELECT 1;\nCREATE TABLE IF NOT EXISTS `db`.t (a Int8) ENGINE = Memory")
    assert first.target_span is None
    assert second.target_span == (27, 33) and second.text[27:33] == "`db`.t"
    _, drop = split_statements("SELECT 1; DROP TABLE t")
    assert (drop.target, drop.target_span) == ("default.t", (11, 12))


@pytest.mark.parametrize(("text", "target", "span"), [
    ("DROP TABLE db.", "default.db", (11, 13)),
    ("DROP TABLE db.'x'", "default.db", (11, 13)),
    ("DROP TABLE db.1", "default.db", (11, 13)),
    ("DROP TABLE \"a\".b", "a.b", (11, 16)),
    ("DROP TABLE a.`b`", "a.b", (11, 16)),
    ("DROP TABLE 'x'", None, None),
    ("DROP TABLE (x)", None, None),
    ("DROP TABLE", None, None),
    ("DROP DATABASE", None, None),
])
def test_the_object_name_is_a_word_or_quoted_name_with_an_optional_database(
        text: str, target: str | None, span: tuple[int, int] | None) -> None:
    (stmt,) = split_statements(text)
    assert (stmt.target, stmt.target_span) == (target, span)


# --- classifying -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind", "target", "if_not_exists", "or_replace"), [
    ("CREATE TABLE t (a Int8) ENGINE = Memory", "create_table", "default.t", False, False),
    ("CREATE OR REPLACE TABLE d.t (a Int8) ENGINE = Memory", "create_table", "d.t", False, True),
    ("CREATE TEMPORARY TABLE IF NOT EXISTS t (a Int8)", "create_table", "default.t", True, False),
    ("REPLACE TABLE d.t (a Int8) ENGINE = Memory", "create_table", "d.t", False, False),
    ("CREATE VIEW IF NOT EXISTS d.v AS SELECT 1", "create_view", "d.v", True, False),
    ("CREATE LIVE VIEW d.v AS SELECT 1", "create_view", "d.v", False, False),
    ("CREATE WINDOW VIEW IF NOT EXISTS d.w AS SELECT 1", "create_view", "d.w", True, False),
    ("CREATE MATERIALIZED VIEW d.m TO d.t AS SELECT 1", "create_materialized_view", "d.m", False, False),
    ("CREATE DICTIONARY d.x (k UInt64) PRIMARY KEY k SOURCE(NULL()) LAYOUT(FLAT()) LIFETIME(0)",
     "create_dictionary", "d.x", False, False),
    ("CREATE OR REPLACE FUNCTION f AS (x) -> x", "create_function", "default.f", False, True),
    ("CREATE DATABASE d ENGINE = Atomic", "create_database", "default.d", False, False),
    ("CREATE DATABASE IF NOT EXISTS d", "create_database", "default.d", True, False),
    ("CREATE NAMED COLLECTION c AS a = 1", "create_other", None, False, False),
    ("CREATE", "create_other", None, False, False),
    ("CREATE OR REPLACE", "create_other", None, False, False),
    ("ATTACH TABLE IF NOT EXISTS d.t", "attach", "d.t", True, False),
    ("ATTACH DICTIONARY d.x", "attach", "d.x", False, False),
    ("ATTACH PARTITION ID 'x'", "attach", None, False, False),
    ("CREATE USER u", "access", None, False, False),
    ("CREATE OR REPLACE ROLE r", "access", None, False, False),
    ("CREATE ROW POLICY p ON d.t USING 1 TO r", "access", None, False, False),
    ("CREATE SETTINGS PROFILE s", "access", None, False, False),
    ("CREATE QUOTA q", "access", None, False, False),
    ("ATTACH USER u", "access", None, False, False),
    ("GRANT SELECT ON d.* TO r", "access", None, False, False),
    ("REVOKE SELECT ON d.* FROM r", "access", None, False, False),
    ("SET ROLE r", "access", None, False, False),
    ("SET DEFAULT ROLE r TO u", "access", None, False, False),
    ("SET max_threads = 1", "set", None, False, False),
    ("DROP TABLE IF EXISTS d.t", "drop_table", "d.t", False, False),
    ("DROP TABLE IF EXISTS IF EMPTY d.t", "drop_table", "d.t", False, False),
    ("DROP TABLE IF EMPTY d.t", "drop_table", "d.t", False, False),
    ("DROP TEMPORARY TABLE t", "drop_table", "default.t", False, False),
    ("DROP VIEW d.v", "drop_table", "d.v", False, False),
    ("DROP DICTIONARY IF EXISTS d.x", "drop_table", "d.x", False, False),
    ("DROP DATABASE IF EXISTS d", "drop_database", "default.d", False, False),
    ("DROP DATABASE IF EXISTS IF EMPTY d", "drop_database", "default.d", False, False),
    ("DROP DATABASE IF EMPTY d", "drop_database", "default.d", False, False),
    ("DROP FUNCTION f", "drop_other", None, False, False),
    ("DROP", "drop_other", None, False, False),
    ("DROP USER u", "access", None, False, False),
    ("DROP QUOTA", "access", None, False, False),
    ("ALTER ROLE", "access", None, False, False),
    ("DROP ROLE IF EXISTS r", "access", None, False, False),
    ("DETACH TABLE d.t", "detach", "d.t", False, False),
    ("DETACH VIEW IF EXISTS d.v", "detach", "d.v", False, False),
    ("DETACH PARTITION 1", "detach", None, False, False),
    ("ALTER TABLE d.t ADD COLUMN b Int8", "alter", "d.t", False, False),
    ("ALTER USER u", "access", None, False, False),
    ("ALTER", "alter", None, False, False),
    ("ALTER DATABASE d MODIFY COMMENT 'x'", "alter", None, False, False),
    ("TRUNCATE TABLE IF EXISTS d.t", "truncate", "d.t", False, False),
    ("TRUNCATE TEMPORARY TABLE t", "truncate", "default.t", False, False),
    ("TRUNCATE d.t", "truncate", "d.t", False, False),
    ("INSERT INTO d.t VALUES (1)", "insert", "d.t", False, False),
    ("INSERT INTO TABLE d.t VALUES (1)", "insert", "d.t", False, False),
    ("INSERT d.t VALUES (1)", "insert", "d.t", False, False),
    ("INSERT INTO FUNCTION file('x') VALUES (1)", "insert_function", None, False, False),
    ("INSERT INTO TABLE FUNCTION file('x') VALUES (1)", "insert_function", None, False, False),
    ("OPTIMIZE TABLE d.t FINAL", "optimize", "d.t", False, False),
    ("OPTIMIZE", "optimize", None, False, False),
    ("SELECT 1", "select", None, False, False),
    ("WITH 1 AS x SELECT x", "select", None, False, False),
    ("RENAME TABLE a TO b", "rename", None, False, False),
    ("EXCHANGE TABLES a AND b", "rename", None, False, False),
    ("SYSTEM RELOAD DICTIONARIES", "system", None, False, False),
    ("KILL QUERY WHERE 1", "kill", None, False, False),
    ("SHOW TABLES", "show", None, False, False),
    ("DESCRIBE TABLE t", "show", None, False, False),
    ("DESC t", "show", None, False, False),
    ("EXISTS TABLE t", "show", None, False, False),
    ("EXPLAIN SELECT 1", "show", None, False, False),
    ("CHECK TABLE t", "show", None, False, False),
    ("BACKUP TABLE t TO Disk('b', 'x')", "other", None, False, False),
    ("`CREATE` TABLE t", "other", None, False, False),
    ("select 1", "select", None, False, False),
    ("create or replace view d.v as select 1", "create_view", "d.v", False, True),
])
def test_each_statement_kind_target_and_flags(text: str, kind: str, target: str | None, if_not_exists: bool,
                                              or_replace: bool) -> None:
    (stmt,) = split_statements(text)
    assert (stmt.kind, stmt.target, stmt.if_not_exists, stmt.or_replace) == (kind, target, if_not_exists,
                                                                              or_replace)


def test_if_not_exists_and_or_replace_together() -> None:
    (stmt,) = split_statements("CREATE OR REPLACE TABLE IF NOT EXISTS d.t (a Int8) ENGINE = Memory")
    assert (stmt.kind, stmt.target, stmt.if_not_exists, stmt.or_replace) == ("create_table", "d.t", True, True)


# --- Source.creates --------------------------------------------------------------------------------------


def _source(text: str) -> Source:
    return Source("a.sql", text, "utf-8", tuple(split_statements(text)))


def test_creates_finds_the_statements_creating_a_table_by_its_full_name() -> None:
    source = _source("CREATE TABLE d.t (a Int8) ENGINE = Memory; DROP TABLE d.t;"
                     " CREATE OR REPLACE TABLE d.t (b Int8) ENGINE = Memory; CREATE TABLE d.u (a Int8) ENGINE = Memory;"
                     " CREATE TABLE f (a Int8) ENGINE = Memory")
    assert [s.start for s in source.creates("d.t")] == [0, 59]
    assert source.creates("t") == [] and source.creates("f") == []
    assert [s.target for s in source.creates("default.f")] == ["default.f"]


def test_creates_finds_a_function_by_its_bare_name_and_its_full_one() -> None:
    source = _source("CREATE FUNCTION f AS (x) -> x; CREATE FUNCTION `a.b` AS (x) -> x; CREATE FUNCTION 1")
    assert [s.target for s in source.creates("f")] == ["default.f"]
    assert [s.target for s in source.creates("default.f")] == ["default.f"]
    assert [s.target for s in source.creates("a.b")] == ["default.a.b"]
    assert source.creates("b") == []
    assert [s.text for s in source.creates("")] == ["CREATE FUNCTION 1"]


# --- first_link ------------------------------------------------------------------------------------------


def test_the_first_link_on_the_way_is_named_relative_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "real" / "deep" / "a.sql").write_text("SELECT 1;", encoding="utf-8")
    (tmp_path / "via").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "deep" / "b.sql").symlink_to(tmp_path / "real" / "deep" / "a.sql")
    assert first_link(tmp_path, "real/deep/a.sql") is None
    assert first_link(tmp_path, "via/deep/a.sql") == "via"
    assert first_link(tmp_path, "real/deep/b.sql") == os.path.join("real", "deep", "b.sql")
    assert first_link(tmp_path, "real/../via/deep/a.sql") == "via"
    assert first_link(tmp_path, "real/./deep/b.sql") == os.path.join("real", "deep", "b.sql")


# --- read_source -----------------------------------------------------------------------------------------


def test_a_missing_file_a_folder_and_a_link_are_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        read_source(tmp_path / "none.sql", "seed/none.sql")
    assert str(caught.value) == "seed/none.sql: cannot read (No such file or directory)"
    (tmp_path / "dir.sql").mkdir()
    with pytest.raises(SourceError) as caught:
        read_source(tmp_path / "dir.sql", "seed/dir.sql")
    assert str(caught.value) == "seed/dir.sql: cannot read (Is a directory)"
    (tmp_path / "real.sql").write_text("SELECT 1;", encoding="utf-8")
    (tmp_path / "link.sql").symlink_to(tmp_path / "real.sql")
    with pytest.raises(SourceError) as caught:
        read_source(tmp_path / "link.sql", "seed/link.sql")
    assert str(caught.value) == ("seed/link.sql: is a symbolic link; chconform does not follow it "
                                 "(configure the file it points to)")


def test_a_file_of_exactly_the_cap_is_read_whole_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "a.sql"
    file.write_bytes(b"SELECT 1;\nSELECT 22;")  # 20 bytes
    source = read_source(file, "a.sql", max_bytes=20)
    assert [s.text for s in source.statements] == ["SELECT 1", "SELECT 22"]
    with pytest.raises(SourceError) as caught:
        read_source(file, "a.sql", max_bytes=19)
    assert str(caught.value) == ("a.sql: larger than max_source_mb allows (19 bytes); split the file, or raise "
                                 "max_source_mb in the configuration if it is meant to be this big")


def test_a_plain_source_is_read_as_it_stands(tmp_path: Path) -> None:
    file = tmp_path / "a.sql"
    file.write_bytes(b"\xef\xbb\xbfUSE d;\nCREATE TABLE t (a Int8) ENGINE = Memory;\n")
    source = read_source(file, "seed/a.sql", database="other")
    assert (source.path, source.text, source.encoding) == (
        "seed/a.sql", "USE d;\nCREATE TABLE t (a Int8) ENGINE = Memory;\n", "utf-8-sig")
    assert [(s.kind, s.target, s.line) for s in source.statements] == [("use", "d", 1), ("create_table", "d.t", 2)]
    assert (source.warnings, source.rewrites, source.original, source.templated) == ((), (), "", False)


def test_the_database_given_names_unqualified_objects(tmp_path: Path) -> None:
    file = tmp_path / "a.sql"
    file.write_text("DROP TABLE t;", encoding="utf-8")
    assert [s.target for s in read_source(file, "a.sql").statements] == ["default.t"]
    assert [s.target for s in read_source(file, "a.sql", database="seed").statements] == ["seed.t"]


def test_a_templated_source_keeps_the_file_as_its_original(tmp_path: Path) -> None:
    file = tmp_path / "a.sql"
    file.write_text("DROP TABLE ${DB}.t;\n", encoding="utf-8")
    source = read_source(file, "a.sql", variables={"DB": "seed"})
    assert (source.text, source.original, source.templated) == ("DROP TABLE seed.t;\n", "DROP TABLE ${DB}.t;\n",
                                                                True)
    assert [s.target for s in source.statements] == ["seed.t"]
    same = read_source(file, "a.sql", variables=(("DB", "${DB}"),))
    assert (same.text, same.original, same.templated) == ("DROP TABLE ${DB}.t;\n", "", False)
    with pytest.raises(SourceError) as caught:
        read_source(file, "seed/a.sql")
    assert str(caught.value) == ("seed/a.sql:1: placeholder ${DB} has no value; "
                                 "set DB under [variables] in the configuration")


def test_a_clustered_source_keeps_the_file_as_its_original(tmp_path: Path) -> None:
    file = tmp_path / "a.sql"
    file.write_text("DROP TABLE d.t ON CLUSTER main;\n", encoding="utf-8")
    source = read_source(file, "a.sql")
    assert (source.text, source.original, source.templated) == (
        "DROP TABLE d.t" + " " * 16 + ";\n", "DROP TABLE d.t ON CLUSTER main;\n", False)
    assert [(r.offset, r.line, r.change) for r in source.rewrites] == [(15, 1, "ON CLUSTER main dropped")]


def test_an_unterminated_string_in_a_file_names_the_file_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "a.sql"
    file.write_text("SELECT 1;\nSELECT 'open;\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_source(file, "seed/a.sql")
    assert str(caught.value) == "seed/a.sql:2:8: unterminated string; close it with '"


def test_a_file_of_comments_only_is_a_warning(tmp_path: Path) -> None:
    file = tmp_path / "a.sql"
    file.write_text("-- nothing yet\n", encoding="utf-8")
    source = read_source(file, "seed/a.sql")
    assert (source.statements, source.warnings) == (
        (), ("seed/a.sql: no SQL statements (the file is empty or holds only comments)",))


def test_mojibake_warnings_name_the_file_as_shown(tmp_path: Path) -> None:
    file = tmp_path / "a.sql"
    file.write_text("SELECT 1; -- Р°Рµ\n", encoding="utf-8")
    assert read_source(file, "seed/a.sql").warnings == (
        "seed/a.sql:1: text looks double-encoded (mojibake); check the file's encoding",)


# --- templates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "why"), [
    ("1X", "a", "variable name '1X' is not a placeholder name (letters, digits, _)"),
    ("X-Y", "a", "variable name 'X-Y' is not a placeholder name (letters, digits, _)"),
    ("X", True, "variable X must be a string or a number, not True"),
    ("X", ["a"], "variable X must be a string or a number, not ['a']"),
    ("X", None, "variable X must be a string or a number, not None"),
    ("X", "a\nb", "variable X holds a line break; statements would move to other lines"),
    ("X", "a\rb", "variable X holds a line break; statements would move to other lines"),
    ("_x9", "a b", ""),
    ("X", 30, ""),
    ("X", 1.5, ""),
])
def test_check_value_says_why_a_variable_cannot_be_used(name: str, value: object, why: str) -> None:
    assert check_value(name, value) == why


def test_placeholders_are_listed_with_their_lines() -> None:
    assert placeholders("${A}\n\n x ${B:-1} ${A}\n$C ${1D}") == [("A", 1), ("B", 3), ("A", 3)]
    assert placeholders("\n${A}") == [("A", 2)]


def test_two_unset_placeholders_name_the_first_and_count_the_other() -> None:
    with pytest.raises(SourceError) as caught:
        substitute("SELECT 1;\nSELECT ${A}, ${B};", {}, "seed/a.sql")
    assert str(caught.value) == ("seed/a.sql:2: placeholder ${A} has no value (and 1 more); "
                                 "set A under [variables] in the configuration")
    with pytest.raises(SourceError) as caught:
        substitute("SELECT ${A};", {})
    assert str(caught.value) == "<source>:1: placeholder ${A} has no value; set A under [variables] in the configuration"
    with pytest.raises(SourceError) as caught:
        substitute("\nSELECT ${A};", {})
    assert str(caught.value) == "<source>:2: placeholder ${A} has no value; set A under [variables] in the configuration"


def test_a_value_wins_over_a_default_and_an_empty_default_is_a_default() -> None:
    assert substitute("${A:-x}|${B:-}|${C}", {"A": "1", "C": "3"}) == "1||3"


def test_a_placeholder_counts_as_commented_only_where_the_comment_covers_it() -> None:
    text = "SELECT 1;\nSELECT 2;\nSELECT ${A} -- ${B}\n"
    assert substitute(text, {"A": "a"}) == "SELECT 1;\nSELECT 2;\nSELECT a -- ${B}\n"
    for before, where in (("", "a.sql:1:"), ("SELECT 1;\n", "a.sql:2:")):  # on the first line and a later one
        with pytest.raises(SourceError) as caught:
            substitute(before + "SELECT ${B} -- ${A}\n", {"A": "a"}, "a.sql")
        assert str(caught.value).startswith(where + " placeholder ${B} has no value;")
    with pytest.raises(SourceError) as caught:
        substitute("SELECT 1;\n/* x */${B}\n", {}, "a.sql")
    assert str(caught.value).startswith("a.sql:2: placeholder ${B} has no value;")
    with pytest.raises(SourceError) as caught:
        substitute("-- ${B}\nSELECT ${B}\n", {}, "a.sql")
    assert str(caught.value).startswith("a.sql:2: placeholder ${B} has no value;")
    assert substitute("SELECT 1; /* ${B} */ # ${B}\n-- ${B}", {}) == "SELECT 1; /* ${B} */ # ${B}\n-- ${B}"


def test_a_line_that_does_not_lex_alone_is_not_a_comment() -> None:
    with pytest.raises(SourceError) as caught:
        substitute("SELECT '${B}\n';", {}, "a.sql")
    assert str(caught.value).startswith("a.sql:1: placeholder ${B} has no value;")


# --- a column's line -------------------------------------------------------------------------------------


def _stmt(text: str) -> Statement:
    (stmt,) = split_statements(text)
    return stmt


def test_a_column_is_found_after_the_list_opens_or_a_comma_at_depth_one() -> None:
    stmt = _stmt("\n\nCREATE TABLE t (\n  a Int8,\n  b Tuple(c Int8,\n    d Int8),\n  `e` Int8\n) ENGINE = Memory")
    assert stmt.line == 3
    assert [column_line(stmt, name) for name in ("a", "b", "c", "d", "e", "t", "Int8")] == [4, 5, None, None, 7,
                                                                                            None, None]


def test_a_closing_parenthesis_goes_back_one_level_only() -> None:
    stmt = _stmt("CREATE TABLE t (\n  a Tuple(b Tuple(c Int8),\n  d Int8),\n  e Int8)")
    assert [column_line(stmt, name) for name in ("a", "b", "c", "d", "e")] == [2, None, None, None, 4]


def test_comments_between_a_comma_and_a_name_are_passed_over() -> None:
    stmt = _stmt("CREATE TABLE t (/* first */ a Int8, -- next\n  b Int8)")
    assert (column_line(stmt, "a"), column_line(stmt, "b")) == (1, 2)


def test_a_column_after_add_column_with_or_without_if_not_exists() -> None:
    stmt = _stmt("ALTER TABLE t\n  ADD COLUMN x Int8,\n  MODIFY COLUMN IF EXISTS\n  y Int8,\n  DROP COLUMN z")
    assert [column_line(stmt, name) for name in ("x", "y", "z", "t", "Int8")] == [2, 4, 5, None, None]


def test_a_column_name_in_a_comment_or_string_is_not_its_definition() -> None:
    stmt = _stmt("CREATE TABLE t (\n  /* b */ 'b',\n  b Int8 -- a\n)")
    assert (column_line(stmt, "b"), column_line(stmt, "a")) == (3, None)


def test_a_statement_that_does_not_lex_has_no_column_lines() -> None:
    stmt = Statement(text="CREATE TABLE t (a Int8, 'b", line=1, column=1, start=0, end=26, kind="create_table")
    assert column_line(stmt, "a") is None
