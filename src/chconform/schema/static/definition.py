"""Reading one CREATE statement into a Definition: what it builds, in canonical form.

The statement's tokens give the skeleton (columns, ENGINE, PARTITION BY, ORDER BY, ...); column
types go through canonical_type. What only the engine can resolve (`CREATE TABLE t AS other`, a
column typed by its default) is marked undecidable, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from chconform.schema.static.tokens import (
    EMPTY,
    Canon,
    _code,
    _groups,
    _is,
    _split_top,
    canon,
    key_elements,
    string_value,
)
from chconform.schema.static.types import canonical_type
from chconform.sql.source import Statement, Token, tokenize

__all__ = [
    "CHECK",
    "CREATE_KINDS",
    "NONDETERMINISTIC",
    "ColumnSpec",
    "Definition",
    "column_types",
    "nondeterministic_calls",
    "parse_definition",
]

CHECK = "static"
CREATE_KINDS = ("create_table", "create_view", "create_materialized_view", "create_dictionary", "create_function")

# Clause words of CREATE (after the column list), each one or two words.
_CLAUSES = {
    ("ENGINE",): "engine", ("PARTITION", "BY"): "partition_key", ("PRIMARY", "KEY"): "primary_key",
    ("ORDER", "BY"): "sorting_key", ("SAMPLE", "BY"): "sampling_key", ("TTL",): "ttl",
    ("SETTINGS",): "settings", ("COMMENT",): "comment", ("AS",): "as", ("TO",): "to",
    ("POPULATE",): "populate", ("EMPTY",): "empty", ("DEFINER",): "definer", ("SQL", "SECURITY"): "security",
    ("REFRESH",): "refresh", ("APPEND",): "append",
}
_COLUMN_WORDS = frozenset([
    "DEFAULT", "MATERIALIZED", "ALIAS", "EPHEMERAL", "NULL", "NOT", "COMMENT", "CODEC", "TTL", "STATISTICS",
    "SETTINGS", "PRIMARY", "AUTO_INCREMENT"
])
_AFTER_DEFAULT = frozenset([
    "COMMENT", "CODEC", "TTL", "STATISTICS", "SETTINGS", "PRIMARY"
])
# Functions ClickHouse refuses in a partition key ("Expression must be deterministic").
NONDETERMINISTIC = frozenset([
    "now", "now64", "nowinblock", "nowinblock64", "today", "yesterday", "current_timestamp", "localtimestamp",
    "utc_timestamp", "uptime", "rownumberinblock", "rownumberinallblocks", "blocknumber", "hostname", "fqdn",
    "serveruuid", "currentdatabase", "version", "timezone"
])
_NONDETERMINISTIC_PREFIXES = ("rand", "generateuuid", "generatesnowflake", "generateserial")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    default_kind: str = ""
    default: Canon = EMPTY
    comment: str = ""
    codec: Canon = EMPTY
    ttl: Canon = EMPTY
    statistics: Canon = EMPTY
    settings: Canon = EMPTY

    @property
    def default_text(self) -> str:
        return f"{self.default_kind} {self.default.text}".strip()

    def text(self) -> str:
        return f"{self.name} {self.type}" + (f" {self.default_text}" if self.default_kind else "")


@dataclass(frozen=True)
class Definition:
    """What one CREATE statement builds, in canonical form; `source`/`line` say where."""

    object: str
    kind: str  # table | view | materialized_view | dictionary | function
    columns: tuple[ColumnSpec, ...] = ()
    engine: Canon = EMPTY
    partition_key: tuple[Canon, ...] | None = None
    sorting_key: tuple[Canon, ...] | None = None
    primary_key: tuple[Canon, ...] | None = None
    sampling_key: tuple[Canon, ...] | None = None
    ttl: tuple[Canon, ...] = ()
    settings: tuple[tuple[str, Canon], ...] = ()
    comment: str = ""
    view_query: Canon = EMPTY
    target: str = ""  # a materialized view's TO table
    indices: tuple[tuple[str, Canon, Canon, str], ...] = ()
    projections: tuple[Canon, ...] = ()
    constraints: tuple[Canon, ...] = ()
    body: Canon = EMPTY  # dictionaries: the whole definition
    security: Canon = EMPTY  # a view's DEFINER and SQL SECURITY, as written
    source: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)
    undecidable: str = field(default="", compare=False)
    altered: str = field(default="", compare=False)  # a later ALTER/RENAME changed it: the end state is the engine's
    nondeterministic: tuple[str, ...] = field(default=(), compare=False)  # calls in PARTITION BY
    query_tokens: tuple[Token, ...] = field(default=(), compare=False, repr=False)
    query_offset: int = field(default=0, compare=False, repr=False)

    def where(self) -> str:
        return f"{self.source}:{self.line}"


def _kind_of(stmt_kind: str) -> str:
    return {"create_table": "table", "create_view": "view", "create_materialized_view": "materialized_view",
            "create_dictionary": "dictionary", "create_function": "function"}[stmt_kind]


def parse_definition(stmt: Statement, source: str = "") -> Definition:
    """The canonical form of one CREATE TABLE / VIEW / MATERIALIZED VIEW / DICTIONARY."""
    core = _definition(stmt.text, stmt.kind, stmt.target, stmt.target_span)
    return replace(core, source=source, line=stmt.line)


@lru_cache(maxsize=16384)
def _definition(text: str, kind: str, target: str | None, span: tuple[int, int] | None) -> Definition:
    """Cached by statement text: every copy of a key table in every file is read once."""
    stmt = Statement(text, 1, 1, 0, len(text), kind, target, span)
    tokens = _code(tokenize(stmt.text))
    base = Definition(object=stmt.target or "?", kind=_kind_of(stmt.kind))
    end = stmt.target_span[1] if stmt.target_span else 0
    i = next((k for k, t in enumerate(tokens) if t.start >= end), len(tokens))
    if _is(tokens[i] if i < len(tokens) else None, "UUID"):
        i += 2
    if i + 1 < len(tokens) and _is(tokens[i], "ON") and _is(tokens[i + 1], "CLUSTER"):
        i += 3
    rest = tokens[i:]
    if base.kind == "function":  # SQL functions are global: named without a database, as the engine names them
        return replace(base, object=(stmt.target or "?").split(".", 1)[-1], body=canon(rest))
    if base.kind == "dictionary":
        return replace(base, body=canon(rest))
    columns: list[Token] = []
    if rest and rest[0].text == "(" and base.kind in ("table", "view", "materialized_view"):
        close = _groups(rest)[0]
        columns, rest = rest[1:close], rest[close + 1 :]
    clauses = _clauses(rest, allow_to=base.kind != "table")
    if base.kind == "table":
        return _table(base, columns, clauses)
    return _view(base, columns, clauses)


def _clauses(tokens: list[Token], allow_to: bool = True) -> dict[str, list[Token]]:
    """Split the part after the column list at top-level clause words; AS takes the rest.

    TO starts a clause only in a view (`TO target`); in a table it belongs to TTL (`TO DISK 'x'`).
    """
    out: dict[str, list[Token]] = {}
    current: list[Token] | None = None
    match = _groups(tokens)
    i = 0
    while i < len(tokens):
        t = tokens[i]
        found = None
        if t.kind == "word" and not (i > 1 and _is(tokens[i - 2], "SQL") and _is(tokens[i - 1], "SECURITY")):
            for words, name in _CLAUSES.items():  # (SQL SECURITY DEFINER: a value, not the DEFINER clause)
                if name == "to" and not allow_to:
                    continue
                if all(_is(tokens[i + k] if i + k < len(tokens) else None, w) for k, w in enumerate(words)):
                    found = (name, len(words))
                    break
        if found:
            name, width = found
            current = out.setdefault(name, [])
            if name == "as":
                current.extend(tokens[i + width :])
                break
            i += width
            continue
        if current is not None:
            current.append(t)
        if t.text in "([" and t.kind == "punct" and match[i] > i:  # a bracketed group belongs to the clause
            if current is not None:
                current.extend(tokens[i + 1 : match[i] + 1])
            i = match[i] + 1
            continue
        i += 1
    return out


def _engine(tokens: list[Token]) -> Canon:
    toks = tokens[1:] if tokens and tokens[0].text == "=" else tokens
    if len(toks) >= 3 and toks[1].text == "(" and toks[2].text == ")" and len(toks) == 3:
        toks = toks[:1]  # ReplacingMergeTree() is ReplacingMergeTree
    return canon(toks)


def _settings(tokens: list[Token], engine: Canon) -> tuple[tuple[str, Canon], ...]:
    out = []
    for part in _split_top(tokens):
        if len(part) >= 2 and part[1].text == "=":
            out.append((part[0].value, canon(part[2:])))
        else:
            out.append((canon(part).text, EMPTY))
    family = engine.key[0][2:] if engine.key else ""
    if family.endswith("MergeTree") and not any(name == "index_granularity" for name, _ in out):
        out.append(("index_granularity", Canon(("N:8192",), "8192")))  # what ClickHouse stores when unset
    return tuple(out)


def _ttl(tokens: list[Token]) -> tuple[Canon, ...]:
    rules = []
    for part in _split_top(tokens):
        if len(part) > 1 and _is(part[-1], "DELETE"):
            part = part[:-1]  # DELETE is the default action
        rules.append(canon(part))
    return tuple(rules)


def _table(base: Definition, column_tokens: list[Token], clauses: dict[str, list[Token]]) -> Definition:
    columns: list[ColumnSpec] = []
    indices, projections, constraints = [], [], []
    inline_pk: list[Token] | None = None
    untyped: list[str] = []
    for entry in _split_top(column_tokens):
        head = entry[0]
        if _is(head, "INDEX"):
            indices.append(_index(entry))
        elif _is(head, "PROJECTION"):
            projections.append(canon(entry))
        elif _is(head, "CONSTRAINT"):
            constraints.append(canon(entry))
        elif _is(head, "PRIMARY") and len(entry) > 1 and _is(entry[1], "KEY"):
            inline_pk = entry[2:]
        else:
            col = _column(entry)
            columns.append(col)
            if not col.type:
                untyped.append(col.name)
    engine = _engine(clauses.get("engine", []))
    primary = key_elements(clauses["primary_key"]) if "primary_key" in clauses else (
        key_elements(inline_pk) if inline_pk is not None else None)
    sorting = key_elements(clauses["sorting_key"]) if "sorting_key" in clauses else primary
    note = ""
    source = clauses.get("as", [])
    if "as" in clauses and not column_tokens:
        what = "a query" if not source or _is(source[0], "SELECT", "WITH") or source[0].text == "(" \
            else f"`{canon(source).text}`"
        note = f"its columns come from {what}, which only the engine resolves"
    elif untyped:
        note = f"column {untyped[0]} has no type; the engine infers it from its default expression"
    elif not column_tokens:
        note = "it has no column list"
    comment = clauses.get("comment", [])
    return replace(
        base,
        columns=tuple(columns),
        engine=engine,
        partition_key=key_elements(clauses["partition_key"]) if "partition_key" in clauses else None,
        sorting_key=sorting,
        primary_key=primary if primary is not None else sorting,
        sampling_key=key_elements(clauses["sampling_key"]) if "sampling_key" in clauses else None,
        ttl=_ttl(clauses.get("ttl", [])),
        settings=_settings(clauses.get("settings", []), engine),
        nondeterministic=tuple(nondeterministic_calls(clauses.get("partition_key", []))),
        comment=string_value(comment[0].text) if comment and comment[0].kind == "string" else canon(comment).text,
        indices=tuple(indices),
        projections=tuple(projections),
        constraints=tuple(constraints),
        undecidable=note,
    )


def _index(entry: list[Token]) -> tuple[str, Canon, Canon, str]:
    """INDEX name expr TYPE type [GRANULARITY n]; GRANULARITY defaults to 1."""
    name = entry[1].value if len(entry) > 1 else ""
    body = entry[2:]
    at_type = next((k for k, t in enumerate(body) if _is(t, "TYPE")), len(body))
    at_gran = next((k for k, t in enumerate(body) if _is(t, "GRANULARITY")), len(body))
    granularity = canon(body[at_gran + 1 :]).text or "1"
    return name, canon(body[:at_type]), canon(body[at_type + 1 : at_gran]), granularity


def _column(entry: list[Token]) -> ColumnSpec:
    name = entry[0].value
    i = 1
    match = _groups(entry)
    while i < len(entry) and not (entry[i].kind == "word" and entry[i].text.upper() in _COLUMN_WORDS):
        i = match[i] + 1 if match[i] > i else i + 1
    type_tokens = entry[1:i]
    nullable = False
    kind, default, comment, codec, ttl, statistics, settings = "", EMPTY, "", EMPTY, EMPTY, EMPTY, EMPTY
    while i < len(entry):
        word = entry[i].text.upper() if entry[i].kind == "word" else ""
        if word == "NULL":
            nullable, i = True, i + 1
        elif word == "NOT" and _is(entry[i + 1] if i + 1 < len(entry) else None, "NULL"):
            i += 2
        elif word in ("DEFAULT", "MATERIALIZED", "ALIAS", "EPHEMERAL"):
            j = i + 1
            while j < len(entry) and not _is(entry[j], *_AFTER_DEFAULT):
                j = match[j] + 1 if match[j] > j else j + 1
            kind, default, i = word, canon(entry[i + 1 : j]), j
        elif word == "COMMENT" and i + 1 < len(entry):
            tok = entry[i + 1]
            comment, i = (string_value(tok.text) if tok.kind == "string" else tok.text), i + 2
        elif word in ("CODEC", "STATISTICS", "SETTINGS") and i + 1 < len(entry) and entry[i + 1].text == "(":
            close = match[i + 1]
            if word == "CODEC":
                codec = canon(entry[i : close + 1])
            elif word == "STATISTICS":
                statistics = canon(entry[i + 1 : close + 1])
            else:
                settings = canon(entry[i + 1 : close + 1])
            i = close + 1
        elif word == "TTL":
            j = i + 1
            while j < len(entry) and not _is(entry[j], *_AFTER_DEFAULT):
                j = match[j] + 1 if match[j] > j else j + 1
            ttl, i = canon(entry[i + 1 : j]), j
        else:
            i += 1
    type_text = ""
    if type_tokens:
        type_text = canonical_type(canon(type_tokens).text)
        if nullable and not type_text.startswith("Nullable("):
            type_text = f"Nullable({type_text})"
    return ColumnSpec(name, type_text, kind, default, comment, codec, ttl, statistics, settings)


def column_types(stmt: Statement) -> list[tuple[str, int, int]]:
    """(column, start, end) of each written column type of a CREATE TABLE; offsets into stmt.text.

    For tools that edit one type in place (the mutation proof)."""
    tokens = _code(tokenize(stmt.text))
    end = stmt.target_span[1] if stmt.target_span else 0
    i = next((k for k, t in enumerate(tokens) if t.start >= end), len(tokens))
    if i >= len(tokens) or tokens[i].text != "(":
        return []
    out = []
    for entry in _split_top(tokens[i + 1 : _groups(tokens[i:])[0] + i]):
        if _is(entry[0], "INDEX", "PROJECTION", "CONSTRAINT", "PRIMARY") or len(entry) < 2:
            continue
        match, j = _groups(entry), 1
        while j < len(entry) and not (entry[j].kind == "word" and entry[j].text.upper() in _COLUMN_WORDS):
            j = match[j] + 1 if match[j] > j else j + 1
        if j > 1:
            out.append((entry[0].value, entry[1].start, entry[j - 1].start + len(entry[j - 1].text)))
    return out


def _view(base: Definition, column_tokens: list[Token], clauses: dict[str, list[Token]]) -> Definition:
    query = clauses.get("as", [])
    target = ""
    if "to" in clauses:
        to = clauses["to"]
        named = 3 if len(to) >= 3 and to[1].text == "." else 1
        target = canon(to[:named]).text
        if not column_tokens and len(to) > named and to[named].text == "(":  # TO db.t (a String): the view's columns
            column_tokens = to[named + 1 : _groups(to)[named]]
    engine = _engine(clauses["engine"]) if "engine" in clauses else EMPTY
    primary = key_elements(clauses["primary_key"]) if "primary_key" in clauses else None
    sorting = key_elements(clauses["sorting_key"]) if "sorting_key" in clauses else primary
    entries = [e for e in _split_top(column_tokens) if e]
    columns = tuple(ColumnSpec(e[0].value, "") for e in entries)
    indices, projections, constraints = [], [], []
    if base.kind == "materialized_view" and entries:  # its column list is its inner table's: typed, with elements
        columns = tuple(_column(e) for e in entries if not _is(e[0], "INDEX", "PROJECTION", "CONSTRAINT"))
        indices = [_index(e) for e in entries if _is(e[0], "INDEX")]
        projections = [canon(e) for e in entries if _is(e[0], "PROJECTION")]
        constraints = [canon(e) for e in entries if _is(e[0], "CONSTRAINT")]
    return replace(
        base,
        columns=columns,
        indices=tuple(indices),
        projections=tuple(projections),
        constraints=tuple(constraints),
        engine=engine,
        partition_key=key_elements(clauses["partition_key"]) if "partition_key" in clauses else None,
        sorting_key=sorting,
        primary_key=primary if primary is not None else sorting,
        sampling_key=key_elements(clauses["sampling_key"]) if "sampling_key" in clauses else None,
        ttl=_ttl(clauses.get("ttl", [])),
        settings=_settings(clauses.get("settings", []), engine) if engine.key else (),
        view_query=canon(query),
        security=canon([*clauses.get("definer", []), *clauses.get("security", [])]),
        target=target,
        query_tokens=tuple(query),
    )


def nondeterministic_calls(tokens: Sequence[Token]) -> list[str]:
    """Names of functions called in `tokens` that ClickHouse refuses in a partition key."""
    toks = _code(tokens)
    out = []
    for i, t in enumerate(toks[:-1]):
        if t.kind == "word" and toks[i + 1].text == "(":
            low = t.text.lower()
            if low in NONDETERMINISTIC or low.startswith(_NONDETERMINISTIC_PREFIXES):
                out.append(t.text)
    return out
