"""Blame: the statement of an upgrade path that made a difference from the canon.

A difference is blamed on the step after which it held until the end (snapshots after every step), and
within that step on the statement that made it, walking back from the step's end and following the
object's name through RENAME, EXCHANGE and `CREATE … AS`; a table moved into place from one an earlier
step made is followed into that step. Statements that failed, and `CREATE … IF NOT EXISTS` of an object
already there, changed nothing and are never blamed. Pure: no engine here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from chconform.checks.run import StatementError
from chconform.errors import SourceError
from chconform.model import Difference, Snapshot
from chconform.schema.compare import compare_tables
from chconform.sql.source import Source, Statement, Token, tokenize

__all__ = ["blame", "code_tokens", "failed_statements", "moves"]


def _names(tokens: list[Token], i: int, database: str) -> tuple[str | None, int]:
    """The object name at tokens[i] (`db.name` or `name`) and the index after it."""
    if i >= len(tokens) or tokens[i].kind not in ("word", "ident"):
        return None, i + 1
    if i + 2 < len(tokens) and tokens[i + 1].text == "." and tokens[i + 2].kind in ("word", "ident"):
        return f"{tokens[i].value}.{tokens[i + 2].value}", i + 3
    return f"{database}.{tokens[i].value}", i + 1


def code_tokens(stmt: Statement) -> list[Token]:
    """The statement's tokens without spaces and comments (none if it does not lex)."""
    try:
        return [t for t in tokenize(stmt.text) if t.kind not in ("space", "comment")]
    except SourceError:
        return []


def moves(stmt: Statement, database: str) -> list[tuple[str, str]]:
    """(from, to) of each object a RENAME or EXCHANGE moves: `EXCHANGE TABLES a AND b` moves both ways."""
    tokens = code_tokens(stmt)
    words = [t.upper for t in tokens]
    if len(words) < 2 or words[0] not in ("RENAME", "EXCHANGE") or words[1] not in (
            "TABLE", "TABLES", "DICTIONARY", "DICTIONARIES"):
        return []
    out: list[tuple[str, str]] = []
    i = 2
    while i < len(tokens):
        a, i = _names(tokens, i, database)
        if i >= len(tokens) or words[i] not in ("TO", "AND"):
            break
        link = words[i]
        b, i = _names(tokens, i + 1, database)
        if a is None or b is None:
            break
        out.extend([(a, b), (b, a)] if link == "AND" else [(a, b)])
        if i < len(tokens) and tokens[i].text == ",":
            i += 1
        else:
            break
    return out


def _copied_from(stmt: Statement, database: str) -> str | None:
    """`y` of `CREATE TABLE x AS y …` (a copy of y's structure); None for `AS SELECT` and column lists."""
    if stmt.kind != "create_table" or stmt.target_span is None:
        return None
    rest = code_tokens(replace(stmt, text=stmt.text[stmt.target_span[1]:]))
    if [t.upper for t in rest[:2]] == ["ON", "CLUSTER"]:
        rest = rest[3:]
    if len(rest) < 2 or rest[0].upper != "AS" or rest[1].upper in ("SELECT", "WITH"):
        return None
    if rest[1].kind == "word" and [t.text for t in rest[2:3]] == ["("]:
        return None  # AS table_function(...)
    name, _ = _names(rest, 1, database)
    return name


def _selected_from(stmt: Statement, database: str) -> str | None:
    """`y` of `CREATE TABLE x … AS SELECT … FROM y` (or a view's `AS SELECT`): where its columns came from."""
    if not stmt.kind.startswith("create_"):
        return None
    code = code_tokens(stmt)
    words = [t.upper for t in code]
    start = next((i + 2 for i in range(len(words)) if words[i:i + 2] == ["AS", "SELECT"]), None)
    if start is None:
        return None
    depth = 0
    for i, token in enumerate(code[start:], start):
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        if depth == 0 and words[i] == "FROM":
            after = code[i + 1:i + 3]
            if not after or (after[0].kind == "word" and [t.text for t in after[1:]] == ["("]):
                return None  # nothing after FROM, or a table function
            return _names(code, i + 1, database)[0]
    return None


def _has_engine(stmt: Statement) -> bool:
    return any(t.upper == "ENGINE" for t in code_tokens(stmt))


def _databases(source: Source) -> list[str]:
    """The current database before each statement (USE changes it)."""
    out, database = [], "default"
    for stmt in source.statements:
        out.append(database)
        if stmt.kind == "use" and stmt.target:
            database = stmt.target
    return out


# ALTER commands that change a table-level aspect (an ALTER of a column changes that column's aspects).
_ALTER_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "sorting_key": (("ORDER", "BY"),),
    "primary_key": (("ORDER", "BY"), ("PRIMARY", "KEY")),
    "sampling_key": (("SAMPLE", "BY"),),
    "ttl": (("TTL",),),
    "settings": (("SETTING",),),
    "table_comment": (("MODIFY", "COMMENT"),),
    "view_query": (("MODIFY", "QUERY"),),
    "indices": (("INDEX",),),
    "column_order": (("COLUMN",),),
}


def _alters(stmt: Statement, d: Difference) -> bool:
    """Whether an ALTER changes the aspect of `d`: it names the column, or holds the command of the aspect."""
    code = code_tokens(stmt)
    if d.column is not None:
        return any(t.kind in ("word", "ident") and t.value == d.column for t in code)
    words = [t.upper for t in code]
    return any(words[i:i + len(seq)] == list(seq) for seq in _ALTER_WORDS.get(d.aspect, ()) for i in range(len(words)))


def _no_ops(source: Source, existing: set[str], failed: Callable[[str, Statement], bool]) -> set[int]:
    """Indices of `CREATE … IF NOT EXISTS` statements that found their object there and changed nothing."""
    names, out = set(existing), set()
    for i, (stmt, database) in enumerate(zip(source.statements, _databases(source))):
        if failed(source.path, stmt) or stmt.target is None and stmt.kind != "rename":
            continue
        if stmt.kind.startswith("create_") and stmt.kind != "create_database":
            if stmt.if_not_exists and stmt.target in names:
                out.add(i)
            names.add(str(stmt.target))
        elif stmt.kind in ("drop_table", "detach"):
            names.discard(str(stmt.target))
        elif stmt.kind == "drop_database":
            names = {n for n in names if n.split(".")[0] != str(stmt.target).split(".")[-1]}
        else:
            moved = [(a, b) for a, b in moves(stmt, database) if (b, a) not in moves(stmt, database)]
            names = (names - {a for a, _ in moved}) | {b for a, b in moved if a in names}
    return out


def _culprit(d: Difference, obj: str, source: Source, failed: Callable[[str, Statement], bool],
             existing: set[str]) -> tuple[Statement | None, str | None]:
    """Within one step, the statement that made `d` on `obj`: walk back from the end, following its name.

    Statements that failed, and `CREATE … IF NOT EXISTS` of an object already there, changed nothing.
    Returns the statement, and the name the definition had when the step began if the step only moved or
    copied it there (RENAME, EXCHANGE, `CREATE … AS`), else None.
    """
    name, origin = obj, None
    skip = _no_ops(source, existing, failed)
    for i, stmt, database in reversed(list(zip(range(len(source.statements)), source.statements,
                                               _databases(source)))):
        if i in skip or failed(source.path, stmt):
            continue
        pairs = moves(stmt, database)
        if d.aspect == "missing_table":  # the statement that took the name away
            gone = any(a == name for a, b in pairs if (b, a) not in pairs) or (
                stmt.target == name and stmt.kind in ("drop_table", "detach")) or (
                stmt.kind == "drop_database" and (stmt.target or "").split(".")[-1] == name.split(".")[0])
            if gone:
                return stmt, None
            continue
        moved = [a for a, b in pairs if b == name]
        if moved:  # the definition here came from `a`: follow it; the move itself if nothing earlier made it
            origin, name = stmt, moved[0]
            continue
        if stmt.target != name:
            continue
        if stmt.kind == "alter":
            if _alters(stmt, d):
                return stmt, None
        elif stmt.kind.startswith("create_"):
            copied = _copied_from(stmt, database)
            if copied is None and d.column is not None:  # `AS SELECT … FROM y`: a column came from y's
                copied = _selected_from(stmt, database)
            if copied is None or (d.column is None and _has_engine(stmt)):  # its own ENGINE clause: table aspects
                return stmt, None
            origin, name = stmt, copied  # columns (and a copied engine) came from `copied`
    return origin, (name if origin is not None and name != obj else None)


def _holds(d: Difference, canon: Snapshot, snap: Snapshot, obj: str | None = None) -> bool:
    """True if `snap` already shows difference `d` exactly (same aspect, column and value) on `obj` (d's object)."""
    got = snap.table(obj or d.object)
    if d.aspect == "missing_table":
        return got is None
    want = canon.table(d.object)
    if got is None or want is None:
        return False
    return any((x.aspect, x.column, x.actual) == (d.aspect, d.column, d.actual) for x in compare_tables(want, got))


def blame(d: Difference, canon: Snapshot, stages: Sequence[tuple[Source | None, Snapshot]],
          failed: Callable[[str, Statement], bool], fallback: str) -> Difference:
    """Pure: the step after which `d` held until the end, and the statement in it that made `d`.

    `stages` are the snapshot after the start (its source, or None for an empty server) and after each step.
    """
    obj, end = d.object, len(stages)
    while True:
        k = end - 1
        while k > 0 and _holds(d, canon, stages[k - 1][1], obj):
            k -= 1
        source = stages[k][0] if stages else None
        if source is None:
            return replace(d, source=fallback, line=None, check="path")
        stmt, came_from = _culprit(d, obj, source, failed, set(stages[k - 1][1].names) if k > 0 else set())
        if came_from is None or k == 0 or not _holds(d, canon, stages[k - 1][1], came_from):
            return replace(d, source=source.path, line=stmt.line if stmt else None, check="path")
        obj, end = came_from, k  # moved here from a table an earlier step made: blame what made that one


def failed_statements(errors: Sequence[StatementError]) -> Callable[[str, Statement], bool]:
    """Whether a statement of a file was refused: a statement that failed changed nothing, so blame skips it."""
    lines = {(e.source, e.line) for e in errors}

    def failed(path: str, stmt: Statement) -> bool:
        return any((path, line) in lines for line in range(stmt.line, stmt.line + stmt.text.count("\n") + 1))

    return failed
