"""Snapshot × Snapshot → [Difference]: a pure function in a sorted, deterministic order."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import replace

from chconform.model import Column, Difference, Snapshot, Table
from chconform.schema.create_text import split_top_level

__all__ = ["ASPECTS", "TABLE_ASPECTS", "column_text", "compare", "compare_functions", "compare_tables", "token_diff"]

# (aspect, attribute) of a Table compared as plain values, in report order.
TABLE_ASPECTS = (
    ("kind", "kind"),
    ("engine", "engine"),
    ("partition_key", "partition_key"),
    ("sorting_key", "sorting_key"),
    ("primary_key", "primary_key"),
    ("sampling_key", "sampling_key"),
    ("ttl", "ttl"),
    ("settings", "settings"),
    ("table_comment", "comment"),
    ("view_query", "view_query"),
    ("mv_target", "target"),
    ("dictionary_source", "source"),
    ("dictionary_layout", "layout"),
    ("dictionary_lifetime", "lifetime"),
    ("dictionary_range", "range"),
)
_COLUMN_ASPECTS = (
    ("column_type", lambda c: c.type),
    ("column_default", lambda c: f"{c.default_kind} {c.default_expression}".strip()),
    ("column_comment", lambda c: c.comment),
    ("column_codec", lambda c: c.codec),
    ("column_ttl", lambda c: c.ttl),
    ("column_statistics", lambda c: c.statistics),
    ("column_options", lambda c: c.options),
)
# Table elements compared as a whole: (aspect, attribute); shown one per `; `, `none` when empty.
_ELEMENT_ASPECTS = (("constraints", "constraints"), ("projections", "projections"))
# Every aspect a difference can carry (each one a rule id [rules] may set a severity for).
ASPECTS = frozenset({a for a, _ in TABLE_ASPECTS} | {a for a, _ in _COLUMN_ASPECTS} | {a for a, _ in _ELEMENT_ASPECTS}
                    | {"replication", "view_columns", "column_missing", "column_extra", "column_order", "indices",
                       "create_query", "missing_table", "extra_table", "function", "missing_function",
                       "extra_function"})


def column_text(c: Column) -> str:
    default = f" {c.default_kind} {c.default_expression}" if c.default_kind else ""
    return f"{c.name} {c.type}{default}"


def compare(
    canonical: Snapshot,
    actual: Snapshot,
    tables: Iterable[str] | None = None,
    *,
    missing: bool = False,
) -> list[Difference]:
    """Differences of `actual` from `canonical` over `tables` (default: the canon's).

    A table only one side defines is skipped, unless `missing=True`: then a table the canon has and
    `actual` lacks is a `missing_table` and one only `actual` has is an `extra_table` (the drift check
    of a live server).
    """
    names = sorted(set(canonical.names if tables is None else tables))
    out: list[Difference] = []
    for name in names:
        want, got = canonical.table(name), actual.table(name)
        if want is not None and got is not None:
            if _distributed(want) != _distributed(got):  # one side fronts a local table with Distributed
                want, got = fronted(canonical, want), fronted(actual, got)
            out.extend(compare_tables(want, got))
        elif missing and want is not None:
            out.append(Difference(name, "missing_table", canonical=want.kind, actual="absent"))
    if missing:
        extra = sorted(set(actual.names) - set(canonical.names))
        out.extend(Difference(n, "extra_table", canonical="absent", actual=actual.table(n).kind) for n in extra)  # type: ignore[union-attr]
    out.extend(compare_functions(canonical, actual, missing=missing))
    # users, roles, grants: only where both sides captured them
    from chconform.schema.access import compare_access

    out.extend(compare_access(canonical, actual, missing=missing))
    return out


def _distributed(t: Table) -> bool:
    return t.engine.startswith("Distributed(")


def fronted(snapshot: Snapshot, table: Table) -> Table:
    """A Distributed table as the local table it fronts, under its own name; any other table as it is.

    On one node a `Distributed(cluster, db, local)` table holds and returns exactly the local table's rows,
    so where the other variant of the schema has a plain table by that name, the local table is what it is
    compared with (a clustered and an unclustered variant of one schema)."""
    if not _distributed(table):
        return table
    args = [a.strip().strip("'\"`") for a in split_top_level(table.engine[len("Distributed("):-1])]
    local = snapshot.table(f"{args[1]}.{args[2]}") if len(args) >= 3 else None
    if local is None or _distributed(local):
        return table
    return replace(local, database=table.database, name=table.name)


def compare_functions(canonical: Snapshot, actual: Snapshot, *, missing: bool = False) -> list[Difference]:
    """SQL functions both define that differ; with `missing=True`, those only one side defines too."""
    want = {f.name: f.create_query for f in canonical.functions}
    got = {f.name: f.create_query for f in actual.functions}
    out = [Difference(name, "function", want[name], got[name]) for name in sorted(set(want) & set(got))
           if want[name] != got[name]]
    if missing:
        out.extend(Difference(n, "missing_function", want[n], "absent") for n in sorted(set(want) - set(got)))
        out.extend(Difference(n, "extra_function", "absent", got[n]) for n in sorted(set(got) - set(want)))
    return out


def compare_tables(want: Table, got: Table) -> list[Difference]:
    """Every aspect in which two definitions of one table differ."""
    name = want.fqn
    out = [
        _table_difference(name, aspect, str(getattr(want, attr)), str(getattr(got, attr)))
        for aspect, attr in TABLE_ASPECTS
        if getattr(want, attr) != getattr(got, attr) and not _echoes_sorting_key(aspect, want, got)
    ]
    if want.replication and got.replication and want.replication != got.replication:
        out.append(Difference(name, "replication", want.replication, got.replication))
    is_view = want.kind in ("view", "materialized_view")
    missing, extra = ("view_columns", "view_columns") if is_view else ("column_missing", "column_extra")
    want_cols = {c.name: c for c in want.columns}
    got_cols = {c.name: c for c in got.columns}
    for c in want.columns:
        if c.name not in got_cols:
            out.append(Difference(name, missing, column_text(c), "absent", c.name))
    for c in got.columns:
        if c.name not in want_cols:
            out.append(Difference(name, extra, "absent", column_text(c), c.name))
    for c in want.columns:
        other = got_cols.get(c.name)
        if other is None:
            continue
        for aspect, value in _COLUMN_ASPECTS:
            if value(c) != value(other) and not _codec_follows_type(aspect, c, other):
                label = "view_columns" if is_view and aspect == "column_type" else aspect
                out.append(Difference(name, label, value(c), value(other), c.name))
    shared_want = [c.name for c in want.columns if c.name in got_cols]
    shared_got = [c.name for c in got.columns if c.name in want_cols]
    key_moved = want.kind == "dictionary" and want.primary_key != got.primary_key  # a dictionary lists its key first
    if shared_want != shared_got and not key_moved:
        out.append(Difference(name, "column_order", ", ".join(shared_want), ", ".join(shared_got)))
    if want.indices != got.indices:
        out.append(Difference(name, "indices", _indices(want), _indices(got)))
    for aspect, attr in _ELEMENT_ASPECTS:
        if getattr(want, attr) != getattr(got, attr):
            out.append(Difference(name, aspect, _elements(getattr(want, attr)), _elements(getattr(got, attr))))
    if not out and want.create_rest != got.create_rest:  # the catch-all: only what nothing modelled explains
        out.append(Difference(name, "create_query", want.create_rest, got.create_rest))
    return out


def _elements(items: tuple[object, ...]) -> str:
    return "; ".join(map(str, items)) or "none"


_SIZED_CODEC = re.compile(r"\b(Delta|DoubleDelta|Gorilla)\(\d+\)")


def _codec_follows_type(aspect: str, want: Column, got: Column) -> bool:
    """A codec differing only in the byte width the engine derives from the type (`Delta` is Delta(4) on
    DateTime, Delta(8) on DateTime64): the type's difference, already shown."""
    return (aspect == "column_codec" and want.type != got.type
            and _SIZED_CODEC.sub(r"\1", want.codec) == _SIZED_CODEC.sub(r"\1", got.codec))


def _indices(t: Table) -> str:
    return "; ".join(f"{i.name} {i.expr} TYPE {i.type_full} GRANULARITY {i.granularity}" for i in t.indices) or "none"


def _echoes_sorting_key(aspect: str, want: Table, got: Table) -> bool:
    """A PRIMARY KEY nobody wrote is the ORDER BY: its difference is the sorting_key's, already shown."""
    return (aspect == "primary_key" and want.primary_key == want.sorting_key
            and got.primary_key == got.sorting_key)


def _table_difference(name: str, aspect: str, want: str, got: str) -> Difference:
    if aspect == "view_query":
        want, got = token_diff(want, got)
    return Difference(name, aspect, want, got)


_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|`[^`]*`|\"[^\"]*\"|\w+|>=|<=|!=|<>|==|\|\||->|::|\S")
_CONTEXT = 3  # tokens shown on each side of a change


def token_diff(want: str, got: str, limit: int = 400) -> tuple[str, str]:
    """Two long texts reduced to the tokens that differ, a few tokens of context around each change.

    A view query is often kilobytes on one line; what a reader needs is `WHERE x > 1` against
    `WHERE x > 2`, with "…" where equal text was left out.
    """
    if len(want) + len(got) <= 160:
        return want, got
    a, b = _TOKEN.findall(want), _TOKEN.findall(got)
    groups = list(difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(_CONTEXT))
    if not groups:  # difflib yields no group for equal tokens (never one holding only an equal run)
        return want, got  # equal tokens (the texts differ in spacing only): show them whole

    def side(tokens: list[str], lo: int, hi: int) -> str:
        spans = [(int(g[0][lo]), int(g[-1][hi])) for g in groups]
        parts = ["…"] if spans[0][0] > 0 else []
        for k, (begin, stop) in enumerate(spans):
            if k:
                parts.append("…")
            parts.append(" ".join(tokens[begin:stop]) or "∅")
        if spans[-1][1] < len(tokens):
            parts.append("…")
        return " ".join(parts)

    return _short(side(a, 1, 2), limit), _short(side(b, 3, 4), limit)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
