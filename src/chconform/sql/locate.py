"""Where in a statement a column is defined: a finding about a column points at the column's own line."""

from __future__ import annotations

from chconform.errors import SourceError
from chconform.sql.source import Statement, tokenize

__all__ = ["column_line"]


def column_line(stmt: Statement, column: str) -> int | None:
    """The line of `column`'s definition in a CREATE's column list (or an ALTER's ADD/MODIFY COLUMN), else None.

    A definition starts right after the list's `(` or a `,` at depth one, or after `COLUMN`."""
    try:
        tokens = [t for t in tokenize(stmt.text) if t.kind not in ("space", "comment")]
    except SourceError:
        return None
    depth, previous = 0, ""
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif token.kind in ("word", "ident") and token.value == column:
            at_start = (depth == 1 and previous in ("(", ",")) or previous == "COLUMN"
            if at_start:
                return stmt.line + stmt.text.count("\n", 0, token.start)
        if not (previous == "COLUMN" and token.upper in ("IF", "NOT", "EXISTS")):  # ADD COLUMN IF NOT EXISTS x
            previous = token.upper or token.text
    return None
