"""The engine matrix's pure middle: which statements diverge between releases, which sources build differently,
and the report naming both (no engine: RunResults and Snapshots are built by hand)."""

from __future__ import annotations

import json

from chconform.checks.matrix import (
    APPLIES,
    MatrixResult,
    ReleaseRun,
    build_divergences,
    divergences,
)
from chconform.checks.run import RunResult, SourceResult, StatementError
from chconform.model import Column, Snapshot, Table
from chconform.reports.matrix import render_matrix_json, render_matrix_markdown, render_matrix_text

_REFUSAL = ("Column(s) region of the AggregatingMergeTree table are neither part of the sorting key nor "
            "aggregate measures")


def _run(version: str, *sources: SourceResult) -> RunResult:
    return RunResult("embedded", version, "canon.sql", (), tuple(sources))


def _error(line: int, code: int | None, name: str, message: str, round_no: int = 1,
           source: str = "a.sql") -> StatementError:
    return StatementError(round_no, line, code, name, message, "CREATE TABLE agg", source)


def _table(sorting_key: str) -> Snapshot:
    columns = (Column("day", 1, "Date"), Column("hits", 2, "UInt64"))
    return Snapshot(("db",), (Table("db", "t", "table", "MergeTree", sorting_key=sorting_key, columns=columns),))


def test_a_statement_failing_on_one_release_only_is_named_with_both_outcomes() -> None:
    old = _run("24.8.4.1", SourceResult("a.sql", "dump"))
    new = _run("26.9.2.1", SourceResult("a.sql", "dump", errors=(_error(3, 36, "BAD_ARGUMENTS", _REFUSAL),)))
    found = divergences([("24.8", old), ("26.9", new)])
    assert len(found) == 1
    d = found[0]
    assert (d.source, d.line, d.round) == ("a.sql", 3, 1)
    assert d.outcomes == (("24.8", APPLIES), ("26.9", f"Code 36 (BAD_ARGUMENTS): {_REFUSAL}"))
    assert d.summary == f"applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS): {_REFUSAL}"


def test_the_same_error_on_every_release_is_no_divergence_even_reworded() -> None:
    old = _run("24.8.4.1", SourceResult("a.sql", "dump", errors=(_error(3, 60, "UNKNOWN_TABLE", "x doesn't exist"),)))
    new = _run("26.9.2.1", SourceResult("a.sql", "dump", errors=(_error(3, 60, "UNKNOWN_TABLE", "x does not exist"),)))
    assert divergences([("24.8", old), ("26.9", new)]) == ()


def test_a_statement_failing_on_both_releases_under_other_codes_is_no_divergence() -> None:
    """Measured: one bad index is INCORRECT_QUERY on 24.8 and BAD_ARGUMENTS on 26.9; it fails on both."""
    old = _run("24.8.4.1", SourceResult("a.sql", "dump", errors=(_error(3, 80, "INCORRECT_QUERY", "Ngram"),)))
    new = _run("26.9.2.1", SourceResult("a.sql", "dump", errors=(_error(3, 36, "BAD_ARGUMENTS", "Ngram"),)))
    assert divergences([("24.8", old), ("26.9", new)]) == ()


def test_a_statement_after_a_crash_did_not_run_rather_than_applied() -> None:
    crashed = _run("24.8.4.1", SourceResult("a.sql", "dump", errors=(_error(2, None, "ENGINE_CRASHED", "killed"),)))
    failed = _run("26.9.2.1", SourceResult("a.sql", "dump", errors=(_error(5, 36, "BAD_ARGUMENTS", "bad"),)))
    found = {d.line: d for d in divergences([("24.8", crashed), ("26.9", failed)])}
    assert found[5].outcomes[0] == ("24.8", "did not run (the source stopped earlier)")
    assert found[2].outcomes[1] == ("26.9", APPLIES)


def test_prelude_and_snapshot_errors_are_not_statements_of_the_source() -> None:
    prelude = _error(1, 81, "UNKNOWN_DATABASE", "no db", source="prelude")
    snapshot = _error(0, 159, "TIMEOUT_EXCEEDED", "slow")
    old = _run("24.8.4.1", SourceResult("a.sql", "dump", errors=(prelude, snapshot)))
    new = _run("26.9.2.1", SourceResult("a.sql", "dump"))
    assert divergences([("24.8", old), ("26.9", new)]) == ()


def test_a_source_built_differently_on_two_releases_is_reported_with_its_differences() -> None:
    old = ReleaseRun("24.8", _run("24.8.4.1", SourceResult("a.sql", "dump")), (("a.sql", _table("day")),))
    new = ReleaseRun("26.9", _run("26.9.2.1", SourceResult("a.sql", "dump")), (("a.sql", _table("(day, hits)")),))
    same = ReleaseRun("26.9", _run("26.9.2.1", SourceResult("a.sql", "dump")), (("a.sql", _table("day")),))
    found = build_divergences([old, new])
    assert len(found) == 1 and found[0].source == "a.sql" and (found[0].base, found[0].other) == ("24.8", "26.9")
    assert [d.aspect for d in found[0].differences] == ["sorting_key"]
    assert build_divergences([old, same]) == ()


def test_a_source_with_errors_on_a_release_is_not_compared_across_releases() -> None:
    broken = SourceResult("a.sql", "dump", errors=(_error(3, 36, "BAD_ARGUMENTS", "bad"),))
    old = ReleaseRun("24.8", _run("24.8.4.1", SourceResult("a.sql", "dump")), (("a.sql", _table("day")),))
    new = ReleaseRun("26.9", _run("26.9.2.1", broken), (("a.sql", _table("(day, hits)")),))
    assert build_divergences([old, new]) == ()


def _matrix() -> MatrixResult:
    old = ReleaseRun("24.8", _run("24.8.4.1", SourceResult("canon.sql", "dump"), SourceResult("a.sql", "dump")),
                     (("a.sql", _table("day")),))
    failing = SourceResult("a.sql", "dump", errors=(_error(3, 36, "BAD_ARGUMENTS", _REFUSAL + "\nOK  forged"),))
    new = ReleaseRun("26.9", _run("26.9.2.1", SourceResult("canon.sql", "dump"), failing), (("a.sql", None),))
    runs = (old, new)
    return MatrixResult(runs, divergences([(r.release, r.result) for r in runs]), build_divergences(runs))


def test_text_report_shows_verdicts_side_by_side_and_the_upgrade_risk() -> None:
    text = render_matrix_text(_matrix())
    assert text.startswith("chconform matrix: 2 sources on ClickHouse 24.8 (24.8.4.1), 26.9 (26.9.2.1)")
    lines = text.splitlines()
    assert any(line.split() == ["a.sql", "OK", "FAIL:", "1", "error"] for line in lines)
    assert "applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS): Column(s) region" in text
    assert "Verdict: 24.8 PASS, 26.9 FAIL" in text
    assert not any(line.startswith("OK  forged") for line in lines)  # a message cannot print a line of its own


def test_json_and_markdown_name_every_release_and_the_divergence() -> None:
    data = json.loads(render_matrix_json(_matrix()))
    assert [r["engine"] for r in data["releases"]] == ["24.8", "26.9"]
    assert [r["clickhouse_version"] for r in data["releases"]] == ["24.8.4.1", "26.9.2.1"]
    assert data["ok"] is False and data["divergences"][0]["outcomes"]["24.8"] == APPLIES
    markdown = render_matrix_markdown(_matrix())
    assert "| source | ClickHouse 24.8 | ClickHouse 26.9 |" in markdown and "fails on 26.9 with Code 36" in markdown


def test_release_normalisation_keeps_what_differs_in_meaning() -> None:
    """What 24.8 and 26.x print differently for one definition is made equal; nothing else is."""
    from chconform.schema.snapshot import _codec, _engine_name

    assert _engine_name("`Null`") == _engine_name("Null") == "Null"
    assert _engine_name("`Merge`('db', '^t$')") == "Merge('db', '^t$')"
    assert _engine_name("`my engine`") == "`my engine`"  # not a plain name: left as printed
    assert _codec("CODEC(Gorilla(8))", "Float64") == _codec("CODEC(Gorilla)", "Float64") == "CODEC(Gorilla)"
    assert _codec("CODEC(Gorilla(4))", "LowCardinality(Nullable(Float32))") == "CODEC(Gorilla)"
    assert _codec("CODEC(Gorilla(4), LZ4)", "Float64") == "CODEC(Gorilla(4), LZ4)"  # not the type's width
    assert _codec("CODEC(Delta(8), ZSTD(1))", "DateTime64(3)") == "CODEC(Delta(8), ZSTD(1))"
