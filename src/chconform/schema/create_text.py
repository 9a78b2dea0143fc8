"""ClickHouse's own CREATE printout (`system.tables.create_table_query`) → what no system table lists.

No system table holds a column's TTL or statistics, a table's constraints, a materialized view's TO
table or a dictionary's source, layout and lifetime on every release (24.8 has no system.projections
nor system.columns.statistics); the one-line CREATE text the engine prints has them all, in the
engine's own canonical spelling. What that text holds beyond the modelled aspects is its *rest*, the
catch-all compared when nothing modelled differs, so an aspect nobody modelled still shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from chconform.model import Constraint, Projection

__all__ = [
    "ColumnText",
    "CreateText",
    "normalize_create",
    "outside_quotes",
    "parse_create",
    "split_clauses",
    "split_top_level",
]

_HEAD = re.compile(r"(?:CREATE|ATTACH) (?:OR REPLACE )?(?:TEMPORARY )?"
                   r"(MATERIALIZED VIEW|LIVE VIEW|WINDOW VIEW|VIEW|DICTIONARY|TABLE|FUNCTION) (?:IF NOT EXISTS )?")
_UUID = re.compile(r" (?:INNER )?UUID '[0-9a-fA-F-]{36}'")
# Column clauses in the order the engine prints them; dictionary attributes' words after them.
_COLUMN_WORDS = ("DEFAULT", "MATERIALIZED", "ALIAS", "EPHEMERAL", "EXPRESSION", "COMMENT", "CODEC", "STATISTICS",
                 "TTL", "COLLATE", "SETTINGS", "PRIMARY KEY", "HIERARCHICAL", "BIDIRECTIONAL", "INJECTIVE",
                 "IS_OBJECT_ID")
# Column clauses other fields model (system.columns, or the fields of ColumnText); the rest is `rest`.
_COLUMN_MODELLED = frozenset({"DEFAULT", "MATERIALIZED", "ALIAS", "EPHEMERAL", "EXPRESSION", "COMMENT", "CODEC",
                              "STATISTICS", "TTL", "HIERARCHICAL", "BIDIRECTIONAL", "INJECTIVE", "IS_OBJECT_ID"})
_DICT_FLAGS = ("HIERARCHICAL", "BIDIRECTIONAL", "INJECTIVE", "IS_OBJECT_ID")
# Clauses after the element list. ENGINE holds every engine clause (all modelled from engine_full);
# SETTINGS, COMMENT and a dictionary's clauses are modelled too; DEFINER, SQL SECURITY, ... are not.
_TAIL_WORDS = ("ENGINE", "PRIMARY KEY", "SOURCE", "LIFETIME", "LAYOUT", "RANGE", "SETTINGS", "COMMENT", "DEFINER",
               "SQL SECURITY", "EMPTY", "POPULATE")
_TAIL_MODELLED = frozenset({"ENGINE", "PRIMARY KEY", "SOURCE", "LIFETIME", "LAYOUT", "RANGE", "SETTINGS", "COMMENT"})


@dataclass(frozen=True)
class ColumnText:
    """What the CREATE text says of one column that system.columns does not."""

    ttl: str = ""
    statistics: str = ""
    default_kind: str = ""  # a dictionary attribute's DEFAULT / EXPRESSION (system.columns has none)
    default_expression: str = ""
    options: str = ""  # a dictionary attribute's HIERARCHICAL, INJECTIVE, ...


@dataclass(frozen=True)
class CreateText:
    """One CREATE printout taken apart; `rest` is what no other field (nor a system table) models."""

    kind: str = ""
    target: str = ""  # a materialized view's TO table
    columns: dict[str, ColumnText] = field(default_factory=dict)
    constraints: tuple[Constraint, ...] = ()
    projections: tuple[Projection, ...] = ()
    clauses: dict[str, str] = field(default_factory=dict)  # a dictionary's PRIMARY KEY, SOURCE, LAYOUT, ...
    rest: str = ""


# What the readers look at: a quoted string or name (skipped whole; an unterminated one runs to the end),
# a bracket, a comma, a space or a dot.
_SCAN = re.compile(r"""'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*"|['`"][\s\S]*|[()\[\], .]""")


def outside_quotes(text: str) -> Iterator[tuple[int, str, int]]:
    """(offset, character, bracket depth after it) for each bracket, comma, space and dot outside quotes.

    The texts are ClickHouse's own printouts, not user SQL: quotes are ', ` and ", escaped by a backslash.
    A regular expression skips everything else, so a reader's loop runs over a fraction of the text.
    """
    depth = 0
    for m in _SCAN.finditer(text):
        ch = m.group()
        if len(ch) > 1 or ch in "'`\"":
            continue
        depth += (ch in "([") - (ch in ")]")
        yield m.start(), ch, depth


def split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets and quotes."""
    parts, start = [], 0
    for i, ch, depth in outside_quotes(text):
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def split_clauses(text: str, words: tuple[str, ...], first: str = "") -> list[tuple[str, str]]:
    """(keyword, value) pairs at top-level `words` (after a space, before a space, `(` or the end).

    What precedes the first keyword is returned under `first`, if not empty.
    """
    out: list[tuple[str, str]] = []
    key, start, resume = first, 0, 0
    for i, ch, depth in outside_quotes(text):
        if i < resume or depth != 0 or ch != " ":
            continue
        found = _keywords(words).match(text, i + 1)
        if found:
            word = found.group()
            out.append((key, text[start:i].strip()))
            key, start = word, i + 1 + len(word)
            resume = start
    out.append((key, text[start:].strip()))
    return [(k, v) for k, v in out if k or v]


@lru_cache(maxsize=64)
def _keywords(words: tuple[str, ...]) -> re.Pattern[str]:
    """One of `words`, the longest first, followed by a space, `(` or the end."""
    ordered = sorted(words, key=len, reverse=True)
    return re.compile("(?:" + "|".join(map(re.escape, ordered)) + r")(?=[ (]|$)")


def _at_query(text: str) -> int:
    """Offset of the top-level ` AS ` that starts a view's query (the end if none)."""
    return next((i for i, _, depth in outside_quotes(text) if depth == 0 and text.startswith(" AS ", i)), len(text))


def _read_name(text: str, i: int) -> int:
    """End offset of a (possibly qualified, possibly quoted) object name starting at `i`."""
    while i < len(text):
        if text[i] in "`\"":
            quote, i = text[i], i + 1
            while i < len(text) and text[i] != quote:
                i += 2 if text[i] == "\\" else 1
            i += 1
        else:
            while i < len(text) and (text[i].isalnum() or text[i] in "_$"):
                i += 1
        if i < len(text) and text[i] == ".":
            i += 1
            continue
        return i
    return i


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "`\"":
        return re.sub(r"\\(.)", r"\1", name[1:-1])
    return name


def _elements(text: str, start: int) -> tuple[str, int, int] | None:
    """(inside, open offset, close offset) of the element list: the first top-level `(` after a space,
    before any top-level ` AS ` (a view without a column list has none)."""
    open_at = None
    for i, ch, depth in outside_quotes(text):
        if i < start:
            continue
        if open_at is None:
            if ch == "(" and depth == 1 and text[i - 1] == " ":
                open_at = i
            elif depth == 0 and text.startswith(" AS ", i):
                return None
        elif depth == 0:
            return text[open_at + 1 : i], open_at, i
    return None


def _column(element: str) -> tuple[str, ColumnText, str]:
    """(name, what the text says of it, its unmodelled clauses)."""
    end = _read_name(element, 0)
    name, rest = _unquote(element[:end]), element[end:].strip()
    type_end = next((i for i, ch, depth in outside_quotes(rest) if ch == " " and depth == 0), len(rest))
    clauses = split_clauses(" " + rest[type_end:], _COLUMN_WORDS)
    values = dict(clauses)
    kind = next((k for k in ("DEFAULT", "EXPRESSION") if k in values), "")
    text = ColumnText(
        ttl=values.get("TTL", ""),
        statistics=values.get("STATISTICS", ""),
        default_kind=kind,
        default_expression=values.get(kind, "") if kind else "",
        options=" ".join(k for k, _ in clauses if k in _DICT_FLAGS),
    )
    leftover = " ".join(f"{k} {v}".strip() for k, v in clauses if k not in _COLUMN_MODELLED)
    return name, text, leftover


def normalize_create(text: str) -> str:
    """The CREATE text without what varies without meaning: object UUIDs."""
    return _UUID.sub("", text)


@lru_cache(maxsize=16384)
def parse_create(text: str) -> CreateText:
    """Take one `create_table_query` apart; an unrecognised text is all `rest`.

    Cached by text (never mutate the result): both rounds and every source building a table the same
    way print the same text, so each is read once (a few milliseconds of pure Python per table).
    """
    text = normalize_create(text)
    head = _HEAD.match(text)
    if head is None:
        return CreateText(rest=text)
    kind = head.group(1)
    after_name = _read_name(text, head.end())
    found = _elements(text, after_name)
    if found is None:
        pre, inside, tail = text[after_name:], "", ""
        at = _at_query(pre)
        pre, tail = pre[:at], pre[at:]
    else:
        inside, open_at, close_at = found
        pre, tail = text[after_name:open_at], text[close_at + 1 :]
    target, pre_rest = "", pre.strip()
    to = re.search(r"(?:^| )TO (\S+)", pre_rest)
    if to:
        target = ".".join(_unquote(p) for p in _name_parts(to.group(1)))
        pre_rest = (pre_rest[: to.start()] + pre_rest[to.end() :]).strip()
    columns: dict[str, ColumnText] = {}
    constraints: list[Constraint] = []
    projections: list[Projection] = []
    rest = [kind, pre_rest] if pre_rest else [kind]
    for element in split_top_level(inside) if inside.strip() else []:
        if element.startswith("CONSTRAINT "):
            name_end = _read_name(element, len("CONSTRAINT "))
            check_kind, _, expr = element[name_end:].strip().partition(" ")
            constraints.append(Constraint(_unquote(element[len("CONSTRAINT "):name_end]), check_kind, expr))
        elif element.startswith("PROJECTION "):
            name_end = _read_name(element, len("PROJECTION "))
            projections.append(Projection(_unquote(element[len("PROJECTION "):name_end]), element[name_end:].strip()))
        elif element.startswith("INDEX "):
            continue  # system.data_skipping_indices
        else:
            name, col, leftover = _column(element)
            columns[name] = col
            if leftover:
                rest.append(f"`{name}` {leftover}")
    clauses = split_clauses(tail[: _at_query(tail)], _TAIL_WORDS)
    rest.extend(f"{k} {v}".strip() for k, v in clauses if k not in _TAIL_MODELLED)
    return CreateText(
        kind=kind,
        target=target,
        columns=columns,
        constraints=tuple(constraints),
        projections=tuple(projections),
        clauses={k: v for k, v in clauses if k in _TAIL_MODELLED},
        rest=" ".join(rest),
    )


def _name_parts(name: str) -> list[str]:
    parts, start = [], 0
    for i, ch, _ in outside_quotes(name):
        if ch == ".":
            parts.append(name[start:i])
            start = i + 1
    parts.append(name[start:])
    return parts
