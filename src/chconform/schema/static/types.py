"""Column types: the name ClickHouse reports for a type spelling (sqlglot knows the aliases)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chconform.schema.static.tokens import _code, _quote, canon
from chconform.sql.source import tokenize

__all__ = ["canonical_type"]


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
    if kind in (T.DATETIME, T.TIMESTAMP) and params and _param(params[0]).isdigit():
        return f"DateTime64({', '.join(_param(p) for p in params)})"  # DateTime(3): a precision makes it DateTime64
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
