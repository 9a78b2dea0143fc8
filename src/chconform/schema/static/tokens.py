"""Canonical token forms: two spellings ClickHouse builds the same way get the same key.

Equality is decided on tokens (the lexer of chconform.sql.source), normalised only where ClickHouse
itself does not care: whitespace, comments, keyword case, identifier quoting, string escapes,
`INTERVAL 1 DAY` vs `toIntervalDay(1)`, redundant parentheses around key elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chconform.sql.source import Token

__all__ = ["EMPTY", "Canon", "canon", "key_elements", "string_value"]

# Words compared case-insensitively inside expressions and queries. Only words that
# ClickHouse never treats as a column name when unquoted belong here: lower-casing or
# upper-casing anything else could make two different identifiers compare equal.
_KEYWORDS = frozenset([
    "AND", "OR", "NOT", "AS", "IN", "IS", "NULL", "LIKE", "ILIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE",
    "END", "INTERVAL", "SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "HAVING", "LIMIT", "OFFSET", "JOIN",
    "LEFT", "RIGHT", "INNER", "OUTER", "FULL", "CROSS", "ON", "USING", "UNION", "ALL", "DISTINCT", "FINAL",
    "PREWHERE", "WITH", "ASC", "DESC", "ASCENDING", "DESCENDING", "NULLS", "GLOBAL", "ARRAY", "EXISTS",
    "OVER", "PARTITION", "TRUE", "FALSE"
])
_UNITS = [
    "NANOSECOND", "MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER",
    "YEAR"
]
_INTERVAL_UNITS = {u: "toInterval" + u.capitalize() for u in _UNITS}


@dataclass(frozen=True)
class Canon:
    """An expression: `key` decides equality, `text` is what users see."""

    key: tuple[str, ...]
    text: str = field(compare=False)

    def __str__(self) -> str:
        return self.text


EMPTY = Canon((), "")


def _code(tokens: Sequence[Token]) -> list[Token]:
    return [t for t in tokens if t.kind not in ("space", "comment")]


def string_value(text: str) -> str:
    """The value of a ClickHouse string literal: `'it''s'` and `'it\\'s'` are the same string."""
    body, out, i = text[1:-1], [], 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f", "a": "\a", "v": "\v"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "x" and i + 3 < len(body) + 1:
                try:
                    out.append(chr(int(body[i + 2 : i + 4], 16)))
                    i += 4
                    continue
                except ValueError:
                    pass
            out.append(escapes.get(nxt, nxt))
            i += 2
        elif ch == "'" and body[i + 1 : i + 2] == "'":
            out.append("'")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _token_key(tok: Token) -> str:
    if tok.kind == "word":
        up = tok.text.upper()
        return "K:" + up if up in _KEYWORDS else "W:" + tok.text
    if tok.kind == "ident":
        return "W:" + tok.value
    if tok.kind == "string":
        return "S:" + (string_value(tok.text) if tok.text.startswith("'") else tok.text)
    if tok.kind == "number":
        return "N:" + tok.text
    return "P:" + tok.text


def canon(tokens: Sequence[Token]) -> Canon:
    """Canonical form of a run of code tokens (comments and spaces already dropped)."""
    toks = _code(tokens)
    if not toks:
        return EMPTY
    keys = [_token_key(t) for t in toks]
    out: list[str] = []
    i = 0
    while i < len(keys):  # INTERVAL n UNIT is how ClickHouse spells toIntervalUnit(n)
        unit = toks[i + 2].text.upper() if i + 2 < len(toks) and toks[i + 2].kind == "word" else ""
        # the unit first: a run ending in `interval` (a column may be named so) has no token after it
        if unit in _INTERVAL_UNITS and keys[i] == "K:INTERVAL" and toks[i + 1].kind in ("number", "string"):
            out += ["W:" + _INTERVAL_UNITS[unit], "P:(", keys[i + 1], "P:)"]
            i += 3
        else:
            out.append(keys[i])
            i += 1
    text = []
    for j, t in enumerate(toks):
        if j and toks[j - 1].start + len(toks[j - 1].text) != t.start:
            text.append(" ")
        text.append(t.text)
    return Canon(tuple(out), "".join(text))


def _groups(tokens: Sequence[Token]) -> list[int]:
    """For each token, the index of its matching close bracket if it opens one, else -1."""
    match = [-1] * len(tokens)
    stack: list[int] = []
    for i, t in enumerate(tokens):
        if t.kind == "punct" and t.text in "([":
            stack.append(i)
        elif t.kind == "punct" and t.text in ")]" and stack:
            match[stack.pop()] = i
    return match


def _split_top(tokens: Sequence[Token], sep: str = ",") -> list[list[Token]]:
    """Split at `sep` outside brackets; an empty input gives no parts."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for t in tokens:
        if t.kind == "punct" and t.text in "([":
            depth += 1
        elif t.kind == "punct" and t.text in ")]":
            depth -= 1
        if depth == 0 and t.kind == "punct" and t.text == sep:
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p] if any(parts) else []


def _is(tok: Token | None, *words: str) -> bool:
    return tok is not None and tok.kind == "word" and tok.text.upper() in words


def _wrapped(tokens: Sequence[Token]) -> bool:
    """True if the whole run is one bracketed group `( ... )`."""
    return bool(tokens) and tokens[0].text == "(" and _groups(tokens)[0] == len(tokens) - 1


def key_elements(tokens: Sequence[Token]) -> tuple[Canon, ...] | None:
    """A key clause as ClickHouse builds it: `(a, b)`, `tuple(a, b)`, `((a), b)` are the elements a, b.

    Redundant parentheses around the key or an element change nothing (`ORDER BY (a)` is
    `a`); `tuple()` and `()` are the empty key; an absent clause is None.
    """
    toks = _code(tokens)
    if not toks:
        return None
    if _is(toks[0], "TUPLE") and len(toks) > 1 and _wrapped(toks[1:]):
        toks = toks[1:]
    while _wrapped(toks) and len(_split_top(toks[1:-1])) == 1 and _wrapped(toks[1:-1]):
        toks = toks[1:-1]  # ((a, b)) is (a, b)
    parts = _split_top(toks[1:-1]) if _wrapped(toks) else _split_top(toks)
    return tuple(canon(_unwrap(p)) for p in parts)


def _unwrap(tokens: list[Token]) -> list[Token]:
    while _wrapped(tokens) and len(_split_top(tokens[1:-1])) == 1 and not _is_tuple_literal(tokens):
        tokens = tokens[1:-1]
    return tokens


def _is_tuple_literal(tokens: list[Token]) -> bool:
    """`(a,)` is a one-element tuple, not a parenthesised `a`."""
    inner = tokens[1:-1]
    return bool(inner) and inner[-1].text == "," and len(_split_top(inner)) == 1


def _join(elements: Sequence[Canon] | None) -> str:
    return ", ".join(e.text for e in elements) if elements is not None else ""
