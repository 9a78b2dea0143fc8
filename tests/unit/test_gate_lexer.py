"""The lexer the gate's classification reads: linear on hostile inputs, Unicode spaces, a size cap on sources.

A megabyte of each input that used to cost quadratic time is read here (the whole file takes a
fraction of a second; the old lexer took a minute on half a megabyte of `/* `): a regression shows
as a test run that does not finish, and each result is checked, so nothing is skipped silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chconform.config import load_config
from chconform.errors import ConfigError, SourceError
from chconform.gate.policy import parse_target
from chconform.sql.source import read_source, split_statements, tokenize

MB = 1 << 20


@pytest.mark.parametrize(("text", "error"), [
    ("/* " * (MB // 3), "unterminated comment"),
    ("SELECT '" + "\\" * MB, "unterminated string"),
    ("SELECT '" + "''" * (MB // 2), "unterminated string"),
    ('SELECT "' + "\\" * MB, "unterminated quoted identifier"),
], ids=["nested comment openers", "backslash run", "doubled quotes", "backslash run in a name"])
def test_a_megabyte_of_an_unterminated_run_is_one_clear_error(text: str, error: str) -> None:
    with pytest.raises(SourceError, match=error):
        split_statements(text)


def test_a_megabyte_of_distinct_heredoc_tags_is_read() -> None:
    text = "".join(f"$t{i}$ " for i in range(MB // 9))
    assert len(split_statements(text)) == 1
    closed = "SELECT " + "".join(f"$t{i}$x;y$t{i}$, " for i in range(MB // 20)) + "1"
    (stmt,) = split_statements(closed)
    assert stmt.text == closed


def test_statements_on_one_long_line_keep_lines_and_columns() -> None:
    count = MB // 36  # a quarter megabyte: the old column count searched back to the line's start each time
    stmts = split_statements("SELECT 1;" * count + "\nSELECT 2")
    assert len(stmts) == count + 1
    assert (stmts[-2].line, stmts[-2].column) == (1, 9 * (count - 1) + 1)
    assert (stmts[-1].line, stmts[-1].column) == (2, 1)


def test_nested_comments_close_as_clickhouse_closes_them() -> None:
    stmts = split_statements("/* a /* b */ still comment; */ SELECT 1; /* x */ SELECT 2")
    assert [s.text for s in stmts] == ["SELECT 1", "SELECT 2"]


@pytest.mark.parametrize("space", ["\ufeff", "\u00a0", "\u200b", "\u2009", "\u3000", "\u202f"])
def test_unicode_spaces_between_tokens_are_spaces(space: str) -> None:
    (stmt,) = split_statements(f"SELECT{space}1;")
    assert stmt.kind == "select"
    assert [t.text for t in tokenize(f"SELECT{space}1") if t.kind != "space"] == ["SELECT", "1"]


def test_quoted_text_keeps_its_escapes() -> None:
    tokens = [t for t in tokenize(r"SELECT 'a\'b', 'c''d', `e\`f`, $$g$$") if t.kind != "space"]
    assert [t.text for t in tokens] == ["SELECT", r"'a\'b'", ",", "'c''d'", ",", r"`e\`f`", ",", "$$g$$"]


def test_an_insert_into_a_table_named_format_is_not_split_into_data() -> None:
    assert parse_target("INSERT INTO format SELECT 1") == "INSERT INTO format SELECT 1"
    assert parse_target("INSERT INTO format FORMAT CSV\n1\n") == "INSERT INTO format FORMAT CSV"


def test_a_source_above_the_size_cap_is_one_clear_error(tmp_path: Path) -> None:
    big = tmp_path / "big.sql"
    big.write_bytes(b"SELECT 1;\n" * 2000)
    with pytest.raises(SourceError, match=r"big.sql: larger than max_source_mb allows \(10000 bytes\); split the file"):
        read_source(big, "big.sql", max_bytes=10_000)
    assert len(read_source(big, "big.sql", max_bytes=20_000).statements) == 2000


def test_max_source_mb_is_a_config_key(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("SELECT 1;")
    file = tmp_path / "chconform.toml"
    file.write_text('canonical = "a.sql"\nmax_source_mb = 0.5\n[[source]]\npath = "a.sql"\n')
    assert load_config(file).canonical_source.max_bytes == MB // 2
    file.write_text('canonical = "a.sql"\nmax_source_mb = "big"\n[[source]]\npath = "a.sql"\n')
    with pytest.raises(ConfigError, match="max_source_mb must be a positive number of megabytes"):
        load_config(file)
