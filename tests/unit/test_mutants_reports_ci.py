"""The CI formats written out in full (SARIF, JUnit, GitHub annotations, the matrix report), the findings model
they read, and the escaping that keeps a value from SQL on its own line (issue 18: mutants of reports/ci)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chconform.checks.matrix import APPLIES, BuildDivergence, Divergence, MatrixResult, ReleaseRun
from chconform.checks.path import PathResult
from chconform.checks.run import RunResult, SourceResult, StatementError
from chconform.checks.sentinels import DataLoss
from chconform.checks.static import StaticReport, StaticSource
from chconform.cli import run
from chconform.model import Difference
from chconform.reports.escape import markdown_cell, safe, workflow_data, workflow_property
from chconform.reports.findings import (
    _RULE_ROWS,
    RULES,
    SCHEMA_VERSION,
    Case,
    Finding,
    Outcome,
    Rule,
    _source_findings,
    _warning_finding,
    error_rule,
    from_check,
    from_difference,
    from_path,
    from_validate,
    json_header,
    repo_relative,
    rule,
    tool_version,
)
from chconform.reports.github import render_github
from chconform.reports.junit import render_junit
from chconform.reports.matrix import (
    matrix_to_json,
    render_matrix_json,
    render_matrix_markdown,
    render_matrix_text,
    verdict_cell,
)
from chconform.reports.render import to_json
from chconform.reports.sarif import render_sarif, to_sarif
from chconform.schema.static.simulate import Note


@pytest.mark.parametrize(("raw", "shown"), [
    ("a\nb", "a\\nb"), ("a\rb", "a\\rb"), ("a\tb", "a\\tb"),
    ("\x00", "\\x00"), ("\x1b[2J", "\\x1b[2J"), ("\x1f", "\\x1f"), ("\x7f", "\\x7f"), ("\x85", "\\x85"),
    ("\x9f", "\\x9f"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\u202e", "\\u202e"), ("\u2066", "\\u2066"),
    ("\xa0é ∅ ok", "\xa0é ∅ ok"),  # printable: kept as it is
], ids=["lf", "cr", "tab", "nul", "esc", "us", "del", "nel", "c1-last", "ls", "ps", "rlo", "lri", "printable"])
def test_safe_writes_every_control_character_as_an_escape(raw: str, shown: str) -> None:
    assert safe(raw) == shown


def test_safe_takes_any_value_and_none_is_empty() -> None:
    assert safe(None) == ""
    assert safe(12) == "12"
    assert safe("") == ""


def test_a_forged_line_in_a_workflow_message_stays_in_the_message() -> None:
    """A comment `x⏎::error file=evil.sql::forged` would be a second annotation if the newline went through."""
    forged = "x\n::error file=evil.sql,line=1::forged 100%\r\nOK    fake.sql"
    assert workflow_data(forged) == "x\\n::error file=evil.sql,line=1::forged 100%25\\r\\nOK    fake.sql"
    assert workflow_property(forged) == ("x\\n%3A%3Aerror file=evil.sql%2Cline=1%3A%3Aforged 100%25\\r\\n"
                                         "OK    fake.sql")
    assert workflow_data(None) == "" and workflow_property(None) == ""


def test_a_markdown_cell_cannot_be_broken_out_of() -> None:
    assert markdown_cell("a|b`c`\nd") == "a\\|b'c'\\nd"
    assert markdown_cell(None) == ""


# --- the findings model -------------------------------------------------------------------------------------

def _upper(path: str) -> str:
    """A display that shows which paths went through it."""
    return path.upper()


def test_a_known_rule_is_its_row_and_an_unknown_one_a_generic_error() -> None:
    assert rule("column_type") == Rule("column_type", "A column's type differs from the canon",
                                       "Use the canonical type (`chconform plan` prints the ALTER).", "error")
    assert rule("drop_before_create").level == "warning"
    assert rule("new_aspect_x") == Rule("new_aspect_x", "new aspect x", "Make the definition match the canon.",
                                        "error")


def test_each_rule_id_has_one_row() -> None:
    """A second row for an id silently replaced the first (column_ttl and replication had two)."""
    ids = [row[0] for row in _RULE_ROWS]
    assert len(ids) == len(set(ids)) == len(RULES)
    assert RULES["replication"] == Rule("replication", "Replicated engine arguments differ",
                                        "Use the canonical ZooKeeper path and replica name.")


def test_the_json_header_names_the_layout_and_the_tool() -> None:
    assert json_header() == {"schema_version": 2, "tool": {"name": "chconform", "version": tool_version()}}
    assert SCHEMA_VERSION == 2


def test_a_difference_becomes_a_finding_of_its_aspect() -> None:
    d = Difference("db.t", "column_type", "String", "Int8", column="a", source="sub/a.sql", line=3)
    assert from_difference(d, _upper, "other.sql") == Finding(
        "column_type", "db.t.a: a column's type differs from the canon: canonical String, here Int8", "SUB/A.SQL", 3,
        None, "error", "db.t", "Use the canonical type (`chconform plan` prints the ALTER).")
    assert from_difference(d).path == "sub/a.sql"  # no display: the path as given
    assert from_difference(Difference("db.t", "engine", "Log", "Memory")).path == ""  # no place, no fallback


@pytest.mark.parametrize(("check", "rule_id", "summary"), [
    ("idempotency", "idempotency", "the second application changes the schema"),
    ("duplicate", "duplicate", "one file defines a table twice, differently"),
])
def test_an_idempotency_or_duplicate_difference_is_that_rule_naming_the_aspect(check: str, rule_id: str,
                                                                                summary: str) -> None:
    d = Difference("db.t", "engine", "", "Log", check=check)
    found = from_difference(d, _upper, "b.sql")
    assert found == Finding(rule_id, f"db.t: {summary} (engine): canonical ∅, here Log", "B.SQL", None, None, "error",
                            "db.t", RULES[rule_id].help)


def test_a_difference_of_an_aspect_added_later_gets_the_generic_rule() -> None:
    d = Difference("db.t", "zz_new", "1", "", source="a.sql", line=2, check="role")
    assert from_difference(d) == Finding("zz_new", "db.t: zz new: canonical 1, here ∅", "a.sql", 2, None, "error",
                                         "db.t", "Make the definition match the canon.")


@pytest.mark.parametrize(("round_no", "name", "rule_id"), [
    (1, "REFUSED", "refused"), (0, "REFUSED", "refused"), (0, "UNREADABLE", "unreadable"),
    (2, "TABLE_ALREADY_EXISTS", "not_idempotent"), (1, "UNKNOWN_TABLE", "statement_error"),
    (3, None, "statement_error"),
])
def test_the_rule_of_a_statement_error(round_no: int, name: str | None, rule_id: str) -> None:
    assert error_rule(StatementError(round_no, 1, None, name, "m", "")) == rule_id


def _source(**kw: object) -> SourceResult:
    return SourceResult("sub/a.sql", "init", duration_s=0.5, **kw)  # type: ignore[arg-type]


def test_a_source_gives_its_findings_in_a_fixed_order_each_with_its_place() -> None:
    errors = (StatementError(2, 12, 57, "TABLE_ALREADY_EXISTS", "exists", "CREATE TABLE db.u (x Int8)",
                             source="sub/inc.sql", column=3),
              StatementError(1, 0, None, None, "no such file", ""))
    s = _source(errors=errors, differences=(Difference("db.t", "engine", "Log", "Memory", line=4),),
                missing_tables=("db.m",), warnings=("something odd",), ignored=("drop_in_dump ignored: why",),
                notes=("ON CLUSTER dropped",))
    assert _source_findings(s, _upper) == [
        Finding("not_idempotent", "round 2: 57 TABLE_ALREADY_EXISTS: exists  [CREATE TABLE db.u (x Int8)]",
                "SUB/INC.SQL", 12, 3, "error", "", RULES["not_idempotent"].help),
        Finding("statement_error", "round 1: no such file", "SUB/A.SQL", None, None, "error", "",
                RULES["statement_error"].help),
        Finding("engine", "db.t: the table engine differs: canonical Log, here Memory", "SUB/A.SQL", 4, None, "error",
                "db.t", RULES["engine"].help),
        Finding("missing_table", "db.m: required by must_define, absent", "SUB/A.SQL", None, None, "error", "db.m",
                RULES["missing_table"].help),
        Finding("warning", "something odd", "SUB/A.SQL", None, None, "warning"),
        Finding("ignored", "drop_in_dump ignored: why", "SUB/A.SQL", None, None, "note"),
        Finding("note", "ON CLUSTER dropped", "SUB/A.SQL", None, None, "note"),
    ]


def test_a_statement_error_with_a_name_only_or_a_code_only() -> None:
    named = StatementError(1, 5, None, "TIMEOUT", "slow", "SELECT 1")
    coded = StatementError(1, 5, 62, "", "syntax", "")
    s = _source(errors=(named, coded))
    assert [f.message for f in _source_findings(s, _upper)] == ["round 1: TIMEOUT: slow  [SELECT 1]",
                                                                "round 1: 62: syntax"]


@pytest.mark.parametrize(("text", "rule_id", "line"), [
    ("a.sql:7: drop_before_create: db.t dropped here", "drop_before_create", 7),  # a rule of checks/rules.py
    ("a.sql:12: ignore_without_reason: say why", "ignore_without_reason", 12),  # only in checks/rules.py
    ("a.sql:3: column_type: as a warning", "column_type", 3),  # only in the findings' rules
    ("a.sql:3: no_such_rule: x", "warning", None),
    ("a.sql: drop_before_create: no line", "warning", None),
    ("see a.sql:7: drop_before_create: not at the start", "warning", None),
    ("a.sql:7: Drop_before_create: capital", "warning", None),
    ("a.sql:7:drop_before_create: no space", "warning", None),
])
def test_a_warning_raised_by_a_rule_keeps_its_rule_and_line(text: str, rule_id: str, line: int | None) -> None:
    found = _warning_finding(text, _upper, "b.sql")
    assert found == Finding(rule_id, text, "B.SQL", line, None, "warning", "",
                            rule(rule_id).help if rule_id != "warning" else "")


def _run(*sources: SourceResult) -> RunResult:
    return RunResult("embedded", "24.8.4.1", "canon.sql", (), sources)


def test_a_check_is_a_case_per_source() -> None:
    canon = SourceResult("canon.sql", "dump", duration_s=0.25)
    drifted = _source(differences=(Difference("db.t", "engine", "Log", "Memory", line=4),))
    outcome = from_check(_run(canon, drifted), _upper, "diff")
    assert outcome == Outcome("diff", False, (
        Case("CANON.SQL", "chconform.diff", (), 0.25),
        Case("SUB/A.SQL", "chconform.diff", (Finding("engine", "db.t: the table engine differs: canonical Log, "
                                                     "here Memory", "SUB/A.SQL", 4, None, "error", "db.t",
                                                     RULES["engine"].help),), 0.5),
    ), "24.8.4.1")
    default = from_check(_run(canon))
    assert default == Outcome("check", True, (Case("canon.sql", "chconform.check", (), 0.25),), "24.8.4.1")


def test_a_static_report_is_a_case_per_source_the_inventory_and_the_notes() -> None:
    note = Note("db.v", "a.sql", 9, "a view over a table function")
    drift = Difference("db.t", "engine", "Log", "Memory", line=2, check="static")
    ok = StaticSource("a.sql", "dump", differences=(drift,), notes=(note,))
    report = StaticReport("a.sql", (), (ok,), {}, unconfigured=(Difference("stray.sql", "unconfigured",
                                                                           source="stray.sql"),))
    assert from_validate(report, _upper) == Outcome("validate", False, (
        Case("A.SQL", "chconform.validate", (Finding("engine", "db.t: the table engine differs: canonical Log, here "
                                                     "Memory", "A.SQL", 2, None, "error", "db.t",
                                                     RULES["engine"].help),)),
        Case("inventory", "chconform.validate", (Finding(
            "unconfigured_source", "stray.sql creates a table but is not configured", "STRAY.SQL", None, None,
            "error", "", RULES["unconfigured_source"].help),)),
    ), "", ("a.sql:9  db.v  undecidable statically: a view over a table function",))
    clean = StaticReport("a.sql", (), (StaticSource("a.sql", "dump"),), {})
    assert from_validate(clean) == Outcome("validate", True, (Case("a.sql", "chconform.validate", ()),), "", ())


def _path(**kw: object) -> PathResult:
    return PathResult("upgrade", ("m1.sql", "m2.sql"), duration_s=2.0, **kw)  # type: ignore[arg-type]


def test_an_upgrade_path_is_a_case_and_lost_rows_an_error_unless_accepted() -> None:
    error = StatementError(1, 4, 60, "UNKNOWN_TABLE", "gone", "ALTER TABLE db.t ADD COLUMN x Int8", source="m2.sql")
    loss = DataLoss("db.t", 3, 1, "m1.sql", line=7, statement="DROP TABLE db.t")
    loss_nowhere = DataLoss("db.u", 2, 0, "m2.sql")
    diff = Difference("db.t", "engine", "Log", "Memory", source="m2.sql", line=2)
    lossy = _path(errors=(error,), differences=(diff,), data_loss=(loss, loss_nowhere))
    found = (
        Finding("statement_error", "round 1: 60 UNKNOWN_TABLE: gone  [ALTER TABLE db.t ADD COLUMN x Int8]", "M2.SQL",
                4, None, "error", "", RULES["statement_error"].help),
        Finding("engine", "db.t: the table engine differs: canonical Log, here Memory", "M2.SQL", 2, None, "error",
                "db.t", RULES["engine"].help),
        Finding("data_loss", "db.t: 3 → 1 rows (2 lost)  [DROP TABLE db.t]", "M1.SQL", 7, None, "error", "db.t",
                RULES["data_loss"].help),
        Finding("data_loss", "db.u: 2 → 0 rows (2 lost)", "M2.SQL", None, None, "error", "db.u",
                RULES["data_loss"].help),
    )
    assert from_path([lossy], display=_upper, version="26.9.2.1") == Outcome(
        "path", False, (Case("upgrade", "chconform.path", found, 2.0),), "26.9.2.1")
    nowhere = _path(errors=(StatementError(1, 0, None, "TIMEOUT", "slow", ""),))
    assert from_path([nowhere], display=_upper).findings == [
        Finding("statement_error", "round 1: TIMEOUT: slow", "", None, None, "error", "", RULES["statement_error"].help)]
    only_loss = _path(data_loss=(loss,))
    accepted = from_path([only_loss], accept_data_loss=True)
    assert accepted.ok is True and accepted.clickhouse_version == ""
    assert [(f.rule, f.level, f.path) for f in accepted.findings] == [("data_loss", "warning", "m1.sql")]
    assert from_path([only_loss]).ok is False
    assert from_path([only_loss, _path()], accept_data_loss=True).ok is True
    assert from_path([_path(), only_loss], accept_data_loss=False).ok is False


# --- paths as editors open them -----------------------------------------------------------------------------

def test_a_path_is_shown_against_the_checkout_normalised(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    root = tmp_path / "repo" / "db"
    root.mkdir()
    display = repo_relative(root)
    assert display("sub/../a.sql") == "db/a.sql"
    assert display("") == ""
    assert display("http://host:8123/x") == "http://host:8123/x"
    assert display("../../outside.sql") == (tmp_path / "outside.sql").as_posix()  # outside: absolute


def test_without_a_checkout_a_root_at_or_under_the_current_folder_is_shown_from_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "plain"
    (root / "sql").mkdir(parents=True)
    monkeypatch.chdir(root)
    assert repo_relative(root)("sub/../a.sql") == "a.sql"  # the root is the current folder
    assert repo_relative(root / "sql")("sub/../a.sql") == "sql/a.sql"  # under it
    assert repo_relative(Path("sql"))("a.sql") == "sql/a.sql"  # given relative
    monkeypatch.chdir(root / "sql")
    assert repo_relative(root)("sub/../a.sql") == "sub/../a.sql"  # above it: the names as configured


def _undecidable_project(tmp_path: Path) -> Path:
    """A canon and a source whose table copies another's columns (`AS db.base`): only the engine decides it."""
    (tmp_path / "canon.sql").write_text("CREATE DATABASE IF NOT EXISTS db;\n"
                                        "CREATE TABLE IF NOT EXISTS db.t (k UInt32) ENGINE = Memory;\n",
                                        encoding="utf-8")
    (tmp_path / "copy.sql").write_text("CREATE DATABASE IF NOT EXISTS db;\n"
                                       "CREATE TABLE IF NOT EXISTS db.base (k UInt32) ENGINE = Memory;\n"
                                       "CREATE TABLE IF NOT EXISTS db.t AS db.base;\n", encoding="utf-8")
    (tmp_path / "chconform.toml").write_text(
        'root = "."\ncanonical = "canon.sql"\nkey_tables = ["db.t"]\n'
        '[[source]]\npath = "canon.sql"\nrole = "dump"\n[[source]]\npath = "copy.sql"\nrole = "dump"\n',
        encoding="utf-8")
    return tmp_path / "chconform.toml"


def test_validate_annotates_an_undecidable_table_once_and_as_text(tmp_path: Path) -> None:
    """Bug fixed in issue 18: each static note was also a "note" finding whose message was the Python repr
    `Note(object='db.t', …)`, printed beside the real notice (and alone in JUnit)."""
    config = _undecidable_project(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert run(["validate", "--config", str(config), "--format", "github"], out, err) == 0, err.getvalue()
    assert out.getvalue().splitlines() == [
        "::notice title=chconform::copy.sql:3  db.t  undecidable statically: its columns come from `db.base`, "
        "which only the engine resolves",
        "chconform validate: conforms (2 checked)",
    ]
    out = io.StringIO()
    assert run(["validate", "--config", str(config), "--format", "junit"], out, err) == 0, err.getvalue()
    assert "Note(" not in out.getvalue()


# --- SARIF, JUnit and GitHub annotations, written out -------------------------------------------------------

FORGED = "types\n::error file=evil.sql,line=1::forged\nOK    fake.sql  (0.01s)"


def _outcome() -> Outcome:
    """Two failing findings on one source (one without a line), a note, a level no format knows, a warning on
    a path holding `,` and `:`, and a clean source."""
    a = (Finding("column_type", "db.t.a: " + FORGED, "a.sql", 3, 5, "error", "db.t\nx", "h"),
         Finding("statement_error", "round 1: boom 100%", "a.sql"),
         Finding("ignored", "n", "a.sql", None, None, "note"),
         Finding("engine", "e", "a.sql", None, None, "info"))
    b = (Finding("drop_view_not_recreated", "w 50%", "b,c:d.sql", 4, None, "warning"),)
    return Outcome("check", False, (Case("a.sql\n::error x", "chconform.check", a, 1.5),
                                    Case("b,c:d.sql", "chconform.check", b, 0.25),
                                    Case("ok.sql", "chconform.check", (), 0.0004)),
                   "24.8.4.1", ("note one\nOK    forged.sql",))


def test_github_annotations_written_out() -> None:
    assert render_github(_outcome()) == (
        "::error file=a.sql,line=3,col=5,title=chconform column_type::db.t.a: types\\n::error file=evil.sql,line=1"
        "::forged\\nOK    fake.sql  (0.01s)\n"
        "::error file=a.sql,title=chconform statement_error::round 1: boom 100%25\n"
        "::notice file=a.sql,title=chconform ignored::n\n"
        "::warning file=a.sql,title=chconform engine::e\n"
        "::warning file=b%2Cc%3Ad.sql,line=4,title=chconform drop_view_not_recreated::w 50%25\n"
        "::notice title=chconform::note one\\nOK    forged.sql\n"
        "chconform check: 5 findings in 1 of 3\n")


def test_github_a_passing_run_is_one_summary_line() -> None:
    passing = Outcome("validate", True, (Case("a.sql", "chconform.validate"), Case("b.sql", "chconform.validate")))
    assert render_github(passing) == "chconform validate: conforms (2 checked)\n"


def test_no_line_of_any_ci_format_is_forged_by_a_message() -> None:
    for text in (render_github(_outcome()), render_junit(_outcome()), render_sarif(_outcome())):
        for line in text.splitlines():
            assert not line.lstrip().startswith(("::error file=evil.sql", "OK    ")), line


def test_junit_written_out() -> None:
    assert render_junit(_outcome()) == """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="chconform">
  <testsuite name="chconform check" tests="3" failures="1" errors="0" skipped="0" time="1.750">
    <properties>
      <property name="clickhouse_version" value="24.8.4.1" />
    </properties>
    <testcase name="a.sql\\n::error x" classname="chconform.check" time="1.500">
      <failure type="column_type" message="2 findings">a.sql:3  [column_type] db.t.a: types\\n::error \
file=evil.sql,line=1::forged\\nOK    fake.sql  (0.01s)
a.sql  [statement_error] round 1: boom 100%</failure>
      <system-out>note: a.sql  [ignored] n
info: a.sql  [engine] e</system-out>
    </testcase>
    <testcase name="b,c:d.sql" classname="chconform.check" time="0.250">
      <system-out>warning: b,c:d.sql:4  [drop_view_not_recreated] w 50%</system-out>
    </testcase>
    <testcase name="ok.sql" classname="chconform.check" time="0.000" />
  </testsuite>
</testsuites>
"""


def test_junit_one_failure_without_a_release() -> None:
    one = Outcome("path", False, (Case("up", "chconform.path", (Finding("data_loss", "db.t: 2 → 0 rows", "m.sql", 2),),
                                       2.0),))
    assert render_junit(one) == """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="chconform">
  <testsuite name="chconform path" tests="1" failures="1" errors="0" skipped="0" time="2.000">
    <testcase name="up" classname="chconform.path" time="2.000">
      <failure type="data_loss" message="1 finding">m.sql:2  [data_loss] db.t: 2 → 0 rows</failure>
    </testcase>
  </testsuite>
</testsuites>
"""


def _sarif_rule(rule_id: str) -> dict[str, object]:
    r = RULES[rule_id]
    return {"id": rule_id, "name": rule_id, "shortDescription": {"text": r.summary}, "help": {"text": r.help},
            "defaultConfiguration": {"level": r.level}}


def test_sarif_written_out() -> None:
    def place(uri: str, region: dict[str, int] | None = None) -> dict[str, object]:
        return {"artifactLocation": {"uri": uri}, **({"region": region} if region else {})}

    assert to_sarif(_outcome()) == {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "chconform", "version": tool_version(),
                                "informationUri": "https://pypi.org/project/chconform/",
                                "rules": [_sarif_rule("column_type"), _sarif_rule("drop_view_not_recreated"),
                                          _sarif_rule("engine"), _sarif_rule("ignored"),
                                          _sarif_rule("statement_error")]}},
            "invocations": [{"executionSuccessful": True,
                             "properties": {"command": "check", "clickhouseVersion": "24.8.4.1"}}],
            "results": [
                {"ruleId": "column_type", "ruleIndex": 0, "level": "error",
                 "message": {"text": "db.t.a: types\\n::error file=evil.sql,line=1::forged\\nOK    fake.sql  (0.01s)"},
                 "locations": [{"physicalLocation": place("a.sql", {"startLine": 3, "startColumn": 5}),
                                "logicalLocations": [{"fullyQualifiedName": "db.t\\nx", "kind": "object"}]}]},
                {"ruleId": "statement_error", "ruleIndex": 4, "level": "error",
                 "message": {"text": "round 1: boom 100%"}, "locations": [{"physicalLocation": place("a.sql")}]},
                {"ruleId": "ignored", "ruleIndex": 3, "level": "note", "message": {"text": "n"},
                 "locations": [{"physicalLocation": place("a.sql")}]},
                {"ruleId": "engine", "ruleIndex": 2, "level": "warning", "message": {"text": "e"},
                 "locations": [{"physicalLocation": place("a.sql")}]},
                {"ruleId": "drop_view_not_recreated", "ruleIndex": 1, "level": "warning", "message": {"text": "w 50%"},
                 "locations": [{"physicalLocation": place("b,c:d.sql", {"startLine": 4})}]},
            ],
        }],
    }


def test_sarif_text_is_indented_json_keeping_unicode() -> None:
    one = Outcome("path", False, (Case("up", "chconform.path", (Finding("data_loss", "2 → 0 ∅", "m.sql"),)),))
    text = render_sarif(one)
    assert text.startswith('{\n  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",\n  "version": "2.1.0",\n')
    assert '"text": "2 → 0 ∅"' in text and text.endswith("\n}\n")
    assert json.loads(text) == to_sarif(one)


# --- the engine matrix --------------------------------------------------------------------------------------

def _error(line: int) -> StatementError:
    return StatementError(1, line, 36, "BAD_ARGUMENTS", "bad", "CREATE TABLE t", "a.sql")


@pytest.mark.parametrize(("source", "cell"), [
    (None, "-"),
    (SourceResult("a.sql", "dump"), "OK"),
    (SourceResult("a.sql", "dump", errors=(_error(3),)), "FAIL: 1 error"),
    (SourceResult("a.sql", "dump", differences=(Difference("db.t", "engine"),)), "FAIL: 1 difference"),
    (SourceResult("a.sql", "dump", missing_tables=("db.t",)), "FAIL: 1 missing"),
    (SourceResult("a.sql", "dump", errors=(_error(3), _error(4)), missing_tables=("db.t", "db.u", "db.v"),
                  differences=(Difference("db.t", "engine"), Difference("db.u", "engine"))),
     "FAIL: 2 errors, 2 differences, 3 missing"),
], ids=["absent", "ok", "error", "difference", "missing", "all"])
def test_a_verdict_cell(source: SourceResult | None, cell: str) -> None:
    assert verdict_cell(source) == cell


def _release(release: str, version: str, *sources: SourceResult) -> ReleaseRun:
    return ReleaseRun(release, RunResult("embedded", version, "a.sql", (), sources), duration_s=1.25)


def _wide_matrix() -> MatrixResult:
    """A source only the first release ran, divergences in rounds 1 and 2, and a build with 12 differences."""
    first = _release("24.8", "24.8.4.1", SourceResult("a.sql", "dump"),
                     SourceResult("migrations/0001_long_name.sql", "migration"))
    second = _release("26.9", "26.9.2.1\n::x", SourceResult("a.sql", "dump", errors=(_error(3),)))
    divergences = (
        Divergence("a.sql", 3, 1, "CREATE TABLE t\nOK", (("24.8", APPLIES), ("26.9", "Code 36 (BAD_ARGUMENTS): bad"))),
        Divergence("a`|.sql", 9, 2, "DROP TABLE t", (("24.8", APPLIES), ("26.9", "Code 60 (UNKNOWN_TABLE): x"))),
    )
    diffs = ((Difference("db.u", "column_type", "String", "Int8\nOK", column="c\n"),)
             + tuple(Difference(f"db.t{i}", "engine", "Log", "Memory") for i in range(11)))
    builds = (BuildDivergence("a.sql", "24.8", "26.9", diffs), BuildDivergence("b.sql", "24.8", "26.9", diffs[1:2]))
    return MatrixResult((first, second), divergences, builds)


def test_the_matrix_as_text_written_out() -> None:
    assert render_matrix_text(_wide_matrix()) == """\
chconform matrix: 2 sources on ClickHouse 24.8 (24.8.4.1), 26.9 (26.9.2.1\\n::x)

source                         ClickHouse 24.8  ClickHouse 26.9
a.sql                          OK               FAIL: 1 error
migrations/0001_long_name.sql  OK               -

Upgrade risk: 2 statements whose outcome differs between releases
  a.sql:3  CREATE TABLE t\\nOK
      applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS): bad
  a`|.sql:9 (round 2)  DROP TABLE t
      applies on 24.8; fails on 26.9 with Code 60 (UNKNOWN_TABLE): x

Builds differently (applied cleanly on both, different schema):
  a.sql: 12 difference(s) between 24.8 and 26.9
      db.u.c\\n column_type: 24.8 String vs 26.9 Int8\\nOK
      db.t0 engine: 24.8 Log vs 26.9 Memory
      db.t1 engine: 24.8 Log vs 26.9 Memory
      db.t2 engine: 24.8 Log vs 26.9 Memory
      db.t3 engine: 24.8 Log vs 26.9 Memory
      db.t4 engine: 24.8 Log vs 26.9 Memory
      db.t5 engine: 24.8 Log vs 26.9 Memory
      db.t6 engine: 24.8 Log vs 26.9 Memory
      db.t7 engine: 24.8 Log vs 26.9 Memory
      db.t8 engine: 24.8 Log vs 26.9 Memory
      ... and 2 more
  b.sql: 1 difference(s) between 24.8 and 26.9
      db.t0 engine: 24.8 Log vs 26.9 Memory

Verdict: 24.8 PASS, 26.9 FAIL
"""


def test_the_matrix_of_short_names_and_no_risk_as_text() -> None:
    """Names shorter than the word "source"; ten differences are all listed; one divergence is one statement."""
    one = _release("24.8", "24.8.4.1", SourceResult("a.sql", "dump"))
    two = _release("26.9", "26.9.2.1", SourceResult("a.sql", "dump"))
    diffs = tuple(Difference(f"db.t{i}", "engine", "Log", "Memory") for i in range(10))
    calm = MatrixResult((one, two), (), (BuildDivergence("a.sql", "24.8", "26.9", diffs),))
    text = render_matrix_text(calm)
    assert text.splitlines()[:7] == [
        "chconform matrix: 1 sources on ClickHouse 24.8 (24.8.4.1), 26.9 (26.9.2.1)",
        "",
        "source  ClickHouse 24.8  ClickHouse 26.9",
        "a.sql   OK               OK",
        "",
        "Upgrade risk: every statement has the same outcome on every release",
        "",
    ]
    assert "... and" not in text and text.endswith("      db.t9 engine: 24.8 Log vs 26.9 Memory\n\n"
                                                   "Verdict: 24.8 PASS, 26.9 PASS\n")
    risky = MatrixResult((one, two), _wide_matrix().divergences[:1], ())
    assert render_matrix_text(risky).splitlines()[5:9] == [
        "Upgrade risk: 1 statement whose outcome differs between releases",
        "  a.sql:3  CREATE TABLE t\\nOK",
        "      applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS): bad",
        "",
    ]
    assert render_matrix_text(MatrixResult((), (), ())) == ("chconform matrix: 0 sources on ClickHouse \n\nsource\n\n"
                                                            "Upgrade risk: every statement has the same outcome on "
                                                            "every release\n\nVerdict: \n")


def test_the_matrix_as_markdown_written_out() -> None:
    assert render_matrix_markdown(_wide_matrix()) == """\
### chconform matrix: 2 sources on ClickHouse 24.8 (24.8.4.1), 26.9 (26.9.2.1\\n::x)

| source | ClickHouse 24.8 | ClickHouse 26.9 |
|---|---|---|
| `a.sql` | OK | FAIL: 1 error |
| `migrations/0001_long_name.sql` | OK | - |

**Upgrade risk**: statements whose outcome differs between releases

- `a.sql:3` `CREATE TABLE t\\nOK`: applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS): bad
- `a'\\|.sql:9` `DROP TABLE t`: applies on 24.8; fails on 26.9 with Code 60 (UNKNOWN_TABLE): x
- `a.sql` builds differently on 24.8 and 26.9: 12 difference(s)
- `b.sql` builds differently on 24.8 and 26.9: 1 difference(s)
"""
    calm = MatrixResult((_release("24.8", "24.8.4.1", SourceResult("a|b.sql", "dump")),), (), ())
    assert render_matrix_markdown(calm) == ("### chconform matrix: 1 sources on ClickHouse 24.8 (24.8.4.1)\n\n"
                                            "| source | ClickHouse 24.8 |\n|---|---|\n| `a\\|b.sql` | OK |\n\n"
                                            "Every statement has the same outcome on every release.\n")


def test_the_matrix_as_json_written_out() -> None:
    matrix = _wide_matrix()
    first, second = matrix.runs
    data = matrix_to_json(matrix)
    assert data == {
        "ok": False,
        "releases": [
            {"engine": "24.8", "clickhouse_version": "24.8.4.1", "ok": True, "duration_s": 1.25,
             "run": to_json(first.result)},
            {"engine": "26.9", "clickhouse_version": "26.9.2.1\n::x", "ok": False, "duration_s": 1.25,
             "run": to_json(second.result)},
        ],
        "divergences": [
            {"source": "a.sql", "line": 3, "round": 1, "statement": "CREATE TABLE t\nOK",
             "outcomes": {"24.8": "applies", "26.9": "Code 36 (BAD_ARGUMENTS): bad"},
             "summary": "applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS): bad"},
            {"source": "a`|.sql", "line": 9, "round": 2, "statement": "DROP TABLE t",
             "outcomes": {"24.8": "applies", "26.9": "Code 60 (UNKNOWN_TABLE): x"},
             "summary": "applies on 24.8; fails on 26.9 with Code 60 (UNKNOWN_TABLE): x"},
        ],
        "build_divergences": [
            {"source": "a.sql", "base": "24.8", "other": "26.9",
             "differences": [d.to_dict() for d in matrix.build_divergences[0].differences]},
            {"source": "b.sql", "base": "24.8", "other": "26.9",
             "differences": [{"object": "db.t0", "aspect": "engine", "canonical": "Log", "actual": "Memory",
                              "column": None, "source": "", "line": None, "check": "canonical"}]},
        ],
    }
    text = render_matrix_json(matrix)
    assert text.startswith('{\n  "ok": false,\n  "releases": [\n    {\n      "engine": "24.8",\n')
    assert text.endswith("\n}\n") and json.loads(text) == json.loads(json.dumps(data))


def test_a_verdict_wider_than_its_release_pads_the_header_on_the_right() -> None:
    broken = SourceResult("a.sql", "dump", errors=(_error(3), _error(4)), differences=(Difference("db.t", "engine"),))
    matrix = MatrixResult((_release("24.8", "24.8.4.1", broken), _release("26.9", "26.9.2.1", broken)), (), ())
    assert render_matrix_text(matrix).splitlines()[2:4] == [
        "source  ClickHouse 24.8               ClickHouse 26.9",
        "a.sql   FAIL: 2 errors, 1 difference  FAIL: 2 errors, 1 difference",
    ]
