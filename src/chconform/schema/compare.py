"""Snapshot × Snapshot → [Difference]: a pure function in a sorted, deterministic order."""

from __future__ import annotations

from collections.abc import Iterable

from chconform.model import Column, Difference, Snapshot, Table

__all__ = ["compare", "compare_tables", "TABLE_ASPECTS", "column_text"]

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
)
_COLUMN_ASPECTS = (
    ("column_type", lambda c: c.type),
    ("column_default", lambda c: f"{c.default_kind} {c.default_expression}".strip()),
    ("column_comment", lambda c: c.comment),
    ("column_codec", lambda c: c.codec),
)


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
    """Differences of `actual` from `canonical` over `tables` (default: those both define).

    With `missing=True`, a table the canon has and `actual` lacks is a `missing_table`
    and one only `actual` has is an `extra_table` (the drift check of a live server).
    """
    if tables is None:
        tables = canonical.names if missing else set(canonical.names) & set(actual.names)
    names = sorted(set(tables))
    out: list[Difference] = []
    for name in names:
        want, got = canonical.table(name), actual.table(name)
        if want is not None and got is not None:
            out.extend(compare_tables(want, got))
        elif missing and want is not None:
            out.append(Difference(name, "missing_table", canonical=want.kind, actual="absent"))
    if missing:
        extra = sorted(set(actual.names) - set(canonical.names))
        out.extend(Difference(n, "extra_table", canonical="absent", actual=actual.table(n).kind) for n in extra)  # type: ignore[union-attr]
    from chconform.schema.access import compare_access  # users, roles, grants: only where both sides captured them

    out.extend(compare_access(canonical, actual, missing=missing))
    return out


def compare_tables(want: Table, got: Table) -> list[Difference]:
    """Every aspect in which two definitions of one table differ."""
    name = want.fqn
    out = [
        Difference(name, aspect, str(getattr(want, attr)), str(getattr(got, attr)))
        for aspect, attr in TABLE_ASPECTS
        if getattr(want, attr) != getattr(got, attr)
    ]
    is_view = want.kind in ("view", "materialized_view")
    want_cols = {c.name: c for c in want.columns}
    got_cols = {c.name: c for c in got.columns}
    for c in want.columns:
        if c.name not in got_cols:
            out.append(Difference(name, "view_columns" if is_view else "column_missing", column_text(c), "absent", c.name))
    for c in got.columns:
        if c.name not in want_cols:
            out.append(Difference(name, "view_columns" if is_view else "column_extra", "absent", column_text(c), c.name))
    for c in want.columns:
        other = got_cols.get(c.name)
        if other is None:
            continue
        for aspect, value in _COLUMN_ASPECTS:
            if value(c) != value(other):
                label = "view_columns" if is_view and aspect == "column_type" else aspect
                out.append(Difference(name, label, value(c), value(other), c.name))
    shared_want = [c.name for c in want.columns if c.name in got_cols]
    shared_got = [c.name for c in got.columns if c.name in want_cols]
    if shared_want != shared_got:
        out.append(Difference(name, "column_order", ", ".join(shared_want), ", ".join(shared_got)))
    if want.indices != got.indices:
        out.append(Difference(name, "indices", _indices(want), _indices(got)))
    return out


def _indices(t: Table) -> str:
    return "; ".join(f"{i.name} {i.expr} TYPE {i.type_full} GRANULARITY {i.granularity}" for i in t.indices) or "none"
