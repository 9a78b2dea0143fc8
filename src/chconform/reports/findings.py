"""One result model for every machine format: findings with a rule id, a level and a place, grouped in cases.

`check`, `validate`, `path` and `diff` each keep their own result types; the CI formats (SARIF,
JUnit, GitHub annotations) read only this model, so a new command gets every format by writing
one converter, and a new format serves every command by reading `Outcome`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from chconform.model import Difference

__all__ = [
    "Case", "Finding", "Outcome", "Rule", "RULES", "SCHEMA_VERSION", "rule", "tool_version",
    "repo_relative", "error_rule", "json_header", "from_difference", "from_check", "from_validate", "from_path",
]

SCHEMA_VERSION = 2  # of the JSON reports: 2 added tool, rule, level, hint; errors' position column is `col`

Display = Callable[[str], str]


@cache
def tool_version() -> str:
    from importlib import metadata  # here: importing it costs a tenth of a second on every start

    try:
        return metadata.version("chconform")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def json_header() -> dict[str, Any]:
    """The keys every JSON report starts with: which layout, and which chconform wrote it."""
    return {"schema_version": SCHEMA_VERSION, "tool": {"name": "chconform", "version": tool_version()}}


@dataclass(frozen=True)
class Rule:
    """What a rule id means, for SARIF's rule list and for `--format json` readers."""

    id: str
    summary: str
    help: str
    level: str = "error"


# Differences are keyed by their aspect; everything else by what went wrong.
_RULE_ROWS: tuple[tuple[str, ...], ...] = (  # (id, summary, help[, level]), one row per id
    ("statement_error", "ClickHouse refused a statement", "Fix the statement: ClickHouse's code and message say why."),
    ("refused", "The gate refused a statement", "The statement reaches outside a throwaway engine; remove it from the "
     "schema source or move it to a script that chconform does not apply."),
    ("not_idempotent", "A statement fails when the source is applied a second time",
     "Use CREATE … IF NOT EXISTS / DROP … IF EXISTS so the source can be re-applied."),
    ("idempotency", "The second application changes the schema",
     "Applying the source twice must build the same schema; look for statements that add or alter on every run."),
    ("duplicate", "One file defines a table twice, differently",
     "Keep one definition: the second IF NOT EXISTS silently hides the drift."),
    ("missing_table", "A table the source must define is absent", "Add the table or adjust must_define."),
    ("data_loss", "An upgrade step lost rows", "Rebuild with INSERT … SELECT before dropping, or accept with "
     "--accept-data-loss if the drop is intended."),
    ("unreadable", "The source cannot be read", "Fix the encoding or the file named in the message."),
    ("unconfigured_source", "A file under the root creates tables but is not configured",
     "Add a [[source]] (or a [[path]] step) for it, or move it out of the root."),
    ("missing_table_canonical", "A table of the canon is absent", "Create the table as the canon defines it."),
    ("drop_in_dump", "A dump drops or truncates", "A dump builds from nothing; remove the DROP/TRUNCATE."),
    ("drop_not_recreated", "A table is dropped and never re-created", "Rows are lost: re-create the table "
     "right after the DROP, or move the drop into a migration that says so."),
    ("drop_view_not_recreated", "A view is dropped and not re-created", "No rows are lost; if the view is obsolete "
     "on purpose, say so: -- chconform: ignore[drop_view_not_recreated] why", "warning"),
    ("drop_before_create", "A DROP stands apart from its re-create", "Move the CREATE right after its DROP, or set "
     "[rules] drop_before_create = \"off\" if this is the house style.", "warning"),
    ("column_type", "A column's type differs from the canon", "Use the canonical type (`chconform plan` prints "
     "the ALTER)."),
    ("column_missing", "A canonical column is missing", "Add the column as the canon defines it."),
    ("column_extra", "A column the canon does not have", "Drop the column or add it to the canon."),
    ("column_order", "Columns are in another order", "Order the columns as the canon does (INSERT without a "
     "column list depends on it)."),
    ("column_default", "A column's default differs", "Use the canonical DEFAULT/MATERIALIZED/ALIAS expression."),
    ("column_comment", "A column's comment differs", "Use the canonical comment."),
    ("column_codec", "A column's codec differs", "Use the canonical CODEC."),
    ("engine", "The table engine differs", "Use the canonical ENGINE; changing it needs a rebuild."),
    ("partition_key", "PARTITION BY differs", "Use the canonical PARTITION BY; changing it needs a rebuild."),
    ("sorting_key", "ORDER BY differs", "Use the canonical ORDER BY."),
    ("primary_key", "PRIMARY KEY differs", "Use the canonical PRIMARY KEY."),
    ("sampling_key", "SAMPLE BY differs", "Use the canonical SAMPLE BY."),
    ("ttl", "The table TTL differs", "Use the canonical TTL."),
    ("settings", "Table SETTINGS differ", "Use the canonical SETTINGS."),
    ("comment", "The table comment differs", "Use the canonical COMMENT."),
    ("view_query", "A view's query differs", "Use the canonical SELECT (CREATE OR REPLACE VIEW)."),
    ("view_columns", "A view returns other columns or types", "Match the canonical view's columns and types."),
    ("indices", "Data skipping indices differ", "Add or drop INDEX as the canon defines them."),
    ("projections", "Projections differ", "Add or drop PROJECTION as the canon defines them."),
    ("constraints", "Constraints differ", "Add or drop CONSTRAINT as the canon defines them."),
    ("column_ttl", "A column's TTL differs", "Use the canonical column TTL (MODIFY COLUMN … TTL)."),
    ("column_statistics", "A column's statistics differ", "Use the canonical STATISTICS."),
    ("column_options", "A dictionary attribute's options differ", "Use the canonical HIERARCHICAL/INJECTIVE/… flags."),
    ("mv_target", "A materialized view writes to another table", "Use the canonical TO table."),
    ("dictionary_source", "A dictionary's SOURCE differs", "Use the canonical SOURCE."),
    ("dictionary_layout", "A dictionary's LAYOUT differs", "Use the canonical LAYOUT."),
    ("dictionary_lifetime", "A dictionary's LIFETIME differs", "Use the canonical LIFETIME."),
    ("dictionary_range", "A dictionary's RANGE differs", "Use the canonical RANGE."),
    ("create_query", "The CREATE text differs in a clause no aspect above models",
     "Compare the CREATE statements: SHOW CREATE on both shows the clause."),
    ("function", "A SQL function's definition differs", "Use the canonical CREATE FUNCTION."),
    ("missing_function", "A SQL function of the canon is absent", "Create the function as the canon defines it."),
    ("replication", "Replicated engine arguments differ", "Use the canonical ZooKeeper path and replica name."),
    ("warning", "Something the run could not judge fully", "Read the message; it names what was not compared.",
     "warning"),
    ("ignored", "A finding ignored inline or switched off in [rules]", "The message names the rule and the reason.",
     "note"),
    ("note", "Applied differently from the file", "Clustered statements run on one node: ON CLUSTER dropped, "
     "Replicated engines as their base engine.", "note"),
)
RULES: dict[str, Rule] = {r[0]: Rule(*r) for r in _RULE_ROWS}


def rule(rule_id: str) -> Rule:
    """A known rule, or a generic one for an aspect added after this table (never an error to look up)."""
    return RULES.get(rule_id) or Rule(rule_id, rule_id.replace("_", " "), "Make the definition match the canon.")


@dataclass(frozen=True)
class Finding:
    """One thing wrong, at one place; `path` is relative to the repository."""

    rule: str
    message: str
    path: str
    line: int | None = None
    col: int | None = None
    level: str = "error"  # error | warning | note
    object: str = ""
    hint: str = ""


@dataclass(frozen=True)
class Case:
    """One test case of a JUnit report: a source (or path) under one check."""

    name: str
    classname: str
    findings: tuple[Finding, ...] = ()
    duration_s: float = 0.0

    @property
    def failed(self) -> bool:
        return any(f.level == "error" for f in self.findings)


@dataclass(frozen=True)
class Outcome:
    """What a command found, in the one shape every CI format reads."""

    command: str
    ok: bool
    cases: tuple[Case, ...]
    clickhouse_version: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.cases for f in c.findings]


def _same(path: str) -> str:
    return path


@cache
def _repository(start: str) -> Path | None:
    """The nearest folder holding `.git` (a checkout, a worktree or a submodule), or None."""
    for folder in (Path(start), *Path(start).parents):
        if (folder / ".git").exists():
            return folder
    return None


def _absolute(path: Path) -> Path:
    """Absolute and normalised, but symlinks kept: a linked source is shown under its own name."""
    return Path(os.path.normpath(path.absolute()))


def repo_relative(root: Path) -> Display:
    """Paths as editors and CI annotations open them: relative to the git checkout, else to the current folder.

    `root` is the configured root the sources are named against. A root in no checkout and outside the
    current folder (a throwaway copy) keeps the names relative to the root: there is nothing better to anchor on."""
    anchored = _absolute(root)
    base = _repository(str(anchored))
    if base is None:
        cwd = _absolute(Path(os.getcwd()))
        base = cwd if anchored == cwd or cwd in anchored.parents else None
    if base is None:
        return _same

    def display(path: str) -> str:
        if not path or "://" in path:
            return path
        absolute = _absolute(anchored / path)
        try:
            return absolute.relative_to(base).as_posix()
        except ValueError:  # a source outside the checkout: the absolute path still opens
            return absolute.as_posix()

    return display


def from_difference(d: Difference, display: Display = _same, fallback: str = "") -> Finding:
    rule_id = {"idempotency": "idempotency", "duplicate": "duplicate"}.get(d.check, d.aspect)
    obj = f"{d.object}.{d.column}" if d.column else d.object
    what = f"{obj}: {rule(d.aspect).summary.lower()}" if rule_id == d.aspect else f"{obj}: {rule(rule_id).summary.lower()} ({d.aspect})"
    message = f"{what}: canonical {d.canonical or '∅'}, here {d.actual or '∅'}"
    return Finding(rule_id, message, display(d.source or fallback), d.line, None, "error", d.object,
                   rule(rule_id).help)


def error_rule(e: Any) -> str:
    """The rule of a statement error: refused by the gate, unreadable, failing on re-apply, or refused by ClickHouse."""
    if e.name == "REFUSED":
        return "refused"
    return {0: "unreadable", 2: "not_idempotent"}.get(e.round, "statement_error")


def _error_finding(e: Any, display: Display, path: str) -> Finding:
    rule_id = error_rule(e)
    code = " ".join(str(x) for x in (e.code, e.name) if x)
    message = f"round {e.round}: {code + ': ' if code else ''}{e.message}" + (f"  [{e.statement}]" if e.statement else "")
    return Finding(rule_id, message, display(e.source or path), e.line or None, e.column or None, "error", "",
                   rule(rule_id).help)


def _source_findings(s: Any, display: Display) -> list[Finding]:
    out = [_error_finding(e, display, s.path) for e in getattr(s, "errors", ())]
    out += [from_difference(d, display, s.path) for d in s.differences]
    out += [Finding("missing_table", f"{t}: required by must_define, absent", display(s.path), None, None, "error", t,
                    rule("missing_table").help) for t in s.missing_tables]
    out += [_warning_finding(str(w), display, s.path) for w in s.warnings]
    # an inline ignore or a rule switched off in [rules], and what ran differently (one node): notes, never silent
    out += [Finding("ignored", str(w), display(s.path), None, None, "note") for w in getattr(s, "ignored", ())]
    out += [Finding("note", str(w), display(s.path), None, None, "note") for w in s.notes]
    return out


_RULE_WARNING = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+): (?P<rule>[a-z][a-z0-9_]*): ")


def _warning_finding(text: str, display: Display, path: str) -> Finding:
    """A warning; one a rule set to "warning" raised keeps that rule's id and its line (checks/rules.py)."""
    from chconform.checks.rules import RULES as ROLE_RULES

    m = _RULE_WARNING.match(text)
    if m and (m.group("rule") in ROLE_RULES or m.group("rule") in RULES):
        rid = m.group("rule")
        return Finding(rid, text, display(path), int(m.group("line")), None, "warning", "", rule(rid).help)
    return Finding("warning", text, display(path), None, None, "warning")


def from_check(run: Any, display: Display = _same, command: str = "check") -> Outcome:
    """A `RunResult` (check, diff) as findings: one case per source."""
    cases = tuple(Case(display(s.path), f"chconform.{command}", tuple(_source_findings(s, display)), s.duration_s)
                  for s in run.sources)
    return Outcome(command, run.ok, cases, run.clickhouse_version)


def from_validate(report: Any, display: Display = _same) -> Outcome:
    """The static validator's report as findings: one case per source, plus the unconfigured files.

    A static source's notes (what only the engine decides) are the outcome's notes, each once and as its text;
    as "note" findings they were printed a second time, as a Python repr."""
    cases = [Case(display(s.path), "chconform.validate", tuple(_source_findings(replace(s, notes=()), display)))
             for s in report.sources]
    if report.unconfigured:
        cases.append(Case("inventory", "chconform.validate", tuple(
            Finding("unconfigured_source", f"{d.source} creates a table but is not configured", display(d.source),
                    None, None, "error", "", rule("unconfigured_source").help) for d in report.unconfigured)))
    notes = tuple(n.text() for n in report.notes)
    return Outcome("validate", report.ok, tuple(cases), "", notes)


def from_path(results: Iterable[Any], accept_data_loss: bool = False, display: Display = _same,
              version: str = "") -> Outcome:
    """Upgrade paths as findings: one case per path; a lost row is an error unless accepted."""
    cases = []
    for r in results:
        found = [_error_finding(e, display, e.source) for e in r.errors]
        found += [from_difference(d, display) for d in r.differences]
        found += [Finding("data_loss", f"{x.table}: {x.before} → {x.after} rows ({x.lost} lost)"
                          + (f"  [{x.statement}]" if x.statement else ""), display(x.step), x.line or None, None,
                          "warning" if accept_data_loss else "error", x.table, rule("data_loss").help)
                  for x in r.data_loss]
        cases.append(Case(r.name, "chconform.path", tuple(found), r.duration_s))
    return Outcome("path", all(r.ok(accept_data_loss) for r in results), tuple(cases), version)
