"""Statement-level rules shared by the live check and the static validator (no engine), and the rule policy.

Every rule has an id and a default severity; config `[rules]` sets a rule's severity (error / warning /
off), and an inline comment `-- chconform: ignore[rule] reason` on a statement's line (or the line right
above it) ignores that rule there. An ignored finding is reported as ignored, with its reason: never
dropped silently.

The DROP rules tell apart what loses rows from what is only style:
  * `drop_not_recreated`: a table or database dropped (or truncated) and never created again in the file;
    its rows are gone (an error);
  * `drop_view_not_recreated`: a view dropped and not created again: no rows lost, an obsolete view
    removed (a warning);
  * `drop_before_create`: dropped, and re-created further down the file rather than right after (a block
    of drops at the top, the re-creates below): an ordering style (a warning);
  * `drop_in_dump`: a dump builds from nothing and drops nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chconform.model import Difference
from chconform.sql.source import Source, Statement, tokenize

__all__ = ["RULES", "SEVERITIES", "DROP_KINDS", "Policy", "role_findings", "apply_rules", "inline_ignores",
           "rule_id"]

SEVERITIES = ("error", "warning", "off")
DROP_KINDS = frozenset({"drop_table", "drop_database", "truncate"})
# Rule id → (default severity, what it means). Differences from the canon are rules too (their aspect is
# the id; see reports/findings.py); these are the ones this module raises.
RULES: dict[str, tuple[str, str]] = {
    "drop_in_dump": ("error", "a dump builds from nothing: no DROP or TRUNCATE"),
    "drop_not_recreated": ("error", "dropped and never created again in this file: its rows are lost"),
    "drop_view_not_recreated": ("warning", "a view or dictionary dropped and not created again (no rows lost)"),
    "drop_before_create": ("warning", "dropped here, re-created further down rather than right after"),
    "ignore_without_reason": ("warning", "an inline ignore must say why"),
}
_IGNORE = re.compile(r"--\s*chconform:\s*ignore\[([^\]]*)\]\s*(.*)$")
_RENAME_PAIR = re.compile(r"([\w.`\"]+)\s+TO\s+([\w.`\"]+)", re.IGNORECASE)


def rule_id(d: Difference) -> str:
    """The rule a difference answers to: the check for idempotency and duplicates, else its aspect."""
    return {"idempotency": "idempotency", "duplicate": "duplicate"}.get(d.check, d.aspect)


def _dropped(stmt: Statement) -> tuple[str, str]:
    """(what, name): what kind of object the statement drops, as written, and its name.

    The whole text is read: a cut at a fixed length could end inside a comment or a string, which the lexer
    refuses (and a long comment before VIEW would hide the kind)."""
    words = [t.text.upper() for t in tokenize(stmt.text) if t.kind == "word"][:4]
    if stmt.kind == "truncate":
        return "TRUNCATE", stmt.target or "?"
    what = next((w for w in words[1:] if w in ("TABLE", "VIEW", "DICTIONARY", "DATABASE")), "TABLE")
    name = stmt.target or "?"
    if stmt.kind == "drop_database" and "." in name:
        name = name.split(".", 1)[1]  # a database has no database: `DROP DATABASE x` names x
    return f"DROP {what}", name


def _name_of(stmt: Statement) -> str:
    name = stmt.target or ""
    return name.split(".", 1)[1] if stmt.kind == "create_database" and "." in name else name


def _renamed_to(stmt: Statement) -> set[str]:
    """Names a RENAME gives (`RENAME TABLE a TO b, c TO d`): a rebuild re-creates a table this way."""
    if stmt.kind != "rename":
        return set()
    out = set()
    for _, new in _RENAME_PAIR.findall(stmt.text):
        new = new.replace("`", "").replace('"', "")
        out.add(new if "." in new else f"default.{new}")
    return out


def role_findings(source: Source, role: str) -> list[Difference]:
    """What the file's role forbids, one finding per DROP; the rule id is the finding's aspect."""
    out: list[Difference] = []
    stmts = source.statements
    for i, stmt in enumerate(stmts):
        if stmt.kind not in DROP_KINDS:
            continue
        what, name = _dropped(stmt)
        found = _drop_rule(stmts, i, role, what, name)
        if found is None:
            continue
        aspect, expected = found
        out.append(Difference(name, aspect, expected, f"{what} {name}", source=source.path, line=stmt.line,
                              check="role"))
    return out


def _drop_rule(stmts: tuple[Statement, ...], i: int, role: str, what: str, name: str) -> tuple[str, str] | None:
    stmt = stmts[i]
    if role == "dump":
        return "drop_in_dump", "no DROP or TRUNCATE in a dump"
    if stmt.kind == "truncate":
        return "drop_not_recreated", "no TRUNCATE (the rows are lost)"
    later = stmts[i + 1:]
    database = stmt.kind == "drop_database"
    creates = [k for k, s in enumerate(later)
               if (s.kind == "create_database") == database and s.kind.startswith("create_") and _name_of(s) == name
               or (not database and name in _renamed_to(s))]
    if not creates:
        if what == "DROP VIEW" or (what == "DROP TABLE" and _was_view(stmts[:i], name)):
            return "drop_view_not_recreated", "not created again in this file (a view holds no rows)"
        if what == "DROP DICTIONARY":
            return "drop_view_not_recreated", "not created again in this file (a dictionary holds no rows of its own)"
        return "drop_not_recreated", "never created again in this file (its rows are lost)"
    first = creates[0]
    if first > 0:  # other statements run while the object is gone (a block of drops, the re-creates below)
        return "drop_before_create", f"re-created at line {later[first].line}, not right after the DROP"
    return None


def _was_view(before: tuple[Statement, ...], name: str) -> bool:
    """`DROP TABLE v` of what this file last created as a plain view (no rows of its own)."""
    created = [s for s in before if s.kind.startswith("create_") and s.target == name]
    return bool(created) and created[-1].kind == "create_view"


@dataclass(frozen=True)
class Ignore:
    """An inline `-- chconform: ignore[rule, …] reason`."""

    line: int
    rules: tuple[str, ...]
    reason: str


def inline_ignores(text: str) -> list[Ignore]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if "chconform:" in line and (m := _IGNORE.search(line)):
            rules = tuple(r.strip() for r in m.group(1).split(",") if r.strip())
            out.append(Ignore(number, rules, m.group(2).strip()))
    return out


@dataclass(frozen=True)
class Policy:
    """The outcome of applying severities and inline ignores to a source's findings."""

    errors: tuple[Difference, ...]
    warnings: tuple[str, ...]
    ignored: tuple[str, ...]


def _ignorable_lines(source: Source, line: int) -> range:
    """The lines an ignore for a finding at `line` may stand on: its statement's lines and the line above."""
    for stmt in source.statements:
        last = stmt.line + stmt.text.count("\n")
        if stmt.line <= line <= last:
            return range(stmt.line - 1, last + 1)
    return range(line - 1, line + 1)


def apply_rules(found: Iterable[Difference], source: Source | None,
                severities: Mapping[str, str] | None = None) -> Policy:
    """Split findings into errors, warnings and ignored ones (each warning and ignore as one report line)."""
    severities = severities or {}
    ignores = inline_ignores(source.text) if source is not None else []
    errors: list[Difference] = []
    warnings: list[str] = []
    ignored: list[str] = []
    used: set[int] = set()
    for d in found:
        rid = rule_id(d)
        where = d.where() or (source.path if source else "")
        # no source, or a finding at no line (a missing table): no inline ignore can stand for it
        lines = _ignorable_lines(source, d.line) if source is not None and d.line is not None else ()
        hit = next((g for g in ignores if g.line in lines and g.reason and (rid in g.rules or "all" in g.rules)), None)
        obj = d.object + (f".{d.column}" if d.column else "")
        text = (f"{where}: {rid}: {d.actual}: {d.canonical}" if d.check == "role"
                else f"{where}: {rid}: {obj}: canonical {d.canonical or '∅'}, here {d.actual or '∅'}")
        if hit is not None:
            used.add(hit.line)
            ignored.append(f"{text} (ignored: {hit.reason})")
            continue
        severity = severities.get(rid, RULES.get(rid, ("error", ""))[0])
        if severity == "off":
            ignored.append(f"{text} (off in [rules])")
        elif severity == "warning":
            warnings.append(text)
        else:
            errors.append(d)
    path = source.path if source is not None else ""
    for g in ignores:
        if not g.reason:
            warnings.append(f"{path}:{g.line}: ignore_without_reason: ignore[{', '.join(g.rules)}] says no reason; "
                            "write why after it (the finding still counts)")
        elif g.line not in used:
            warnings.append(f"{path}:{g.line}: ignore[{', '.join(g.rules)}] matches no finding here; remove it")
    return Policy(tuple(errors), tuple(warnings), tuple(ignored))

