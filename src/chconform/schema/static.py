"""The static validator: the live check's verdict from the SQL text alone, in well under a second.

How it reads a CREATE: the statement's tokens (chconform.sql.source.tokenize, the same
ClickHouse-aware lexer the splitter uses) give the skeleton (columns, ENGINE,
PARTITION BY, ORDER BY, ...), and sqlglot's ClickHouse dialect parses what needs a
parser: column types (so `INT` is `Int32` and `Nullable(Date)` is `Date NULL`) and
view queries (so every column a view reads is resolved through aliases, CTEs,
subqueries and joins). Two definitions are compared by their *tokens*, normalised only
where ClickHouse itself does not care (whitespace, comments, keyword case, identifier
quoting, `Engine()` vs `Engine`, `ORDER BY (a)` vs `a`, the implicit
`index_granularity = 8192`, `INTERVAL 1 DAY` vs `toIntervalDay(1)`, a TTL's implicit
DELETE, a missing PRIMARY KEY, string escapes). sqlglot's regenerated SQL is never
compared: it rewrites `rand()` to `randCanonical()`, `toStartOfDay(d)` to `dateTrunc`
and `INTERVAL 14 DAY` to `INTERVAL '14' DAY`, which ClickHouse builds differently.

Each source is simulated statement by statement, twice, the way the live check runs it
(CREATE ... IF NOT EXISTS, OR REPLACE, DROP), so that "the definition a file leaves
behind", a second application that fails, and a view created before its table are
found without an engine. What only the engine can resolve (`CREATE TABLE t AS other`,
a column typed by its default, `SELECT *` over a table the file does not define, an
ALTER) is reported as undecidable, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from chconform.config import Config
from chconform.model import Difference
from chconform.sql.source import Source, Statement, Token, read_source, split_statements, tokenize

__all__ = [
    "NONDETERMINISTIC",
    "Canon",
    "ColumnSpec",
    "Definition",
    "Note",
    "StaticReport",
    "StaticSource",
    "Variant",
    "canonical_type",
    "check_sources",
    "column_types",
    "compare_definitions",
    "parse_definition",
    "simulate",
    "validate",
]

CHECK = "static"
CREATE_KINDS = ("create_table", "create_view", "create_materialized_view", "create_dictionary")

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


# ---------------------------------------------------------------------------
# Canonical token forms
# ---------------------------------------------------------------------------


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
        if keys[i] == "K:INTERVAL" and toks[i + 1].kind in ("number", "string") and unit in _INTERVAL_UNITS:
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


# ---------------------------------------------------------------------------
# Types (sqlglot)
# ---------------------------------------------------------------------------

class _Unreadable(Exception):
    """A type sqlglot parsed without keeping its spelling (e.g. Variant's members)."""


@lru_cache(maxsize=16384)
def canonical_type(text: str) -> str:
    """The type name ClickHouse reports for a type spelling, as far as sqlglot knows the aliases.

    sqlglot maps the SQL aliases (INT, TEXT, DOUBLE, BOOLEAN, TIMESTAMP, ...) to ClickHouse
    families; the rules ClickHouse applies on top (Decimal's default precision,
    DateTime64's default scale, Enum's implicit values, BINARY(n)) are applied here.
    A spelling sqlglot cannot read is compared as written, which is never laxer.
    """
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        return _type_text(exp.DataType.build(text, dialect="clickhouse"))
    except (SqlglotError, ValueError, KeyError, RecursionError, _Unreadable):
        return canon(_code(tokenize(text))).text


_SIMPLE_TYPES = {"DATE": "Date", "TIME": "Time", "TEXT": "String", "VARCHAR": "String", "CHAR": "String",
                 "NCHAR": "String", "NVARCHAR": "String", "LONGTEXT": "String", "MEDIUMTEXT": "String",
                 "TINYTEXT": "String", "VARBINARY": "String", "BLOB": "String", "LONGBLOB": "String",
                 "MEDIUMBLOB": "String", "TINYBLOB": "String", "TIMESTAMP": "DateTime"}


def _type_text(dtype: Any) -> str:
    from sqlglot import exp

    T = exp.DataType.Type
    kind = dtype.this
    if dtype.args.get("nullable") and kind != T.LOWCARDINALITY:
        base = dtype.copy()
        base.set("nullable", False)
        return f"Nullable({_type_text(base)})"
    params = list(dtype.expressions)
    if kind.name in _INTEGERS:
        return dtype.sql("clickhouse").split("(", 1)[0]  # type: ignore[no-any-return]  # INT(11): a display width
    if kind.name in _SIMPLE_TYPES and (not params or _SIMPLE_TYPES[kind.name] == "String"):
        return _SIMPLE_TYPES[kind.name]  # VARCHAR(255): ClickHouse ignores the length
    if kind == T.BINARY and params:
        return f"FixedString({_param(params[0])})"
    if kind == T.DECIMAL:
        args = [_param(p) for p in params]
        return f"Decimal({args[0] if args else 10}, {args[1] if len(args) > 1 else 0})"
    if kind.name in _DECIMAL_PRECISION_BY_KIND and params:
        return f"Decimal({_DECIMAL_PRECISION_BY_KIND[kind.name]}, {_param(params[0])})"
    if kind == T.DATETIME64 and not params:
        return "DateTime64(3)"
    if kind in (T.ENUM, T.ENUM8, T.ENUM16):
        return _enum(dtype)
    name = dtype.sql("clickhouse")
    if not params:
        return name  # type: ignore[no-any-return]
    family = name.split("(", 1)[0]
    return f"{family}({', '.join(_param(p) for p in params)})"


_INTEGERS = frozenset([
    "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "UTINYINT", "USMALLINT", "UMEDIUMINT", "UINT",
    "UBIGINT", "INT128", "UINT128", "INT256", "UINT256"
])
_DECIMAL_PRECISION_BY_KIND = {"DECIMAL32": 9, "DECIMAL64": 18, "DECIMAL128": 38, "DECIMAL256": 76}


def _param(p: Any) -> str:
    from sqlglot import exp

    if isinstance(p, exp.DataType):
        return _type_text(p)
    if isinstance(p, exp.ColumnDef):
        return f"{p.name} {_type_text(p.args['kind'])}"
    if isinstance(p, exp.DataTypeParam):
        p = p.this
    if isinstance(p, exp.Var):
        raise _Unreadable(p.name)
    if isinstance(p, exp.Identifier):
        return str(p.name)
    return str(p.sql("clickhouse"))


def _enum(dtype: Any) -> str:
    """Enum('a', 'b') is Enum8('a' = 1, 'b' = 2); a value outside Int8 makes it Enum16."""
    from sqlglot import exp

    pairs: list[tuple[str, int]] = []
    nxt = 1
    for item in dtype.expressions:
        if isinstance(item, exp.EQ) and isinstance(item.this, exp.Literal):
            value = int(item.expression.sql("clickhouse").replace(" ", ""))
            pairs.append((item.this.name, value))
        elif isinstance(item, exp.Literal):
            pairs.append((item.name, nxt))
        else:
            return dtype.sql("clickhouse")  # type: ignore[no-any-return]
        nxt = pairs[-1][1] + 1
    family = {exp.DataType.Type.ENUM8: "Enum8", exp.DataType.Type.ENUM16: "Enum16"}.get(dtype.this)
    if family is None:
        family = "Enum8" if all(-128 <= v <= 127 for _, v in pairs) else "Enum16"
    return f"{family}({', '.join(f'{_quote(k)} = {v}' for k, v in pairs)})"


# ---------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    default_kind: str = ""
    default: Canon = EMPTY
    comment: str = ""
    codec: Canon = EMPTY
    ttl: Canon = EMPTY

    @property
    def default_text(self) -> str:
        return f"{self.default_kind} {self.default.text}".strip()

    def text(self) -> str:
        return f"{self.name} {self.type}" + (f" {self.default_text}" if self.default_kind else "")


@dataclass(frozen=True)
class Definition:
    """What one CREATE statement builds, in canonical form; `source`/`line` say where."""

    object: str
    kind: str  # table | view | materialized_view | dictionary
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
            "create_dictionary": "dictionary"}[stmt_kind]


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
    if base.kind == "dictionary":
        return replace(base, body=canon(rest))
    columns: list[Token] = []
    if rest and rest[0].text == "(" and base.kind in ("table", "view"):
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
        if t.kind == "word":
            for words, name in _CLAUSES.items():
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
    kind, default, comment, codec, ttl = "", EMPTY, "", EMPTY, EMPTY
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
    return ColumnSpec(name, type_text, kind, default, comment, codec, ttl)


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
        target = canon(to[:3] if len(to) >= 3 and to[1].text == "." else to[:1]).text
    engine = _engine(clauses["engine"]) if "engine" in clauses else EMPTY
    primary = key_elements(clauses["primary_key"]) if "primary_key" in clauses else None
    sorting = key_elements(clauses["sorting_key"]) if "sorting_key" in clauses else primary
    return replace(
        base,
        columns=tuple(ColumnSpec(e[0].value, "") for e in _split_top(column_tokens) if e),
        engine=engine,
        partition_key=key_elements(clauses["partition_key"]) if "partition_key" in clauses else None,
        sorting_key=sorting,
        primary_key=primary if primary is not None else sorting,
        sampling_key=key_elements(clauses["sampling_key"]) if "sampling_key" in clauses else None,
        ttl=_ttl(clauses.get("ttl", [])),
        settings=_settings(clauses.get("settings", []), engine) if engine.key else (),
        view_query=canon(query),
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


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------


def _table_aspects(d: Definition) -> list[tuple[str, object, str]]:
    """(aspect, comparison value, shown value) in the live check's report order."""
    settings = ", ".join(f"{k} = {v.text}" if v.key else k for k, v in d.settings)
    indices = "; ".join(f"{n} {e.text} TYPE {t.text} GRANULARITY {g}" for n, e, t, g in d.indices) or "none"
    return [
        ("kind", d.kind, d.kind),
        ("engine", d.engine, d.engine.text),
        ("partition_key", d.partition_key, _join(d.partition_key)),
        ("sorting_key", d.sorting_key, _join(d.sorting_key)),
        ("primary_key", d.primary_key, _join(d.primary_key)),
        ("sampling_key", d.sampling_key, _join(d.sampling_key)),
        ("ttl", d.ttl, ", ".join(r.text for r in d.ttl)),
        ("settings", d.settings, settings),
        ("table_comment", d.comment, d.comment),
        ("view_query", d.view_query, d.view_query.text),
        ("mv_target", d.target, d.target),
        ("indices", d.indices, indices),
        ("projections", d.projections, "; ".join(p.text for p in d.projections) or "none"),
        ("constraints", d.constraints, "; ".join(c.text for c in d.constraints) or "none"),
        ("definition", d.body, d.body.text),
    ]


def _column_aspects(c: ColumnSpec) -> list[tuple[str, object, str]]:
    """(aspect, comparison value, shown value) of one column."""
    return [
        ("column_type", c.type, c.type),
        ("column_default", (c.default_kind, c.default), c.default_text),
        ("column_comment", c.comment, c.comment),
        ("column_codec", c.codec, c.codec.text),
        ("column_ttl", c.ttl, c.ttl.text),
    ]


def compare_definitions(want: Definition, got: Definition) -> list[Difference]:
    """Every aspect in which `got` differs from `want`, named as the live check names it."""
    name = want.object
    out = [Difference(name, aspect, a_shown, b_shown)
           for (aspect, a, a_shown), (_, b, b_shown) in zip(_table_aspects(want), _table_aspects(got)) if a != b]
    is_view = want.kind in ("view", "materialized_view")
    want_cols = {c.name: c for c in want.columns}
    got_cols = {c.name: c for c in got.columns}
    for c in want.columns:
        if c.name not in got_cols:
            out.append(Difference(name, "view_columns" if is_view else "column_missing", c.text(), "absent", c.name))
    for c in got.columns:
        if c.name not in want_cols:
            out.append(Difference(name, "view_columns" if is_view else "column_extra", "absent", c.text(), c.name))
    for c in want.columns:
        other = got_cols.get(c.name)
        if other is not None:
            out.extend(Difference(name, aspect, a_shown, b_shown, c.name)
                       for (aspect, a, a_shown), (_, b, b_shown) in zip(_column_aspects(c), _column_aspects(other))
                       if a != b)
    shared_want = [c.name for c in want.columns if c.name in got_cols]
    shared_got = [c.name for c in got.columns if c.name in want_cols]
    if shared_want != shared_got:
        out.append(Difference(name, "column_order", ", ".join(shared_want), ", ".join(shared_got)))
    return out


# ---------------------------------------------------------------------------
# Simulation: what applying a source (twice) leaves behind
# ---------------------------------------------------------------------------


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
    definitions = {id(s): parse_definition(s, source.path) for s in source.statements if s.kind in CREATE_KINDS}
    state = _State({"default", "system"}, {})
    findings: list[Difference] = []
    notes: dict[tuple[str, int, str], Note] = {}
    after_round_1: dict[str, Definition] = {}
    for round_no in (1, 2):
        state.database = "default"
        for stmt in prelude_stmts:
            _apply(stmt, None, state, round_no, "prelude", findings, notes)
        for stmt in source.statements:
            _apply(stmt, definitions.get(id(stmt)), state, round_no, source.path, findings, notes)
        if round_no == 1:
            after_round_1 = dict(state.objects)
    findings.extend(_round2(after_round_1, state.objects, source))
    ordered = tuple(definitions[id(s)] for s in source.statements if id(s) in definitions)
    return Simulation(after_round_1, tuple(findings), tuple(notes.values()), ordered)


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
    target = stmt.target or d.object
    database = target.split(".", 1)[0]
    if database not in state.databases:
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


# ---------------------------------------------------------------------------
# Views: every table a view reads exists, and has every column it reads
# ---------------------------------------------------------------------------


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


def _qualify(name: str, database: str) -> str:
    return name if "." in name else f"{database}.{name}"


@dataclass(frozen=True)
class _ScopeShape:
    """One SELECT scope of a query, reduced to what column resolution needs."""

    sources: tuple[tuple[str, str, str, str, frozenset[str] | None], ...]  # alias, kind, db, name, derived names
    columns: tuple[tuple[str, str], ...]  # (qualifier or "", name)
    aliases: frozenset[str]
    lambdas: frozenset[str]


@lru_cache(maxsize=16384)
def _query_shape(query: str) -> tuple[frozenset[str], tuple[_ScopeShape, ...]]:
    """Parse a view's query once (the same view text recurs in many files) into its scopes."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    tree = sqlglot.parse_one(query, read="clickhouse")

    def derived(node: Any) -> frozenset[str] | None:
        names = set()
        for sel in getattr(node, "selects", []):
            if isinstance(sel, exp.Star) or (isinstance(sel, exp.Column) and isinstance(sel.this, exp.Star)):
                return None
            names.add(sel.alias_or_name)
        return frozenset(names)

    scopes = []
    for scope in traverse_scope(tree):
        sources: list[tuple[str, str, str, str, frozenset[str] | None]] = []
        for alias, src in scope.sources.items():
            if isinstance(src, exp.Table):
                kind = "function" if isinstance(src.this, exp.Func) or not src.name else "table"
                name = src.sql("clickhouse")[:40] if kind == "function" else src.name
                sources.append((alias, kind, src.db, name, None))
            else:
                sources.append((alias, "scope", "", "", derived(src.expression)))
        selects = getattr(scope.expression, "selects", [])
        scopes.append(_ScopeShape(
            tuple(sources),
            tuple((c.table, c.name) for c in scope.columns),
            frozenset(s.alias for s in selects if isinstance(s, exp.Alias)),
            frozenset(p.name for lam in scope.expression.find_all(exp.Lambda) for p in lam.expressions),
        ))
    # ClickHouse lets an alias (of a SELECT item, a WITH expression, an ARRAY JOIN) be used anywhere
    # in the query, so an unqualified name that is any alias is never reported as a missing column.
    aliases = frozenset({a.alias for a in tree.find_all(exp.Alias)} | {c.alias for c in tree.find_all(exp.CTE)})
    return aliases, tuple(scopes)


def view_problems(query: str, objects: dict[str, Definition], database: str
                  ) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(aspect, table, column) for each table or column the query reads that does not exist,
    and the reasons it could not decide some of it. Qualified (`e.city`), aliased and
    unqualified references are resolved through CTEs, subqueries, joins and UNIONs."""
    from sqlglot.errors import SqlglotError

    all_aliases, scopes = _query_shape(query)
    problems: list[tuple[str, str, str]] = []
    undecided: list[str] = []

    def add(item: tuple[str, str, str]) -> None:
        if item not in problems:
            problems.append(item)

    def table_columns(db: str, name: str) -> set[str] | frozenset[str] | None:
        """Columns of a table the query reads; None if unknown."""
        fqn = f"{db or database}.{name}"
        if fqn.startswith("system."):
            undecided.append(f"reads {fqn}, a system table")
            return None
        d = objects.get(fqn)
        if d is None:
            add(("unknown_table", fqn, ""))
            return None
        decidable = not (d.undecidable or d.altered)
        if d.kind == "table" and decidable:
            return {c.name for c in d.columns}
        if d.kind in ("view", "materialized_view") and decidable and d.columns:
            return {c.name for c in d.columns}
        if d.kind in ("view", "materialized_view") and decidable and d.query_tokens:
            try:  # a view over a view: its columns are its query's output names
                names = _output_names(d)
            except (SqlglotError, RecursionError):
                names = None
            if names is not None:
                return names
        undecided.append(f"reads {fqn}, whose columns only the engine knows")
        return None

    for scope in scopes:
        sources: dict[str, set[str] | frozenset[str] | None] = {}
        where: dict[str, str] = {}
        for alias, kind, db, name, names in scope.sources:
            if kind == "function":
                undecided.append(f"reads the table function {name}")
                sources[alias] = None
            elif kind == "table":
                sources[alias] = table_columns(db, name)
                where[alias] = f"{db or database}.{name}"
            else:
                sources[alias] = names
                where[alias] = f"subquery {alias}"
        for qualifier, name in scope.columns:
            if qualifier:
                if qualifier not in sources:
                    continue  # a tuple element or an outer scope's alias: not a table column
                cols = sources[qualifier]
                if cols is not None and name not in cols:
                    add(("unknown_column", where[qualifier], name))
                continue
            if name in scope.aliases or name in scope.lambdas or name in all_aliases:
                continue
            known = [c for c in sources.values() if c is not None]
            if len(known) < len(sources):
                continue  # an unknown source may have it
            if sources and not any(name in c for c in known):
                add(("unknown_column", where[next(iter(sources))], name))
    return problems, sorted(set(undecided))


def view_lineage(query: str, objects: dict[str, Definition], database: str
                 ) -> dict[str, tuple[bool, frozenset[tuple[str, str]]]]:
    """For each output column of a view's query: whether it is a bare column reference (so it has
    exactly that column's type), and the (table, column) pairs it is computed from."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    Lineage = dict[str, tuple[bool, frozenset[tuple[str, str]]]]
    done: dict[int, Lineage] = {}

    def resolve(col: exp.Column, scope: Any) -> tuple[bool, frozenset[tuple[str, str]]]:
        candidates = [col.table] if col.table else list(scope.sources)
        for alias in candidates:
            src = scope.sources.get(alias)
            if isinstance(src, exp.Table):
                d = objects.get(f"{src.db or database}.{src.name}")
                if d is not None and (col.table or any(c.name == col.name for c in d.columns)):
                    return True, frozenset({(d.object, col.name)})
            elif src is not None and col.name in done.get(id(src.expression), {}):
                return done[id(src.expression)][col.name]
        return False, frozenset()

    for scope in traverse_scope(sqlglot.parse_one(query, read="clickhouse")):
        node = scope.expression
        if isinstance(node, exp.SetOperation):
            branches = [done.get(id(b.expression), {}) for b in scope.set_operation_scopes]
            names = list(branches[0]) if branches else []
            out: Lineage = {}
            for i, name in enumerate(names):
                parts = [list(b.values())[i] for b in branches if len(b) > i]
                out[name] = (all(p[0] for p in parts), frozenset().union(*(p[1] for p in parts)))
            done[id(node)] = out
            continue
        out = {}
        for sel in getattr(node, "selects", []):
            expr = sel.unalias() if isinstance(sel, exp.Alias) else sel
            pairs = [resolve(c, scope) for c in expr.find_all(exp.Column)]
            refs = frozenset().union(*(p[1] for p in pairs)) if pairs else frozenset()
            out[sel.alias_or_name] = (isinstance(expr, exp.Column) and bool(pairs) and pairs[0][0], refs)
        done[id(node)] = out
    return done.get(id(scope.expression), {}) if done else {}


def _view_types(sim: Simulation, canon_objects: dict[str, Definition], path: str,
                table_diffs: list[Difference]) -> tuple[list[Difference], list[Note]]:
    """A view reading a column whose type differs from the canon's: a bare reference carries the
    new type into the view (view_columns, as the live check reports it); a computed one is undecidable."""
    from sqlglot.errors import SqlglotError

    changed = {(d.object, d.column): d for d in table_diffs if d.aspect == "column_type" and d.column}
    diffs: list[Difference] = []
    notes: list[Note] = []
    if not changed:
        return diffs, notes
    for name, d in sorted(sim.objects.items()):
        if d.kind not in ("view", "materialized_view") or name not in canon_objects or not d.query_tokens:
            continue
        try:
            lineage = view_lineage(canon(list(d.query_tokens)).text, sim.objects, name.split(".", 1)[0])
        except (SqlglotError, RecursionError):
            continue
        computed: dict[tuple[str, str], list[str]] = {}
        for output, (bare, refs) in lineage.items():
            hits = sorted(refs & changed.keys())
            if hits and bare and len(refs) == 1:
                src = changed[hits[0]]
                diffs.append(Difference(name, "view_columns", src.canonical, src.actual, output, path, d.line, CHECK))
            elif hits:
                computed.setdefault(hits[0], []).append(output)
        for (table, column), outputs in sorted(computed.items()):
            why = (f"its column{'s' if len(outputs) > 1 else ''} {', '.join(outputs)} "
                   f"{'are' if len(outputs) > 1 else 'is'} computed from {table}.{column}, whose type differs; "
                   "only the engine infers the result's type")
            notes.append(Note(name, path, d.line, why))
    return diffs, notes


def _output_names(d: Definition) -> set[str] | None:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(canon(list(d.query_tokens)).text, read="clickhouse")
    names = set()
    for sel in tree.selects if hasattr(tree, "selects") else []:
        if isinstance(sel, exp.Star) or (isinstance(sel, exp.Column) and isinstance(sel.this, exp.Star)):
            return None
        names.add(sel.alias_or_name)
    return names


# ---------------------------------------------------------------------------
# Whole configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StaticSource:
    """The static verdict on one source, in the live check's vocabulary."""

    path: str
    role: str
    differences: tuple[Difference, ...] = ()
    missing_tables: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    warnings: tuple[str, ...] = ()
    defined: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.differences or self.missing_tables)


@dataclass(frozen=True)
class Variant:
    """One distinct definition of a table and every place that holds it."""

    definition: Definition
    places: tuple[str, ...]  # file:line
    canonical: bool


@dataclass(frozen=True)
class StaticReport:
    canonical: str
    key_tables: tuple[str, ...]
    sources: tuple[StaticSource, ...]
    variants: dict[str, tuple[Variant, ...]]  # only tables with more than one
    unconfigured: tuple[Difference, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.unconfigured and not self.variants and all(s.ok for s in self.sources)

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(n for s in self.sources for n in s.notes)


def _duplicates(sim: Simulation, path: str) -> list[Difference]:
    """A table defined twice in one file with different definitions (the second IF NOT EXISTS hides drift)."""
    first: dict[str, Definition] = {}
    out = []
    for d in sim.definitions:
        if d.kind == "dictionary":
            continue
        if d.object not in first:
            first[d.object] = d
            continue
        base = first[d.object]
        if base.undecidable or d.undecidable:
            continue
        for diff in compare_definitions(base, d):
            out.append(replace(diff, aspect="duplicate_" + diff.aspect, source=path, line=d.line, check=CHECK,
                               canonical=f"{diff.canonical} (line {base.line})"))
    return out


def check_sources(config: Config, sources: dict[str, Source]) -> StaticReport:
    """Pure: every configured source (already read) against the canonical one."""
    from chconform.checks.rules import role_findings

    sims = {spec.path: simulate(sources[spec.path], config.prelude) for spec in config.sources}
    canon_objects = sims[config.canonical].objects
    # The reference for each object: the canon's definition, else the first source's that decides it.
    reference: dict[str, tuple[str, Definition]] = {n: (config.canonical, d) for n, d in canon_objects.items()}
    for spec in config.sources:
        for name, d in sims[spec.path].objects.items():
            if name not in reference and not d.undecidable:
                reference[name] = (spec.path, d)
    results = []
    for spec in config.sources:
        sim, source = sims[spec.path], sources[spec.path]
        diffs: list[Difference] = [replace(d, check=CHECK) for d in role_findings(source, spec.role)]
        diffs.extend(sim.findings)
        diffs.extend(_duplicates(sim, spec.path))
        notes = list(sim.notes)
        table_diffs: list[Difference] = []
        for name, got in sorted(sim.objects.items()):
            holder, want = reference.get(name, (spec.path, got))
            if holder == spec.path:
                continue
            if want.undecidable or got.undecidable:
                if got.undecidable and not any(n.object == name and n.why == got.undecidable for n in notes):
                    notes.append(Note(name, spec.path, got.line, got.undecidable))
                continue
            # A later ALTER leaves the end state to the engine, but the CREATE itself still has to match.
            table_diffs.extend(replace(d, source=spec.path, line=got.line, check=CHECK)
                               for d in compare_definitions(want, got))
        view_diffs, view_notes = _view_types(sim, canon_objects, spec.path, table_diffs)
        diffs.extend(table_diffs + view_diffs)
        notes.extend(view_notes)
        missing = tuple(t for t in spec.must_define if t not in sim.objects)
        results.append(StaticSource(spec.path, spec.role, tuple(diffs), missing, tuple(notes), source.warnings,
                                    tuple(sorted(sim.objects))))
    return StaticReport(config.canonical, config.key_tables, tuple(results), _variants(config, sims))


def _variants(config: Config, sims: dict[str, Simulation]) -> dict[str, tuple[Variant, ...]]:
    """Group every CREATE of each object by its canonical form; keep objects with more than one."""
    groups: dict[str, dict[Definition, list[Definition]]] = {}
    for spec in config.sources:
        for d in sims[spec.path].definitions:
            if not d.undecidable:
                groups.setdefault(d.object, {}).setdefault(d, []).append(d)
    out = {}
    canon_objects = sims[config.canonical].objects
    for name in sorted(groups):
        if len(groups[name]) < 2:
            continue
        reference = canon_objects.get(name)
        variants = [Variant(rep, tuple(x.where() for x in members), reference is not None and rep == reference)
                    for rep, members in groups[name].items()]
        variants.sort(key=lambda v: not v.canonical)
        out[name] = tuple(variants)
    return out


def read_sources(config: Config) -> dict[str, Source]:
    """Read every configured source; an unreadable one raises SourceError naming it."""
    return {spec.path: read_source(spec.file, spec.path) for spec in config.sources}


def validate(config: Config) -> StaticReport:
    """Read, check, and take the inventory of unconfigured table-creating .sql files under the root."""
    import importlib.util

    from chconform.errors import EnvironmentUnusable
    from chconform.checks.inventory import unconfigured_sources

    if importlib.util.find_spec("sqlglot") is None:
        raise EnvironmentUnusable("the static validator needs sqlglot: pip install -e . (or run `make validate`)")
    report = check_sources(config, read_sources(config))
    stray = tuple(
        Difference(path, "unconfigured_source", "configured as a [[source]]", "creates a table but is not configured",
                   source=path, check=CHECK)
        for path in unconfigured_sources(config)
    )
    return replace(report, unconfigured=stray)
