"""Comparing two Definitions aspect by aspect, in the live check's vocabulary (pure)."""

from __future__ import annotations

from chconform.model import Difference
from chconform.schema.compare import token_diff
from chconform.schema.static.definition import ColumnSpec, Definition
from chconform.schema.static.tokens import _join

__all__ = ["compare_definitions"]


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
        ("sql_security", d.security, d.security.text),
    ]


def _column_aspects(c: ColumnSpec) -> list[tuple[str, object, str]]:
    """(aspect, comparison value, shown value) of one column."""
    return [
        ("column_type", c.type, c.type),
        ("column_default", (c.default_kind, c.default), c.default_text),
        ("column_comment", c.comment, c.comment),
        ("column_codec", c.codec, c.codec.text),
        ("column_ttl", c.ttl, c.ttl.text),
        ("column_statistics", c.statistics, c.statistics.text),
        ("column_settings", c.settings, c.settings.text),
    ]


def compare_definitions(want: Definition, got: Definition) -> list[Difference]:
    """Every aspect in which `got` differs from `want`, named as the live check names it."""
    name = want.object
    if want.kind == "function" or got.kind == "function":  # a SQL function: its whole text, as the live check
        return [] if want.body == got.body else [Difference(name, "function", want.body.text, got.body.text)]
    # A PRIMARY KEY nobody wrote is the ORDER BY: its difference is the sorting_key's (as the live check says).
    echo = want.primary_key == want.sorting_key and got.primary_key == got.sorting_key
    out = [Difference(name, aspect, *(token_diff(a_shown, b_shown) if aspect == "view_query" else (a_shown, b_shown)))
           for (aspect, a, a_shown), (_, b, b_shown) in zip(_table_aspects(want), _table_aspects(got))
           if a != b and not (echo and aspect == "primary_key")]
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
            out.extend(Difference(name, "view_columns" if is_view and aspect == "column_type" else aspect, a_shown, b_shown,
                                  c.name)  # a view's column type is one of its columns, as the live check names it
                       for (aspect, a, a_shown), (_, b, b_shown) in zip(_column_aspects(c), _column_aspects(other))
                       if a != b)
    shared_want = [c.name for c in want.columns if c.name in got_cols]
    shared_got = [c.name for c in got.columns if c.name in want_cols]
    if shared_want != shared_got:
        out.append(Difference(name, "column_order", ", ".join(shared_want), ", ".join(shared_got)))
    return out
