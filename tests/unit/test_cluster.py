"""Clustered SQL on one node: the token rewrite, the replication aspect, the engine's generated config."""

from __future__ import annotations

from dataclasses import replace

from chconform.engines.server_defaults import ServerProfile, config_fragment, profile_for, setting_problem
from chconform.model import Snapshot, Table
from chconform.schema.compare import compare_tables
from chconform.sql.cluster import DEFAULT_REPLICATION, cluster_names, note, one_node, with_replication
from chconform.sql.source import Source, split_statements

CLUSTERED = """CREATE DATABASE IF NOT EXISTS shop ON CLUSTER '{cluster}';
CREATE TABLE IF NOT EXISTS shop.orders_local ON CLUSTER main
(
    id UInt64,
    -- a column named cluster must survive: it is no ON CLUSTER clause
    cluster String,
    v UInt32
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/shop/orders', '{replica}', v)
ORDER BY id;
CREATE TABLE shop.plain ON CLUSTER main (id UInt64) ENGINE = ReplicatedMergeTree ORDER BY id;
CREATE VIEW shop.v AS SELECT o.id FROM shop.orders_local AS o JOIN shop.plain AS p ON cluster = 'x';
ALTER TABLE shop.orders_local ON CLUSTER main ADD COLUMN IF NOT EXISTS note String;
RENAME TABLE shop.a TO shop.b ON CLUSTER main;
CREATE DATABASE r ENGINE = Replicated('/db/r', '{shard}', '{replica}');
"""


def _rewritten() -> tuple[str, Source]:
    text, rewrites = one_node(CLUSTERED)
    return text, Source("c.sql", text, "utf-8", tuple(split_statements(text)), (), rewrites)


def test_rewrite_keeps_length_and_lines() -> None:
    text, _ = _rewritten()
    assert len(text) == len(CLUSTERED)
    assert [i for i, c in enumerate(text) if c == "\n"] == [i for i, c in enumerate(CLUSTERED) if c == "\n"]


def test_on_cluster_dropped_in_every_statement_head_only() -> None:
    text, source = _rewritten()
    assert text.count("ON CLUSTER") == 1  # in the comment only
    assert "ON cluster = 'x'" in text  # a join condition is not a clause
    assert "    cluster String," in text
    assert [r.line for r in source.rewrites if r.change.startswith("ON CLUSTER")] == [1, 2, 11, 13, 14]


def test_replicated_engines_become_their_base_engine() -> None:
    text, source = _rewritten()
    assert "ENGINE =           ReplacingMergeTree(" in text and text.count("ReplacingMergeTree(") == 1
    assert "'{replica}'" not in text and "\n" in text
    flat = " ".join(text.split())
    assert "ReplacingMergeTree( v)" in flat
    assert "ENGINE = MergeTree ORDER BY id" in flat
    assert "ENGINE = Atomic ;" in flat
    kinds = [(r.line, r.change, r.replication) for r in source.rewrites if r.replication]
    assert kinds == [
        (9, "ReplicatedReplacingMergeTree applied as ReplacingMergeTree",
         "'/clickhouse/tables/{shard}/shop/orders', '{replica}'"),
        (11, "ReplicatedMergeTree applied as MergeTree", DEFAULT_REPLICATION),
        (15, "Replicated database applied as Atomic", "'/db/r', '{shard}', '{replica}'"),
    ]
    assert "5 ON CLUSTER clauses dropped; 3 Replicated engines" in note(source)


def test_untouched_text_is_the_same_object() -> None:
    text = "CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a;"
    assert one_node(text)[0] is text and one_node(text)[1] == ()


def test_replication_is_an_aspect_only_where_both_sides_replicate() -> None:
    _, source = _rewritten()
    snap = with_replication(Snapshot(tables=(Table("shop", "orders_local", "table", "ReplacingMergeTree(v)"),)), source)
    replicated = snap.table("shop.orders_local")
    assert replicated is not None and replicated.replication.startswith("'/clickhouse/tables/{shard}/shop/orders'")
    plain = Table("shop", "orders_local", "table", "ReplacingMergeTree(v)")
    assert compare_tables(plain, replicated) == []  # the unclustered variant of the same schema
    moved = Table("shop", "orders_local", "table", "ReplacingMergeTree(v)", replication="'/other', '{replica}'")
    found = [(d.aspect, d.actual) for d in compare_tables(replicated, moved)]
    assert found == [("replication", "'/other', '{replica}'")]


def test_distributed_macro_expanded_as_the_server_does() -> None:
    snap = Snapshot(tables=(Table("shop", "orders", "table", "Distributed('{cluster}', 'shop', 'orders_local')"),))
    out = with_replication(snap, None, {"cluster": "main"})
    assert out.table("shop.orders").engine == "Distributed('main', 'shop', 'orders_local')"  # type: ignore[union-attr]


def test_cluster_names_found_where_sql_uses_them() -> None:
    assert cluster_names([CLUSTERED, "ENGINE = Distributed(`dist`, db, t)"]) == {"{cluster}", "main", "dist"}


def test_engine_config_declares_local_clusters_macros_and_server_pools() -> None:
    profile = profile_for(None, [CLUSTERED])
    assert profile.clusters == ("default", "main")
    xml = "\n".join(config_fragment(profile))
    assert "<background_pool_size>16</background_pool_size>" in xml
    assert "<main><shard><replica><host>127.0.0.1</host><port>1</port></replica></shard></main>" in xml
    assert "<tcp_port>1</tcp_port>" in xml
    assert "<macros><cluster>default</cluster><replica>replica_1</replica><shard>01</shard></macros>" in xml
    assert "<merge_tree>" not in "\n".join(config_fragment(ServerProfile()))


def test_settings_names_are_checked_against_clickhouse_and_the_gate() -> None:
    assert setting_problem("allow_suspicious_low_cardinality_types", 1) == ""
    assert setting_problem("max_suspicious_broken_parts", 10) == ""  # merge_tree
    assert setting_problem("background_pool_size", 32) == ""
    assert "not a setting ClickHouse lists" in setting_problem("allow_suspicous_low_cardinality_types", 1)
    assert "gate refuses" in setting_problem("storage_policy", "s3")


def test_a_distributed_table_is_compared_as_its_local_table_where_the_other_side_has_a_plain_one() -> None:
    from chconform.schema.compare import compare

    plain = Snapshot(tables=(Table("s", "orders", "table", "MergeTree", sorting_key="a"),))
    local = Table("s", "orders_local", "table", "MergeTree", sorting_key="b")
    front = Table("s", "orders", "table", "Distributed('c', 's', 'orders_local', rand())")
    clustered = Snapshot(tables=(local, front))
    assert [(d.object, d.aspect, d.actual) for d in compare(plain, clustered)] == [("s.orders", "sorting_key", "b")]
    both = Snapshot(tables=(front, replace(local, name="other")))  # both sides Distributed: compared as written
    assert [d.aspect for d in compare(clustered, both)] == []
    lonely = Snapshot(tables=(front,))  # no local table to stand for: the engines differ
    assert [d.aspect for d in compare(plain, lonely)] == ["engine", "sorting_key"]
