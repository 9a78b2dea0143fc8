"""SARIF, JUnit and GitHub annotations from one findings model; escaping that no source can get around."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chconform.checks.run import RunResult, SourceResult, StatementError
from chconform.cli import run
from chconform.commands._common import Progress, wants_color
from chconform.model import Difference
from chconform.reports import render
from chconform.reports.escape import safe, workflow_property
from chconform.reports.findings import from_check, repo_relative
from chconform.reports.github import render_github
from chconform.reports.junit import render_junit
from chconform.reports.render import Style, render_json, render_markdown, render_text
from chconform.reports.sarif import to_sarif

FORGED = "x\nOK    fake.sql  (0.01s)\n::error file=evil.sql,line=1::forged\x1b[2J"


def drifted(comment: str = "c") -> RunResult:
    diff = Difference("db.t", "column_comment", "c", comment, column="a", source="sub/a.sql", line=7)
    err = StatementError(2, 12, 57, "TABLE_ALREADY_EXISTS", "table exists", "CREATE TABLE db.u (x Int8)",
                         source="sub/a.sql", column=3)
    return RunResult("embedded", "24.8.4.1", "canon.sql", ("db.t",), (
        SourceResult("canon.sql", "dump", defined=("db.t",)),
        SourceResult("sub/a.sql", "init", errors=(err,), differences=(diff,), defined=("db.t",), duration_s=0.5),
    ))


def test_sarif_names_rules_levels_and_regions() -> None:
    doc = to_sarif(from_check(drifted()))
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    (sarif_run,) = doc["runs"]
    rules = {r["id"]: r for r in sarif_run["tool"]["driver"]["rules"]}
    assert set(rules) == {"column_comment", "not_idempotent"}
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules.values())
    by_rule = {r["ruleId"]: r for r in sarif_run["results"]}
    comment = by_rule["column_comment"]
    assert comment["level"] == "error"
    assert comment["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "sub/a.sql"},
                                                           "region": {"startLine": 7}}
    assert sarif_run["tool"]["driver"]["rules"][comment["ruleIndex"]]["id"] == "column_comment"
    region = by_rule["not_idempotent"]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 12, "startColumn": 3}


def test_junit_has_a_case_per_source_and_a_failure_per_failing_one() -> None:
    root = ET.fromstring(render_junit(from_check(drifted())))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["canon.sql"].find("failure") is None
    failure = cases["sub/a.sql"].find("failure")
    assert failure is not None and "sub/a.sql:7  [column_comment]" in (failure.text or "")
    assert "sub/a.sql:12  [not_idempotent]" in (failure.text or "")


def test_github_annotations_point_at_file_line_col() -> None:
    lines = render_github(from_check(drifted())).splitlines()
    assert any(ln.startswith("::error file=sub/a.sql,line=12,col=3,title=chconform not_idempotent::") for ln in lines)
    assert any(ln.startswith("::error file=sub/a.sql,line=7,title=chconform column_comment::") for ln in lines)
    assert lines[-1].startswith("chconform check: ")


@pytest.mark.parametrize("renderer", [
    lambda r: render_text(r), lambda r: render_markdown(r), lambda r: render_github(from_check(r)),
    lambda r: render_junit(from_check(r)),
], ids=["text", "markdown", "github", "junit"])
def test_no_source_text_starts_a_line(renderer) -> None:
    out = renderer(drifted(FORGED))
    for line in out.splitlines():
        assert not line.startswith("OK    fake.sql"), out
        assert not line.startswith("::error file=evil.sql"), out
    assert "\x1b" not in out


def test_the_forgery_works_without_the_escape(monkeypatch: pytest.MonkeyPatch) -> None:
    """The defence is what stops it: with `safe` switched off, the comment prints a verdict line of its own."""
    monkeypatch.setattr(render, "safe", lambda text: "" if text is None else str(text))
    out = render_text(drifted(FORGED))
    assert any(line.startswith("OK    fake.sql") for line in out.splitlines())


def test_escape_makes_controls_visible() -> None:
    assert safe("a\nb\r\tc\x1b[0m\u2028") == "a\\nb\\r\\tc\\x1b[0m\\u2028"
    assert workflow_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_json_has_versions_rules_and_unambiguous_positions() -> None:
    doc = json.loads(render_json(drifted()))
    assert doc["schema_version"] == 2 and doc["tool"]["name"] == "chconform"
    error = doc["sources"][1]["errors"][0]
    assert (error["line"], error["col"], error["rule"], error["severity"]) == (12, 3, "not_idempotent", "error")
    assert "column" not in error
    diff = doc["sources"][1]["differences"][0]
    assert (diff["column"], diff["rule"], diff["severity"]) == ("a", "column_comment", "error")


def _many(n: int) -> RunResult:
    tables = tuple(f"db.t{i:03}" for i in range(n))
    bad = Difference("db.t007", "column_type", "String", "Int8", column="a", source="b.sql", line=3)
    return RunResult("embedded", "26.9", "a.sql", tables, (
        SourceResult("a.sql", "dump", defined=tables), SourceResult("b.sql", "init", differences=(bad,), defined=tables)))


def test_a_large_matrix_shows_the_rows_that_differ() -> None:
    out = render_text(_many(300))
    rows = [ln for ln in out.splitlines() if ln.startswith("db.t")]
    assert rows == [next(ln for ln in out.splitlines() if ln.startswith("db.t007"))]
    assert "(299 of 300 tables identical in every source; --all shows them)" in out
    assert len([ln for ln in render_text(_many(300), all_rows=True).splitlines() if ln.startswith("db.t")]) == 300
    assert len([ln for ln in render_text(_many(5)).splitlines() if ln.startswith("db.t")]) == 5


def test_quiet_prints_findings_and_verdict_only() -> None:
    out = render_text(_many(300), quiet=True)
    assert out.splitlines() == ["FAIL  b.sql  (0.00s)", "      b.sql:3  db.t007.a  column_type: String → Int8", "",
                                "DIFFERS: 1 of 2 sources: b.sql"]


def test_color_only_when_asked() -> None:
    assert "\x1b[" not in render_text(_many(3))
    assert "\x1b[1;31mFAIL\x1b[0m" in render_text(_many(3), style=Style(color=True))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "env", "want"), [
    (_Tty(), {}, True), (_Tty(), {"NO_COLOR": "1"}, False), (io.StringIO(), {}, False),
    (io.StringIO(), {"FORCE_COLOR": "1"}, True), (_Tty(), {"TERM": "dumb"}, False),
    (_Tty(), {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False), (io.StringIO(), {"FORCE_COLOR": "0"}, False),
])
def test_wants_color(stream, env, want) -> None:
    assert wants_color(stream, env) is want


def test_progress_only_on_a_terminal() -> None:
    tty, pipe = _Tty(), io.StringIO()
    Progress.on(tty, 2)("a.sql", 0.5)
    Progress.on(pipe, 2)("a.sql", 0.5)
    Progress.on(_Tty(), 2, quiet=True)("a.sql", 0.5)
    assert tty.getvalue() == "  [1/2] a.sql  (0.50s)\n" and pipe.getvalue() == ""


def test_repo_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    root = tmp_path / "repo" / "db" / "schema"
    root.mkdir(parents=True)
    assert repo_relative(root)("migrations/1.sql") == "db/schema/migrations/1.sql"
    elsewhere = tmp_path / "plain" / "sql"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "plain")
    assert repo_relative(elsewhere)("a.sql") == "sql/a.sql"
    assert repo_relative(elsewhere)("http://host:8123") == "http://host:8123"
    monkeypatch.chdir(root)  # a root in no checkout and outside the current folder: named against the root
    assert repo_relative(elsewhere)("a.sql") == "a.sql"


def test_version_and_user_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"], io.StringIO(), io.StringIO()) == 0
    assert capsys.readouterr().out.startswith("chconform ")
    assert run(["--help"], io.StringIO(), io.StringIO()) == 0
    shown = capsys.readouterr().out
    assert "exit codes: 0 conforms, 1 findings, 2 bad usage" in shown and "thin edge" not in shown


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return run(list(argv), out, err), out.getvalue(), err.getvalue()


def test_every_command_takes_quiet_and_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    from chconform.commands._common import COMMANDS

    for name in COMMANDS:
        code, _, _ = _cli(name, "-q", "--help")
        assert code == 0, name
        code, _, _ = _cli(name, "-q", "-v", "--help")
        assert code == 2 and "not allowed with argument" in capsys.readouterr().err, name


def test_a_symlinked_source_keeps_its_own_name(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    root = tmp_path / "repo" / "sql"
    root.mkdir()
    (root / "real.sql").write_text("SELECT 1;\n", encoding="utf-8")
    (root / "alias.sql").symlink_to(root / "real.sql")
    assert repo_relative(root)("alias.sql") == "sql/alias.sql"


def test_junit_case_names_are_repository_paths(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    root = tmp_path / "repo" / "db"
    root.mkdir()
    suite = ET.fromstring(render_junit(from_check(drifted(), repo_relative(root)))).find("testsuite")
    assert suite is not None
    assert [c.get("name") for c in suite.findall("testcase")] == ["db/canon.sql", "db/sub/a.sql"]


def test_a_refusal_does_not_show_chconforms_own_parse_call() -> None:
    from chconform.gate.decide import Verdict, refusal

    reason = ("ClickHouse's parser gives no tree, so it does not run: Code: 306. DB::Exception: Maximum parse depth "
              "(1000) exceeded: In scope SELECT parseQueryToJSON('((((((').")
    assert refusal(Verdict("refuse", reason))[2].endswith("Maximum parse depth (1000) exceeded")
