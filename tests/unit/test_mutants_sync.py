"""sync's small pure helpers pinned exactly (mutation survivors in plan/sync): line endings, quoted names in the
DROP it adds, the BOM, and the atomic write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chconform.errors import SourceError
from chconform.plan import sync


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
