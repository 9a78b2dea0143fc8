"""System tables → Snapshot. Normalises only what differs without meaning (UUIDs, inner-table names)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chconform.model import Column, Function, Index, Snapshot, Table
from chconform.schema.create_text import (
    CreateText,
    outside_quotes,
    parse_create,
    split_top_level,
)
from chconform.schema.queries import snapshot_query

__all__ = ["build_snapshot", "normalize_key", "snapshot_query", "split_engine_full", "take_snapshot"]

_KINDS = {"View": "view", "MaterializedView": "materialized_view", "Dictionary": "dictionary",
          "LiveView": "view", "WindowView": "view"}
_CLAUSES = ("PARTITION BY", "PRIMARY KEY", "ORDER BY", "SAMPLE BY", "TTL", "SETTINGS", "COMMENT")


def take_snapshot(query: Callable[[str], list[dict[str, Any]]], access: bool = False,
                  functions: bool = True) -> Snapshot:
    """Four or five set-based catalog queries, whatever the number of tables.

    `access=True` (backends with access storage) adds users, roles and grants,
    leaving out the user the snapshot is taken as (the harness's own login).
    `functions=False` skips the SQL functions: system.functions lists every function with its
    documentation (140 ms on 26.9), so a fresh instance whose statements create none is not asked.
    """
    snap = build_snapshot(
        databases=query(snapshot_query("databases")),
        tables=query(snapshot_query("tables")),
        columns=query(snapshot_query("columns")),
        indices=query(snapshot_query("indices")),
        functions=query(snapshot_query("functions")) if functions else [],
    )
    if not access:
        return snap
    from chconform.schema.access import take_access

    me = query("SELECT currentUser() AS name")
    return replace(snap, grants=take_access(query, skip_user=me[0]["name"] if me else None))


def split_engine_full(engine_full: str) -> dict[str, str]:
    """Split `Engine(args) PARTITION BY … SETTINGS …` at top-level clause keywords."""
    parts: dict[str, str] = {}
    key, start, resume = "ENGINE", 0, 0
    for i, ch, depth in outside_quotes(engine_full):
        if i < resume or depth != 0 or ch != " ":
            continue
        nxt = next((c for c in _CLAUSES if engine_full.startswith(c + " ", i + 1)), None)
        if nxt:
            parts[key] = engine_full[start:i].strip()
            key, start = nxt, i + 1 + len(nxt)
            resume = start
    parts[key] = engine_full[start:].strip()
    return parts


def _wrapped(element: str) -> bool:
    """True if the first `(` closes at the very last character."""
    if not (element.startswith("(") and element.endswith(")")):
        return False
    first_close = next((i for i, _, depth in outside_quotes(element) if depth == 0), None)
    return first_close == len(element) - 1


def _unwrap(element: str) -> str:
    """`((x))` → `x`: parentheses around one whole expression change nothing."""
    while _wrapped(element) and len(split_top_level(element[1:-1])) == 1 and element[1:-1].strip():
        element = element[1:-1].strip()
    return element


def _inside(clause: str) -> str:
    """`(MIN 0 MAX 300)` → `MIN 0 MAX 300`: a dictionary clause's own parentheses."""
    return clause[1:-1].strip() if _wrapped(clause) else clause


def _sorted_parameters(source: str) -> str:
    """`CLICKHOUSE(TABLE 's' DB 'z')` → `CLICKHOUSE(DB 'z' TABLE 's')`: a dictionary source's KEY value pairs
    mean the same in any order (the engine prints them as written). Anything else is left as it is."""
    name, paren, rest = source.partition("(")
    if not paren or not rest.endswith(")") or not name.isidentifier():
        return source
    inner = rest[:-1]
    cuts = [i for i, ch, depth in outside_quotes(inner) if ch == " " and depth == 0]
    words = [inner[a + 1 : b].strip() for a, b in zip([-1, *cuts], [*cuts, len(inner)])]
    if len(words) % 2 or not all(k.isidentifier() for k in words[::2]):
        return source
    pairs = sorted(zip(words[::2], words[1::2]), key=lambda kv: kv[0].upper())
    return f"{name}({' '.join(f'{k} {v}' for k, v in pairs)})"


def normalize_key(key: str) -> str:
    """`(a)`, `((a), b)` and `a, b` are keys ClickHouse builds the same; print them one way."""
    if not key:
        return key
    elements = split_top_level(key)
    if len(elements) == 1:
        inner = _unwrap(elements[0])
        if inner != elements[0] and len(split_top_level(inner)) > 1:
            elements = split_top_level(inner)
        else:
            elements = [inner]
    return ", ".join(_unwrap(e) for e in elements)


def build_snapshot(
    databases: list[dict[str, Any]],
    tables: list[dict[str, Any]],
    columns: list[dict[str, Any]],
    indices: list[dict[str, Any]],
    functions: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> Snapshot:
    """Pure: rows of the catalog queries → one immutable Snapshot.

    What no system table lists on every release (column TTL and statistics, constraints, projections,
    a view's TO table, a dictionary's clauses) comes from each object's own CREATE text.
    """
    cols: dict[tuple[str, str], list[Column]] = defaultdict(list)
    for r in columns:
        cols[(r["database"], r["table"])].append(
            Column(
                name=r["name"],
                position=int(r["position"]),
                type=r["type"],
                default_kind=r["default_kind"],
                default_expression=r["default_expression"],
                comment=r["comment"],
                codec=_codec(r["compression_codec"], r["type"]),
            )
        )
    idx: dict[tuple[str, str], list[Index]] = defaultdict(list)
    for r in indices:
        idx[(r["database"], r["table"])].append(Index(r["name"], r["type_full"], r["expr"], int(r["granularity"])))
    inner = {r["name"]: r for r in tables if r["name"].startswith(".inner")}
    result = []
    for r in tables:
        if r["name"].startswith(".inner"):
            continue
        kind = _KINDS.get(r["engine"], "table")
        storage = r
        if kind == "materialized_view":
            storage = inner.get(f".inner_id.{r['uuid']}") or inner.get(f".inner.{r['name']}") or {}
        clauses = split_engine_full(storage.get("engine_full", "")) if storage else {}
        engine = _engine_name(clauses.get("ENGINE", "")) if kind in ("table", "materialized_view") else r["engine"]
        text = parse_create(r.get("create_table_query", ""))
        key = (r["database"], r["name"])
        table = Table(
            database=r["database"],
            name=r["name"],
            kind=kind,
            engine=engine or (r["engine"] if kind == "table" else ""),
            partition_key=normalize_key(storage.get("partition_key", "")) if storage else "",
            sorting_key=normalize_key(storage.get("sorting_key", "")) if storage else "",
            primary_key=normalize_key(storage.get("primary_key", "")) if storage else "",
            sampling_key=normalize_key(storage.get("sampling_key", "")) if storage else "",
            ttl=clauses.get("TTL", ""),
            settings=clauses.get("SETTINGS", ""),
            comment=r.get("comment", ""),
            view_query=r.get("as_select", "") if kind != "table" else "",
            target=text.target,
            columns=tuple(_with_text(c, text) for c in cols.get(key, ())),
            indices=tuple(idx.get(key, ()) or idx.get((r["database"], storage.get("name", "")), ())),
            constraints=text.constraints,
            projections=text.projections,
            create_rest=text.rest,
        )
        result.append(_dictionary(table, text) if kind == "dictionary" else table)
    return Snapshot(
        databases=tuple(sorted(r["name"] for r in databases)),
        tables=tuple(result),
        functions=tuple(Function(r["name"], r["create_query"]) for r in sorted(functions, key=lambda f: f["name"])),
    )


_GORILLA_WIDTH = {"Float32": "4", "Float64": "8"}


def _codec(codec: str, column_type: str) -> str:
    """`Gorilla(8)` on a Float64 as 26.x prints it, `Gorilla` as 24.8 does: the width the type implies is dropped."""
    base = column_type
    for wrapper in ("LowCardinality(", "Nullable(", "Nullable("):
        base = base[len(wrapper):-1] if base.startswith(wrapper) and base.endswith(")") else base
    width = _GORILLA_WIDTH.get(base)
    return codec.replace(f"Gorilla({width})", "Gorilla") if width else codec


def _engine_name(engine: str) -> str:
    """`Null` as 26.x quotes an engine named like a keyword, Null as 24.8 does: one name (same engine)."""
    name, paren, rest = engine.partition("(")
    if len(name) > 2 and name[0] == name[-1] == "`" and name[1:-1].replace("_", "").isalnum():
        return name[1:-1] + paren + rest
    return engine


def _with_text(column: Column, text: CreateText) -> Column:
    """A column with what only the CREATE text says of it (TTL, statistics; a dictionary attribute's default)."""
    said = text.columns.get(column.name)
    if said is None:
        return column
    return replace(
        column,
        ttl=said.ttl,
        statistics=said.statistics,
        default_kind=column.default_kind or said.default_kind,
        default_expression=column.default_expression or said.default_expression,
        options=said.options,
    )


def _dictionary(table: Table, text: CreateText) -> Table:
    """A dictionary's PRIMARY KEY, SOURCE, LAYOUT, LIFETIME, RANGE and SETTINGS from its CREATE text."""
    clause = text.clauses.get
    return replace(
        table,
        primary_key=normalize_key(clause("PRIMARY KEY", "")),
        source=_sorted_parameters(_inside(clause("SOURCE", ""))),
        layout=_inside(clause("LAYOUT", "")),
        lifetime=_inside(clause("LIFETIME", "")),
        range=_inside(clause("RANGE", "")),
        settings=_inside(clause("SETTINGS", "")),
    )
