"""The text, Markdown and JSON reports of a check, written out whole (mutation survivors in reports/render).

A report is what a user reads and what CI parses: every line, every key, every colour code is asserted here,
so a dropped field, a changed word or a lost escape fails a test instead of reaching a user.
"""

from __future__ import annotations

from dataclasses import replace

from chconform.checks.run import RunResult, Skipped, SourceResult, StatementError
from chconform.model import Difference
from chconform.reports.render import (
    Style,
    render_json,
    render_markdown,
    render_source,
    render_text,
    status_of,
    to_json,
)

INIT = SourceResult(
    "init.sql", "init",
    errors=(StatementError(1, 7, 50, "UNKNOWN_TYPE", "Unknown data type family: Strin", "CREATE TABLE zakaz.c",
                           "init.sql", 0),
            StatementError(2, 9, 62, "SYNTAX_ERROR", "Syntax error", "CREATE TABLE zakaz.d (", "init.sql", 14)),
    differences=(Difference("zakaz.a", "column_type", "String", "UInt8", "x", "init.sql", 3),
                 Difference("zakaz.b", "not_idempotent", "", "", None, "init.sql", None, "idempotency")),
    missing_tables=("zakaz.e",),
    skipped=tuple(Skipped(20 + i, "access control: no users here", f"GRANT SELECT ON zakaz.* TO r{i}")
                  for i in range(5)),
    warnings=("a warning",), defined=("zakaz.a", "zakaz.b"), duration_s=1.25, notes=("ON CLUSTER dropped",),
    ignored=("zakaz.q drop_in_dump: [rules]",))
CANON = SourceResult("canon.sql", "dump", defined=("zakaz.a", "zakaz.b"), duration_s=0.5)
MIG = SourceResult("mig.sql", "migration", defined=("zakaz.a",), duration_s=0.125)
RUN = RunResult("embedded", "26.9.2.1", "canon.sql", ("zakaz.a", "zakaz.b"), (CANON, INIT, MIG), sandbox="landlock")

HEAD = [
    "chconform: 3 sources on embedded (ClickHouse 26.9.2.1), canonical canon.sql, sandbox landlock",
    "",
    "  [1] canon.sql",
    "  [2] init.sql",
    "  [3] mig.sql",
    "",
    "         [1]        [2]        [3]      ",
    "zakaz.a  identical  differs    identical",
    "zakaz.b  identical  differs    absent   ",
    "",
    "OK    canon.sql  (0.50s)",
]
FINDINGS = [
    "init.sql:7  round 1  error 50 UNKNOWN_TYPE: Unknown data type family: Strin  [CREATE TABLE zakaz.c]",
    "init.sql:9:14  round 2  error 62 SYNTAX_ERROR: Syntax error  [CREATE TABLE zakaz.d (]",
    "init.sql:3  zakaz.a.x  column_type: String → UInt8",
    "init.sql  zakaz.b  not_idempotent: ∅ → ∅",
    "init.sql  zakaz.e  missing_table: defined by must_define → absent",
]
INIT_LINES = [
    "FAIL  init.sql  (1.25s, 5 skipped)",
    *("      " + f for f in FINDINGS),
    "      warning: a warning",
    "      ignored: zakaz.q drop_in_dump: [rules]",
    "      note: ON CLUSTER dropped",
]
SKIPS = [f"      skipped init.sql:{20 + i}: access control: no users here  [GRANT SELECT ON zakaz.* TO r{i}]"
         for i in range(5)]
TAIL = ["OK    mig.sql  (0.12s)", "", "DIFFERS: 1 of 3 sources: init.sql"]


def test_the_text_report_whole() -> None:
    assert render_text(RUN).splitlines() == [*HEAD, *INIT_LINES, *SKIPS[:3], "      ... and 2 more skipped", *TAIL]


def test_verbose_lists_every_skip_and_quiet_only_the_failures() -> None:
    assert render_text(RUN, verbose=True).splitlines() == [*HEAD, *INIT_LINES, *SKIPS, *TAIL]
    assert render_text(RUN, quiet=True).splitlines() == [*INIT_LINES, "", "DIFFERS: 1 of 3 sources: init.sql"]


def test_a_conforming_run_and_the_cache_note() -> None:
    run = RunResult("docker", "24.8.1", "canon.sql", ("zakaz.a",), (CANON, MIG), extra={"cached": "1"})
    lines = render_text(run).splitlines()
    assert lines[0] == ("chconform: 2 sources on docker (ClickHouse 24.8.1), canonical canon.sql, sandbox none; "
                        "1 sources unchanged, from the cache")
    assert lines[-1] == "conforms: every source builds the canonical schema"
    assert render_text(run, quiet=True) == "conforms: every source builds the canonical schema\n"
    assert render_text(RunResult("e", "1", "c", (), (), extra={"cached": "0"})).splitlines()[0] == \
        "chconform: 0 sources on e (ClickHouse 1), canonical c, sandbox none"


def test_colours_on_a_terminal() -> None:
    lines = render_text(RUN, style=Style(color=True)).splitlines()
    assert lines[7:9] == [
        "zakaz.a  \x1b[32midentical\x1b[0m  \x1b[1;31mdiffers  \x1b[0m  \x1b[32midentical\x1b[0m",
        "zakaz.b  \x1b[32midentical\x1b[0m  \x1b[1;31mdiffers  \x1b[0m  \x1b[2mabsent   \x1b[0m",
    ]
    assert lines[10] == "\x1b[32mOK  \x1b[0m  canon.sql  (0.50s)"
    assert lines[11] == "\x1b[1;31mFAIL\x1b[0m  init.sql  (1.25s, 5 skipped)"
    assert "      \x1b[33mwarning: \x1b[0ma warning" in lines
    assert lines[-1] == "\x1b[1;31mDIFFERS: 1 of 3 sources: init.sql\x1b[0m"
    assert Style().ok("x") == Style().bad("x") == Style().warn("x") == Style().dim("x") == "x"


def _wide(n: int) -> RunResult:
    tables = tuple(f"zakaz.t{i:02}" for i in range(n))
    drifted = SourceResult("b.sql", "dump", differences=(Difference("zakaz.t03", "engine", "Log", "Memory"),),
                           defined=tables)
    return RunResult("embedded", "26.9", "a.sql", tables, (SourceResult("a.sql", "dump", defined=tables), drifted))


def test_a_large_matrix_shows_the_rows_that_differ_unless_asked_for_all() -> None:
    lines = render_text(_wide(21)).splitlines()
    matrix = lines[lines.index("  [2] b.sql") + 2:lines.index("OK    a.sql  (0.00s)") - 1]
    assert matrix == ["           [1]        [2]      ", "zakaz.t03  identical  differs  ",
                      "(20 of 21 tables identical in every source; --all shows them)"]
    assert len(render_text(_wide(21), all_rows=True).splitlines()) == len(lines) + 20 - 1
    small = render_text(_wide(20)).splitlines()
    assert "zakaz.t00  identical  identical" in small and not any("--all shows them" in ln for ln in small)
    assert "(4 of 5 tables identical in every source; --all shows them)" in render_text(_wide(5), all_rows=False)


def test_status_of_counts_only_findings_against_the_canon() -> None:
    role = SourceResult("x.sql", "dump", differences=(Difference("zakaz.a", "drop_in_dump", check="role"),),
                        defined=("zakaz.a",))
    assert status_of(role, "zakaz.a") == "identical"
    for check in ("canonical", "idempotency", "duplicate"):
        src = SourceResult("x.sql", "dump", differences=(Difference("zakaz.a", "engine", check=check),),
                           defined=("zakaz.a",))
        assert status_of(src, "zakaz.a") == "differs" and status_of(src, "zakaz.b") == "absent"


def test_findings_are_capped_and_an_unreadable_file_keeps_its_position() -> None:
    many = SourceResult("m.sql", "dump", differences=tuple(Difference(f"zakaz.t{i}", "engine", "A", "B", None,
                                                                      "m.sql", i + 1) for i in range(53)))
    lines = render_source(many)
    assert len(lines) == 51 and lines[49] == "m.sql:50  zakaz.t49  engine: A → B" and lines[50] == "... and 3 more"
    assert len(render_source(SourceResult("m.sql", "dump", differences=many.differences[:50]))) == 50
    unreadable = SourceResult("u.sql", "dump", errors=(StatementError(0, 3, None, "SOURCE_ERROR",
                                                                      "u.sql:3:7: invalid UTF-8", "", "u.sql"),))
    assert render_source(unreadable, lambda p: "repo/" + p) == ["repo/u.sql:3:7: invalid UTF-8  (SOURCE_ERROR)"]
    no_code = SourceResult("n.sql", "dump", errors=(StatementError(1, 2, None, None, "engine stopped", "SELECT 1",
                                                                   "n.sql"),))
    assert render_source(no_code) == ["n.sql:2  round 1  error  : engine stopped  [SELECT 1]"]


def test_paths_go_through_display_and_source_text_through_escaping() -> None:
    odd = SourceResult("o.sql", "dump", differences=(Difference("zakaz.a", "table_comment", "a\nFAIL  x", "b", None,
                                                                "o.sql", 4),), defined=("zakaz.a",))
    run = RunResult("embedded", "26.9", "canon.sql", ("zakaz.a",), (odd,))
    text = render_text(run, display=lambda p: "sub/" + p)
    assert "  [1] sub/o.sql" in text.splitlines() and "FAIL  sub/o.sql  (0.00s)" in text.splitlines()
    assert not any(line.startswith("FAIL  x") for line in text.splitlines())
    assert to_json(run, lambda p: "sub/" + p)["canonical"] == "sub/canon.sql"


def test_the_markdown_report_whole() -> None:
    assert render_markdown(RUN).splitlines() == [
        "**Differs**: 3 sources on embedded (ClickHouse 26.9.2.1), canonical `canon.sql`",
        "",
        "| table | `canon.sql` | `init.sql` | `mig.sql` |",
        "|---|---|---|---|",
        "| `zakaz.a` | identical | differs | identical |",
        "| `zakaz.b` | identical | differs | absent |",
        "",
        "```text",
        *FINDINGS,
        "```",
    ]
    ok = RunResult("embedded", "26.9", "canon.sql", (), (CANON,))
    assert render_markdown(ok).splitlines() == [
        "**Conforms**: 1 sources on embedded (ClickHouse 26.9), canonical `canon.sql`", "",
        "| table | `canon.sql` |", "|---|---|", "| `zakaz.a` | identical |", "| `zakaz.b` | identical |"]


def test_the_json_report_whole() -> None:
    data = to_json(RUN)
    assert {k: v for k, v in data.items() if k != "sources"} == {
        "schema_version": 2, "tool": {"name": "chconform", "version": data["tool"]["version"]}, "ok": False,
        "backend": "embedded", "clickhouse_version": "26.9.2.1", "canonical": "canon.sql", "sandbox": "landlock"}
    assert data["sources"][0] == {
        "path": "canon.sql", "role": "dump", "ok": True, "errors": [], "differences": [], "missing_tables": [],
        "skipped": [], "warnings": [], "ignored": [], "notes": [], "tables": {"zakaz.a": "identical",
                                                                               "zakaz.b": "identical"},
        "duration_s": 0.5}
    init = data["sources"][1]
    assert init["errors"] == [
        {"round": 1, "line": 7, "col": None, "code": 50, "name": "UNKNOWN_TYPE",
         "message": "Unknown data type family: Strin", "statement": "CREATE TABLE zakaz.c", "rule": "statement_error",
         "severity": "error", "hint": "Fix the statement: ClickHouse's code and message say why."},
        {"round": 2, "line": 9, "col": 14, "code": 62, "name": "SYNTAX_ERROR", "message": "Syntax error",
         "statement": "CREATE TABLE zakaz.d (", "rule": "not_idempotent", "severity": "error",
         "hint": "Use CREATE … IF NOT EXISTS / DROP … IF EXISTS so the source can be re-applied."},
    ]
    assert init["differences"] == [
        {"object": "zakaz.a", "aspect": "column_type", "column": "x", "canonical": "String", "actual": "UInt8",
         "line": 3, "check": "canonical", "rule": "column_type", "severity": "error",
         "hint": "Use the canonical type (`chconform plan` prints the ALTER)."},
        {"object": "zakaz.b", "aspect": "not_idempotent", "column": None, "canonical": "", "actual": "", "line": None,
         "check": "idempotency", "rule": "idempotency", "severity": "error",
         "hint": "Applying the source twice must build the same schema; look for statements that add or alter on "
                 "every run."},
    ]
    assert (init["path"], init["role"], init["ok"], init["missing_tables"], init["warnings"], init["ignored"],
            init["notes"], init["tables"], init["duration_s"]) == (
        "init.sql", "init", False, ["zakaz.e"], ["a warning"], ["zakaz.q drop_in_dump: [rules]"],
        ["ON CLUSTER dropped"], {"zakaz.a": "differs", "zakaz.b": "differs"}, 1.25)
    assert init["skipped"][4] == {"line": 24, "reason": "access control: no users here",
                                  "statement": "GRANT SELECT ON zakaz.* TO r4"}
    assert data["sources"][2]["tables"] == {"zakaz.a": "identical", "zakaz.b": "absent"}
    assert render_json(RUN).endswith("}\n") and '"path": "init.sql"' in render_json(RUN)
    assert '"message": "Unknown data type family: Strin"' in render_json(RUN).replace("  ", "")


def test_display_rewrites_every_path_in_findings_and_json() -> None:
    show = "sub/{}".format
    text = render_text(RUN, display=show).splitlines()
    assert "      sub/init.sql:3  zakaz.a.x  column_type: String → UInt8" in text
    assert text[-1] == "DIFFERS: 1 of 3 sources: sub/init.sql"
    assert "sub/init.sql:7  round 1  error 50 UNKNOWN_TYPE: Unknown data type family: Strin  [CREATE TABLE zakaz.c]" \
        in render_markdown(RUN, show).splitlines()
    assert to_json(RUN, show)["sources"][1]["path"] == "sub/init.sql"
    assert render_json(RUN, show).count('"sub/') == 4  # canonical and the three sources


def test_the_json_text_is_indented_by_two_and_keeps_unicode() -> None:
    odd = SourceResult("ü.sql", "dump", differences=(Difference("zakaz.a", "table_comment", "é", "ß", None, "ü.sql", 1),),
                       defined=("zakaz.a",))
    text = render_json(RunResult("embedded", "26.9", "ü.sql", ("zakaz.a",), (odd,)))
    assert text.startswith('{\n  "schema_version": 2,\n  "tool": {\n    "name": "chconform",\n')
    assert '"canonical": "ü.sql"' in text and '"canonical": "é"' in text and "\\u" not in text


def test_three_skips_are_listed_and_a_fourth_is_counted() -> None:
    def with_skips(n: int) -> list[str]:
        src = SourceResult("s.sql", "dump", skipped=tuple(Skipped(i, "r", f"GRANT {i}") for i in range(1, n + 1)))
        return render_text(RunResult("e", "1", "s.sql", (), (src,))).splitlines()

    assert [ln for ln in with_skips(3) if "skipped" in ln] == ["OK    s.sql  (0.00s, 3 skipped)",
                                                               "      skipped s.sql:1: r  [GRANT 1]",
                                                               "      skipped s.sql:2: r  [GRANT 2]",
                                                               "      skipped s.sql:3: r  [GRANT 3]"]
    assert "      ... and 1 more skipped" in with_skips(4)


def test_quiet_goes_past_a_conforming_source_and_names_every_failure() -> None:
    bad = SourceResult("b.sql", "dump", differences=(Difference("zakaz.a", "engine", "A", "B", None, "b.sql", 1),))
    run = RunResult("e", "1", "a.sql", (), (CANON, bad, replace(bad, path="c.sql")))
    assert render_text(run, quiet=True).splitlines() == [
        "FAIL  b.sql  (0.00s)", "      b.sql:1  zakaz.a  engine: A → B",
        "FAIL  c.sql  (0.00s)", "      b.sql:1  zakaz.a  engine: A → B",
        "", "DIFFERS: 2 of 3 sources: b.sql, c.sql"]


def test_a_short_table_name_still_gets_a_five_wide_column_and_names_are_left_aligned() -> None:
    run = RunResult("e", "1", "a.sql", ("d.t",), (SourceResult("a.sql", "dump", defined=("d.t",)),))
    lines = render_text(run).splitlines()
    assert lines[4:6] == ["       [1]      ", "d.t    identical"]
    wide = RunResult("e", "1", "a.sql", (), (SourceResult("a.sql", "dump", defined=("zakaz.b", "z.a")),))
    assert render_text(wide).splitlines()[5:7] == ["z.a      identical", "zakaz.b  identical"]  # defined, sorted


def test_an_engine_error_at_round_0_is_not_an_unreadable_file() -> None:
    e = StatementError(0, 2, 81, "UNKNOWN_DATABASE", "x.sql: database zakaz does not exist", "USE zakaz", "p.sql")
    assert render_source(SourceResult("p.sql", "dump", errors=(e,))) == [
        "p.sql:2  round 0  error 81 UNKNOWN_DATABASE: x.sql: database zakaz does not exist  [USE zakaz]"]
    f = StatementError(1, 2, 81, "UNKNOWN_DATABASE", "p.sql: no", "USE zakaz", "p.sql")
    assert render_source(SourceResult("p.sql", "dump", errors=(f, f))) == [
        "p.sql:2  round 1  error 81 UNKNOWN_DATABASE: p.sql: no  [USE zakaz]"] * 2
    g = StatementError(0, 1, None, "SOURCE_ERROR", "p.sql:1:1: bad", "", "p.sql")
    assert render_source(SourceResult("p.sql", "dump", errors=(g, g))) == ["p.sql:1:1: bad  (SOURCE_ERROR)"] * 2
