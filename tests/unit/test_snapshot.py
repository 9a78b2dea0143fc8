from __future__ import annotations

import pytest

from chconform.schema.create_text import parse_create, split_clauses
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
    row = {"database": "z", "name": name, "engine": engine, "engine_full": "", "partition_key": "", "sorting_key": "",
           "primary_key": "", "sampling_key": "", "as_select": "", "comment": "", "uuid": "u-" + name,
           "create_table_query": ""}
    row.update(kw)
    return row


def test_materialized_view_takes_its_inner_table_engine_and_hides_the_inner_table() -> None:
    tables = [
        _table(".inner_id.u-mv", "ReplacingMergeTree",
               engine_full="ReplacingMergeTree(v) ORDER BY a SETTINGS index_granularity = 8192",
               sorting_key="a", primary_key="a"),
        _table("mv", "MaterializedView", as_select="SELECT a, v FROM z.s"),
    ]
    snap = build_snapshot([{"name": "z"}], tables, [], [])
    assert snap.names == ["z.mv"]
    mv = snap.table("z.mv")
    assert mv is not None
    assert (mv.kind, mv.engine, mv.sorting_key, mv.view_query) == (
        "materialized_view", "ReplacingMergeTree(v)", "a", "SELECT a, v FROM z.s")


def test_uuids_do_not_make_snapshots_differ() -> None:
    inner = {"engine_full": "Memory"}
    a = build_snapshot([], [_table(".inner_id.u1", "Memory", **inner), _table("mv", "MaterializedView", uuid="u1")],
                       [], [])
    b = build_snapshot([], [_table(".inner_id.u2", "Memory", **inner), _table("mv", "MaterializedView", uuid="u2")],
                       [], [])
    assert a == b


@pytest.mark.parametrize(
    ("key", "normal"),
    [("(x)", "x"), ("((x))", "x"), ("(x), y", "x, y"), ("x, y", "x, y"), ("(toYYYYMM(d))", "toYYYYMM(d)"),
     ("tuple()", "tuple()"), ("(a) + (b)", "(a) + (b)"), ("(a + b) * c", "(a + b) * c"), ("f(x)", "f(x)"),
     ("(x = ')')", "x = ')'"), ("", "")],
)
def test_normalize_key_removes_only_meaningless_parentheses(key: str, normal: str) -> None:
    assert normalize_key(key) == normal


# --- what only the CREATE text says ------------------------------------------------------------------

TABLE_TEXT = (
    "CREATE TABLE z.t (`id` UInt64 COMMENT 'the id', `v` String DEFAULT 'a, b' CODEC(ZSTD(1)) STATISTICS(tdigest) "
    "TTL d + toIntervalDay(30) SETTINGS (max_compress_block_size = 65536), `d` Date, "
    "INDEX ix v TYPE bloom_filter(0.01) GRANULARITY 2, CONSTRAINT c1 CHECK id > 0, "
    "CONSTRAINT `c 2` ASSUME d > '2000-01-01', PROJECTION p (SELECT id, d ORDER BY d)) "
    "ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = 8192 COMMENT 'tbl'"
)


def test_column_ttl_and_statistics_come_from_the_create_text() -> None:
    text = parse_create(TABLE_TEXT)
    v = text.columns["v"]
    assert (v.ttl, v.statistics) == ("d + toIntervalDay(30)", "(tdigest)")
    assert (text.columns["id"].ttl, text.columns["d"].ttl) == ("", "")


def test_constraints_and_projections_come_from_the_create_text() -> None:
    text = parse_create(TABLE_TEXT)
    assert [(c.name, c.kind, c.expr) for c in text.constraints] == [
        ("c1", "CHECK", "id > 0"), ("c 2", "ASSUME", "d > '2000-01-01'")]
    assert [(p.name, p.query) for p in text.projections] == [("p", "(SELECT id, d ORDER BY d)")]


def test_the_rest_holds_only_what_nothing_models() -> None:
    """Column SETTINGS is modelled nowhere: it stays in the rest; engine clauses and comments do not."""
    assert parse_create(TABLE_TEXT).rest == "TABLE `v` SETTINGS (max_compress_block_size = 65536)"
    plain = TABLE_TEXT.replace(" SETTINGS (max_compress_block_size = 65536)", "")
    assert parse_create(plain).rest == "TABLE"
    assert parse_create(plain.replace("ORDER BY id", "ORDER BY (id)")).rest == "TABLE"


def test_uuids_and_the_objects_own_name_are_not_in_the_rest() -> None:
    a = parse_create("CREATE TABLE a.t UUID '8b1a4885-c6ab-4dd7-af10-1406d4a8d681' (`x` UInt8) ENGINE = Memory")
    b = parse_create("CREATE TABLE b.`t 2` (`x` UInt8) ENGINE = Memory")
    assert a.rest == b.rest == "TABLE"


def test_materialized_view_target_and_unmodelled_clauses() -> None:
    text = parse_create("CREATE MATERIALIZED VIEW z.mv REFRESH EVERY 1 HOUR TO z.`tgt` (`id` UInt64) "
                        "DEFINER = alice SQL SECURITY DEFINER AS SELECT id, 1 AS x FROM z.t")
    assert text.target == "z.tgt"
    assert text.rest == "MATERIALIZED VIEW REFRESH EVERY 1 HOUR DEFINER = alice SQL SECURITY DEFINER"
    inner = parse_create("CREATE MATERIALIZED VIEW z.mv (`id` UInt64) ENGINE = MergeTree ORDER BY id "
                         "SETTINGS index_granularity = 8192 COMMENT 'c' AS SELECT id FROM z.t")
    assert (inner.target, inner.rest) == ("", "MATERIALIZED VIEW")


def test_a_view_without_column_list_keeps_its_query_out_of_the_rest() -> None:
    assert parse_create("CREATE VIEW z.v AS SELECT (1) AS x").rest == "VIEW"


def test_dictionary_clauses_and_attributes() -> None:
    text = parse_create(
        "CREATE DICTIONARY z.d (`id` UInt64, `p` UInt64 DEFAULT 0 HIERARCHICAL, `n` String EXPRESSION upper('a') "
        "INJECTIVE) PRIMARY KEY id SOURCE(CLICKHOUSE(DB 'z' TABLE 's')) LIFETIME(MIN 0 MAX 300) LAYOUT(HASHED()) "
        "RANGE(MIN a MAX b) SETTINGS(format_csv_allow_single_quotes = 0) COMMENT 'dc'")
    assert text.clauses == {
        "PRIMARY KEY": "id", "SOURCE": "(CLICKHOUSE(DB 'z' TABLE 's'))", "LIFETIME": "(MIN 0 MAX 300)",
        "LAYOUT": "(HASHED())", "RANGE": "(MIN a MAX b)", "SETTINGS": "(format_csv_allow_single_quotes = 0)",
        "COMMENT": "'dc'"}
    p, n = text.columns["p"], text.columns["n"]
    assert (p.default_kind, p.default_expression, p.options) == ("DEFAULT", "0", "HIERARCHICAL")
    assert (n.default_kind, n.default_expression, n.options) == ("EXPRESSION", "upper('a')", "INJECTIVE")
    assert text.rest == "DICTIONARY"


def test_an_unrecognised_text_is_all_rest() -> None:
    assert parse_create("SOMETHING NEW").rest == "SOMETHING NEW"


def test_split_clauses_ignores_words_inside_quotes_and_brackets() -> None:
    assert split_clauses(" DEFAULT 'x TTL y' TTL f(TTL) COMMENT 'c'", ("DEFAULT", "TTL", "COMMENT")) == [
        ("DEFAULT", "'x TTL y'"), ("TTL", "f(TTL)"), ("COMMENT", "'c'")]


def test_snapshot_takes_the_text_aspects_and_the_inner_tables_indices() -> None:
    tables = [
        _table("t", "MergeTree", create_table_query=TABLE_TEXT, engine_full="MergeTree ORDER BY id"),
        _table(".inner_id.u-mv", "MergeTree", engine_full="MergeTree ORDER BY id"),
        _table("mv", "MaterializedView", as_select="SELECT id FROM z.t",
               create_table_query="CREATE MATERIALIZED VIEW z.mv (`id` UInt64, INDEX i id TYPE minmax GRANULARITY 1) "
                                  "ENGINE = MergeTree ORDER BY id AS SELECT id FROM z.t"),
        _table("d", "Dictionary", comment="dc", create_table_query=(
            "CREATE DICTIONARY z.d (`id` UInt64, `p` UInt64 DEFAULT 0 HIERARCHICAL) PRIMARY KEY (id) "
            "SOURCE(CLICKHOUSE(DB 'z' TABLE 's')) LIFETIME(MIN 0 MAX 300) LAYOUT(HASHED()) COMMENT 'dc'")),
    ]
    columns = [{"database": "z", "table": t, "name": n, "position": i, "type": "UInt64", "default_kind": "",
                "default_expression": "", "comment": "", "compression_codec": ""}
               for t, n, i in [("t", "v", 2), ("d", "id", 1), ("d", "p", 2)]]
    indices = [{"database": "z", "table": ".inner_id.u-mv", "name": "i", "type_full": "minmax", "expr": "id",
                "granularity": 1}]
    functions = [{"name": "f", "create_query": "CREATE FUNCTION f AS x -> (x + 1)"}]
    snap = build_snapshot([{"name": "z"}], tables, columns, indices, functions)
    t, mv, d = snap.table("z.t"), snap.table("z.mv"), snap.table("z.d")
    assert t is not None and mv is not None and d is not None
    assert (t.columns[0].ttl, t.columns[0].statistics) == ("d + toIntervalDay(30)", "(tdigest)")
    assert [c.name for c in t.constraints] == ["c1", "c 2"] and [p.name for p in t.projections] == ["p"]
    assert [i.name for i in mv.indices] == ["i"]
    assert (d.primary_key, d.source, d.lifetime, d.layout, d.range) == (
        "id", "CLICKHOUSE(DB 'z' TABLE 's')", "MIN 0 MAX 300", "HASHED()", "")
    assert (d.columns[1].default_kind, d.columns[1].default_expression, d.columns[1].options) == (
        "DEFAULT", "0", "HIERARCHICAL")
    assert [(f.name, f.create_query) for f in snap.functions] == [("f", "CREATE FUNCTION f AS x -> (x + 1)")]


@pytest.mark.parametrize(("written", "normal"), [
    ("CLICKHOUSE(TABLE 's' DB 'z')", "CLICKHOUSE(DB 'z' TABLE 's')"),
    ("CLICKHOUSE(DB 'z' TABLE 's')", "CLICKHOUSE(DB 'z' TABLE 's')"),
    ("CLICKHOUSE(QUERY 'SELECT a, b FROM t' DB 'z')", "CLICKHOUSE(DB 'z' QUERY 'SELECT a, b FROM t')"),
    ("NULL()", "NULL()"),
    ("CLICKHOUSE(TABLE 's' DB)", "CLICKHOUSE(TABLE 's' DB)"),  # not pairs: left as it is
])
def test_a_dictionary_sources_parameters_are_compared_in_one_order(written: str, normal: str) -> None:
    row = _table("d", "Dictionary", create_table_query=(
        f"CREATE DICTIONARY z.d (`id` UInt64) PRIMARY KEY id SOURCE({written}) LIFETIME(MIN 0 MAX 1) LAYOUT(FLAT())"))
    table = build_snapshot([], [row], [], []).table("z.d")
    assert table is not None and table.source == normal


def test_the_functions_query_is_asked_only_where_functions_may_exist() -> None:
    from chconform.schema.queries import snapshot_query
    from chconform.schema.snapshot import take_snapshot

    asked: list[str] = []

    def query(sql: str) -> list[dict[str, str]]:
        asked.append(sql)
        return []

    take_snapshot(query)
    assert snapshot_query("functions") in asked and len(asked) == 5
    asked.clear()
    take_snapshot(query, functions=False)
    assert snapshot_query("functions") not in asked and len(asked) == 4
