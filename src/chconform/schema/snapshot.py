"""System tables → Snapshot. Normalises only what differs without meaning (UUIDs, inner-table names)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from typing import Any, Callable

from chconform.model import Column, Index, Snapshot, Table
from chconform.schema.queries import snapshot_query

__all__ = ["take_snapshot", "build_snapshot", "split_engine_full", "snapshot_query", "normalize_key"]

_KINDS = {"View": "view", "MaterializedView": "materialized_view", "Dictionary": "dictionary",
          "LiveView": "view", "WindowView": "view"}
_CLAUSES = ("PARTITION BY", "PRIMARY KEY", "ORDER BY", "SAMPLE BY", "TTL", "SETTINGS", "COMMENT")


def take_snapshot(query: Callable[[str], list[dict[str, Any]]], access: bool = False) -> Snapshot:
    """Four set-based catalog queries, whatever the number of tables.

    `access=True` (backends with access storage) adds users, roles and grants,
    leaving out the user the snapshot is taken as (the harness's own login).
    """
    snap = build_snapshot(
        databases=query(snapshot_query("databases")),
        tables=query(snapshot_query("tables")),
        columns=query(snapshot_query("columns")),
        indices=query(snapshot_query("indices")),
    )
    if not access:
        return snap
    from dataclasses import replace

    from chconform.schema.access import take_access

    me = query("SELECT currentUser() AS name")
    return replace(snap, grants=take_access(query, skip_user=me[0]["name"] if me else None))


def _outside_quotes(text: str) -> Iterator[tuple[int, str, int]]:
    """(offset, character, bracket depth after it) for every character outside quotes.

    One scanner for the three readers below; the texts are ClickHouse's own printouts, not user SQL.
    """
    depth, quote, escaped = 0, "", False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "'`\"":
            quote = ch
            continue
        depth += (ch in "([") - (ch in ")]")
        yield i, ch, depth


def split_engine_full(engine_full: str) -> dict[str, str]:
    """Split `Engine(args) PARTITION BY … SETTINGS …` at top-level clause keywords."""
    parts: dict[str, str] = {}
    key, start, resume = "ENGINE", 0, 0
    for i, ch, depth in _outside_quotes(engine_full):
        if i < resume or depth != 0 or ch != " ":
            continue
        nxt = next((c for c in _CLAUSES if engine_full.startswith(c + " ", i + 1)), None)
        if nxt:
            parts[key] = engine_full[start:i].strip()
            key, start = nxt, i + 1 + len(nxt)
            resume = start
    parts[key] = engine_full[start:].strip()
    return parts


def _top_level(text: str) -> list[str]:
    """Split at commas outside brackets and quotes."""
    parts, start = [], 0
    for i, ch, depth in _outside_quotes(text):
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _wrapped(element: str) -> bool:
    """True if the first `(` closes at the very last character."""
    if not (element.startswith("(") and element.endswith(")")):
        return False
    first_close = next((i for i, _, depth in _outside_quotes(element) if depth == 0), None)
    return first_close == len(element) - 1


def _unwrap(element: str) -> str:
    """`((x))` → `x`: parentheses around one whole expression change nothing."""
    while _wrapped(element) and len(_top_level(element[1:-1])) == 1 and element[1:-1].strip():
        element = element[1:-1].strip()
    return element


def normalize_key(key: str) -> str:
    """`(a)`, `((a), b)` and `a, b` are keys ClickHouse builds the same; print them one way."""
    if not key:
        return key
    elements = _top_level(key)
    if len(elements) == 1:
        inner = _unwrap(elements[0])
        if inner != elements[0] and len(_top_level(inner)) > 1:
            elements = _top_level(inner)
        else:
            elements = [inner]
    return ", ".join(_unwrap(e) for e in elements)


def build_snapshot(
    databases: list[dict[str, Any]],
    tables: list[dict[str, Any]],
    columns: list[dict[str, Any]],
    indices: list[dict[str, Any]],
) -> Snapshot:
    """Pure: rows of the four catalog queries → one immutable Snapshot."""
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
                codec=r["compression_codec"],
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
        engine = clauses.get("ENGINE", "") if kind in ("table", "materialized_view") else r["engine"]
        key = (r["database"], r["name"])
        result.append(
            Table(
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
                columns=tuple(cols.get(key, ())),
                indices=tuple(idx.get(key, ())),
            )
        )
    return Snapshot(databases=tuple(sorted(r["name"] for r in databases)), tables=tuple(result))
