from __future__ import annotations

import pytest

from chconform.schema.snapshot import build_snapshot, normalize_key, split_engine_full


def test_split_engine_full() -> None:
    parts = split_engine_full(
        "ReplacingMergeTree(_ver) PARTITION BY toYYYYMM(d) ORDER BY (a, b) TTL d + toIntervalDay(1) "
        "SETTINGS index_granularity = 8192, min_bytes_for_wide_part = 0")
    assert parts == {
        "ENGINE": "ReplacingMergeTree(_ver)",
        "PARTITION BY": "toYYYYMM(d)",
        "ORDER BY": "(a, b)",
        "TTL": "d + toIntervalDay(1)",
        "SETTINGS": "index_granularity = 8192, min_bytes_for_wide_part = 0",
    }


def test_split_ignores_keywords_inside_strings_and_parentheses() -> None:
    parts = split_engine_full("MergeTree ORDER BY (a, 'x ORDER BY y') SETTINGS s = 1")
    assert parts["ORDER BY"] == "(a, 'x ORDER BY y')"


def _table(name: str, engine: str, **kw: str) -> dict[str, str]:
    row = dict(database="z", name=name, engine=engine, engine_full="", partition_key="", sorting_key="",
               primary_key="", sampling_key="", as_select="", comment="", uuid="u-" + name, create_table_query="")
    row.update(kw)
    return row


def test_materialized_view_takes_its_inner_table_engine_and_hides_the_inner_table() -> None:
    tables = [
        _table(".inner_id.u-mv", "ReplacingMergeTree", engine_full="ReplacingMergeTree(v) ORDER BY a SETTINGS index_granularity = 8192",
               sorting_key="a", primary_key="a"),
        _table("mv", "MaterializedView", as_select="SELECT a, v FROM z.s"),
    ]
    snap = build_snapshot([{"name": "z"}], tables, [], [])
    assert snap.names == ["z.mv"]
    mv = snap.table("z.mv")
    assert mv is not None
    assert (mv.kind, mv.engine, mv.sorting_key, mv.view_query) == ("materialized_view", "ReplacingMergeTree(v)", "a", "SELECT a, v FROM z.s")


def test_uuids_do_not_make_snapshots_differ() -> None:
    inner = dict(engine_full="Memory")
    a = build_snapshot([], [_table(".inner_id.u1", "Memory", **inner), _table("mv", "MaterializedView", uuid="u1")], [], [])
    b = build_snapshot([], [_table(".inner_id.u2", "Memory", **inner), _table("mv", "MaterializedView", uuid="u2")], [], [])
    assert a == b


@pytest.mark.parametrize(
    ("key", "normal"),
    [("(x)", "x"), ("((x))", "x"), ("(x), y", "x, y"), ("x, y", "x, y"), ("(toYYYYMM(d))", "toYYYYMM(d)"),
     ("tuple()", "tuple()"), ("(a) + (b)", "(a) + (b)"), ("(a + b) * c", "(a + b) * c"), ("f(x)", "f(x)"),
     ("(x = ')')", "x = ')'"), ("", "")],
)
def test_normalize_key_removes_only_meaningless_parentheses(key: str, normal: str) -> None:
    assert normalize_key(key) == normal
