"""Statement-level rules shared by the live check and the static validator (no engine)."""

from __future__ import annotations

from chconform.model import Difference
from chconform.sql.source import Source

__all__ = ["role_findings", "DROP_KINDS"]

DROP_KINDS = frozenset({"drop_table", "drop_database", "truncate"})


def role_findings(source: Source, role: str) -> list[Difference]:
    """A dump has no DROP; init and migration drop a table only right before re-creating it."""
    out: list[Difference] = []
    stmts = source.statements
    for i, stmt in enumerate(stmts):
        if stmt.kind not in DROP_KINDS:
            continue
        obj = stmt.target or "?"
        if role == "dump":
            out.append(Difference(obj, "drop_in_dump", "no DROP/TRUNCATE in a dump", stmt.first_line,
                                  source=source.path, line=stmt.line, check="role"))
            continue
        nxt = stmts[i + 1] if i + 1 < len(stmts) else None
        if stmt.kind == "drop_table" and nxt is not None and nxt.kind.startswith("create_") and nxt.target == stmt.target:
            continue
        aspect = "drop_not_recreated" if stmt.kind == "drop_table" else f"{stmt.kind}_in_{role}"
        out.append(Difference(obj, aspect, "DROP TABLE only right before re-creating the table", stmt.first_line,
                              source=source.path, line=stmt.line, check="role"))
    return out
