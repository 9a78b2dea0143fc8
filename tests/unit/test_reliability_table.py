"""The committed outcome table of docs/RELIABILITY.md is current with the probe list, and no test writes it.

The table is written only by `python -m tests.reliability` (which runs the probes); this test reads the
committed file and compares its rows with `probes()` (the probe lists themselves), running no engine
and writing nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import reliability


def test_the_committed_table_is_not_stale() -> None:
    assert reliability.stale(reliability.DOC.read_text(encoding="utf-8")) == []


def test_a_probe_without_a_row_and_a_row_without_a_probe_are_both_stale() -> None:
    text = reliability.DOC.read_text(encoding="utf-8")
    rows = reliability.committed(text)
    (section, case), (what, outcome) = next(iter(rows.items()))
    dropped = {k: v for k, v in rows.items() if k != (section, case)}
    assert any(case in p for p in reliability.stale(reliability.render(text, dropped)))
    extra = {**rows, ("fault", "no_such_probe"): ("nothing", "nothing")}
    assert any("no_such_probe" in p for p in reliability.stale(reliability.render(text, extra)))
    renamed = {**rows, (section, case): ("something else", outcome)}
    assert any("something else" in p for p in reliability.stale(reliability.render(text, renamed)))
    assert reliability.stale("no markers") == ["the table's markers are missing"]


def test_record_writes_nothing_in_a_plain_test_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = reliability.DOC.read_bytes()
    monkeypatch.delenv(reliability.OUT_ENV, raising=False)
    reliability.record("fault", "x", "y", "z")
    assert reliability.DOC.read_bytes() == before
    monkeypatch.setenv(reliability.OUT_ENV, str(tmp_path))
    reliability.record("fault", "x", "y", "z")
    assert reliability._observed(tmp_path) == {("fault", "x"): ("y", "z")}
    with pytest.raises(ValueError):
        reliability.record("no such section", "x", "y", "z")
