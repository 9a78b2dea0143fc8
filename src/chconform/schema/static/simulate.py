"""Simulation: what applying a source twice leaves behind, without an engine.

Each source is simulated statement by statement, twice, the way the live check runs it
(CREATE ... IF NOT EXISTS, OR REPLACE, DROP), so that "the definition a file leaves behind", a
second application that fails, and a view created before its table are found without an engine.
An ALTER or RENAME leaves the end state to the engine: reported as undecidable, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from chconform.model import Difference
from chconform.schema.static.definition import CHECK, CREATE_KINDS, Definition, parse_definition
from chconform.schema.static.tokens import _code
from chconform.schema.static.views import _qualify, view_problems
from chconform.sql.source import Source, Statement, split_statements, tokenize

__all__ = ["Note", "Simulation", "simulate"]


@dataclass(frozen=True)
class Note:
    """Something the static layer cannot decide; the live check can."""

    object: str
    source: str
    line: int
    why: str

    def text(self) -> str:
        return f"{self.source}:{self.line}  {self.object}  undecidable statically: {self.why}"


@dataclass
class _State:
    databases: set[str]
    objects: dict[str, Definition]
    database: str = "default"


@dataclass(frozen=True)
class Simulation:
    """The objects a source leaves after round 1, and what went wrong on the way."""

    objects: dict[str, Definition]
    findings: tuple[Difference, ...]
    notes: tuple[Note, ...]
    definitions: tuple[Definition, ...]  # every CREATE in the file, in order


def simulate(source: Source, prelude: Sequence[str] = ()) -> Simulation:
    """Apply the statements twice to an empty catalog, as the live check does, without an engine."""
    prelude_stmts = [s for text in prelude for s in split_statements(text)]
    # The prelude's objects exist for the source (a view may read a prelude table, as on the engine) but are
    # not the source's: they are left out of what it leaves behind.
    definitions = {id(s): parse_definition(s, "prelude") for s in prelude_stmts if s.kind in CREATE_KINDS}
    definitions |= {id(s): parse_definition(s, source.path) for s in source.statements if s.kind in CREATE_KINDS}
    state = _State({"default", "system"}, {})
    findings: list[Difference] = []
    notes: dict[tuple[str, int, str], Note] = {}
    after_round_1: dict[str, Definition] = {}
    for round_no in (1, 2):
        state.database = "default"
        for stmt in prelude_stmts:
            _apply(stmt, definitions.get(id(stmt)), state, round_no, "prelude", findings, notes)
        for stmt in source.statements:
            _apply(stmt, definitions.get(id(stmt)), state, round_no, source.path, findings, notes)
        if round_no == 1:
            after_round_1 = _own(state.objects)
    findings.extend(_round2(after_round_1, _own(state.objects), source))
    ordered = tuple(definitions[id(s)] for s in source.statements if id(s) in definitions)
    return Simulation(after_round_1, tuple(findings), tuple(notes.values()), ordered)


def _own(objects: dict[str, Definition]) -> dict[str, Definition]:
    """The objects a source made, without the prelude's."""
    return {name: d for name, d in objects.items() if d.source != "prelude"}


def _error(findings: list[Difference], round_no: int, stmt: Statement, source: str, aspect: str,
           expected: str, actual: str, column: str | None = None) -> None:
    if round_no == 2 and any(f.line == stmt.line and f.aspect == aspect for f in findings):
        return  # the same failure in both rounds is one finding
    where = "" if round_no == 1 else "round 2: "
    findings.append(Difference(stmt.target or "?", aspect, expected, where + actual, column, source, stmt.line, CHECK))


def _apply(stmt: Statement, definition: Definition | None, state: _State, round_no: int, source: str,
           findings: list[Difference], notes: dict[tuple[str, int, str], Note]) -> None:
    kind, target = stmt.kind, stmt.target
    if kind == "use" and target:
        state.database = target
    elif kind == "create_database" and target:
        name = target.split(".", 1)[-1] if "." in target else target
        if name in state.databases and not stmt.if_not_exists:
            _error(findings, round_no, stmt, source, "database_exists", "CREATE DATABASE IF NOT EXISTS",
                   f"database {name} already exists (DATABASE_ALREADY_EXISTS)")
        state.databases.add(name)
    elif kind in CREATE_KINDS and target and definition is not None:
        _create(stmt, definition, state, round_no, source, findings, notes)
    elif kind == "drop_table" and target:
        state.objects.pop(target, None)
    elif kind == "drop_other" and (function := _dropped_function(stmt)):
        state.objects.pop(function, None)
    elif kind == "drop_database" and target:
        name = target.split(".", 1)[-1]
        state.databases.discard(name)
        state.objects = {k: v for k, v in state.objects.items() if not k.startswith(name + ".")}
    elif kind in ("alter", "rename", "attach", "detach"):
        named = {target} if target else _names_in(stmt, state.database)
        for name in sorted(named & set(state.objects)):
            why = f"{stmt.first_line[:60]!r} at line {stmt.line} changes it; only the engine applies that"
            state.objects[name] = replace(state.objects[name], altered=why)
            notes.setdefault((name, stmt.line, why), Note(name, source, stmt.line, why))


def _dropped_function(stmt: Statement) -> str | None:
    """The function a `DROP FUNCTION [IF EXISTS] name` drops (functions are named without a database)."""
    toks = _code(tokenize(stmt.text))
    words = [t.text.upper() for t in toks[:4]]
    if words[:2] != ["DROP", "FUNCTION"]:
        return None
    at = 4 if words[2:4] == ["IF", "EXISTS"] else 2
    return toks[at].value if at < len(toks) else None


def _names_in(stmt: Statement, database: str) -> set[str]:
    """Every `db.name` or `name` a statement mentions (RENAME a TO b, EXCHANGE TABLES a AND b)."""
    toks = [t for t in _code(tokenize(stmt.text)) if t.kind in ("word", "ident") or t.text == "."]
    names = set()
    for i, t in enumerate(toks):
        if t.text == ".":
            continue
        if i + 2 < len(toks) and toks[i + 1].text == ".":
            names.add(f"{t.value}.{toks[i + 2].value}")
        elif not (i and toks[i - 1].text == "."):
            names.add(f"{database}.{t.value}")
    return names


def _create(stmt: Statement, d: Definition, state: _State, round_no: int, source: str,
            findings: list[Difference], notes: dict[tuple[str, int, str], Note]) -> None:
    target = d.object if d.kind == "function" else stmt.target or d.object
    database = target.split(".", 1)[0]
    if d.kind != "function" and database not in state.databases:
        _error(findings, round_no, stmt, source, "unknown_database", f"database {database} created first",
               f"database {database} does not exist (UNKNOWN_DATABASE)")
        return
    if target in state.objects:
        if stmt.or_replace:
            pass
        elif stmt.if_not_exists:
            return
        else:
            _error(findings, round_no, stmt, source, "not_idempotent", "CREATE ... IF NOT EXISTS (or a DROP first)",
                   f"{target} already exists (TABLE_ALREADY_EXISTS)")
            return
    if d.nondeterministic:
        _error(findings, round_no, stmt, source, "nondeterministic_partition_key", "a deterministic PARTITION BY",
               f"PARTITION BY calls {', '.join(d.nondeterministic)}() (BAD_ARGUMENTS)")
        return
    if d.undecidable and d.kind == "table":
        notes.setdefault((target, stmt.line, d.undecidable), Note(target, source, stmt.line, d.undecidable))
    if d.kind in ("view", "materialized_view") and not _view_ok(stmt, d, state, round_no, source, findings, notes):
        return
    state.objects[target] = d


def _round2(first: dict[str, Definition], second: dict[str, Definition], source: Source) -> list[Difference]:
    """Objects round 2 adds or loses: the source does not converge (e.g. a view before its table)."""
    out = []
    for name in sorted(set(first) | set(second)):
        if name not in first:
            d = second[name]
            out.append(Difference(name, "round2_extra_table", "absent", d.kind, None, source.path, d.line, CHECK))
        elif name not in second:
            d = first[name]
            out.append(Difference(name, "round2_missing_table", d.kind, "absent", None, source.path, d.line, CHECK))
    return out


def _view_ok(stmt: Statement, d: Definition, state: _State, round_no: int, source: str,
             findings: list[Difference], notes: dict[tuple[str, int, str], Note]) -> bool:
    """False if ClickHouse would refuse the view (unknown table or column)."""
    from sqlglot.errors import SqlglotError

    if d.target and _qualify(d.target, state.database) not in state.objects:
        _error(findings, round_no, stmt, source, "unknown_table", f"{d.target} created before the view",
               f"TO table {d.target} does not exist (UNKNOWN_TABLE)")
        return False
    text = stmt.text[d.query_tokens[0].start :] if d.query_tokens else ""
    try:
        problems, undecided = view_problems(text, state.objects, state.database)
    except (SqlglotError, RecursionError) as exc:
        detail = str(exc).splitlines()[0][:80] if isinstance(exc, SqlglotError) else "nested too deeply"
        why = f"sqlglot cannot parse the view's query ({detail})"
        notes.setdefault((d.object, stmt.line, why), Note(d.object, source, stmt.line, why))
        return True
    for why in undecided:
        notes.setdefault((d.object, stmt.line, why), Note(d.object, source, stmt.line, why))
    for aspect, table, column in problems:
        if aspect == "unknown_table":
            _error(findings, round_no, stmt, source, "unknown_table", f"{table} created before the view",
                   f"reads {table}, which does not exist at this point (UNKNOWN_TABLE)")
        else:
            _error(findings, round_no, stmt, source, "unknown_column", f"a column of {table}",
                   f"reads {column}, which {table} does not have (UNKNOWN_IDENTIFIER)", column)
    return not problems
