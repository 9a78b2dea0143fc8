"""Clustered SQL on one node, exactly: the rewritten text, each Rewrite, the replication aspect, the report's
note and the cluster names the engine must declare. Written against the survivors of `make mutate` on
sql/cluster (docs/mutation/sql-cluster.md); every SQL text below is written for these tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chconform.model import Snapshot, Table
from chconform.sql.cluster import (
    DEFAULT_REPLICATION,
    Rewrite,
    cluster_names,
    note,
    one_node,
    replication_by_target,
    with_replication,
)
from chconform.sql.source import Source, split_statements


def blank(fragment: str) -> str:
    """What the rewrite leaves of a removed fragment: spaces, line breaks kept."""
    return re.sub(r"[^\r\n]", " ", fragment)


def rewrites(text: str) -> list[tuple[int, str, str]]:
    return [(r.line, r.change, r.replication) for r in one_node(text)[1]]


# --- which texts are read at all -------------------------------------------------------------------------

def test_a_file_with_on_cluster_and_no_replicated_engine_is_rewritten() -> None:
    text = "ALTER TABLE shop.orders ON CLUSTER main DROP COLUMN IF EXISTS legacy;\n"
    out, found = one_node(text)
    assert out == "ALTER TABLE shop.orders " + blank("ON CLUSTER main") + " DROP COLUMN IF EXISTS legacy;\n"
    assert found == (Rewrite(24, 1, "ON CLUSTER main dropped"),)


PAYMENTS = """CREATE TABLE finance.rates
(
    day Date,
    rate Decimal(18, 6)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/finance/FX_rates', '{replica}')
ORDER BY day;
"""


def test_a_replicated_engine_with_exactly_path_and_replica_in_a_file_without_clusters() -> None:
    out, found = one_node(PAYMENTS)
    args = "'/clickhouse/tables/{shard}/finance/FX_rates', '{replica}'"
    assert out == PAYMENTS.replace(f"ReplicatedMergeTree({args})", blank("Replicated") + f"MergeTree({blank(args)})")
    assert "X" not in out  # every character of the path is blanked, capitals too
    assert found == (Rewrite(78, 6, "ReplicatedMergeTree applied as MergeTree", args),)


def test_an_unterminated_quote_leaves_the_text_to_the_splitter() -> None:
    text = "CREATE TABLE t ON CLUSTER main (s String DEFAULT 'open) ENGINE = Memory;\n"
    assert one_node(text) == (text, ())


# --- lines and offsets -----------------------------------------------------------------------------------

def test_each_rewrite_has_the_line_it_has_in_the_file() -> None:
    text = ("\n-- the shop, on every node\n"
            "CREATE DATABASE IF NOT EXISTS shop ON CLUSTER '{cluster}';\n\n"
            "CREATE TABLE shop.stock ON CLUSTER `main`\n(\n    id UInt64\n)\n"
            "ENGINE = ReplicatedMergeTree\nORDER BY id;\n")
    out, found = one_node(text)
    assert found == (Rewrite(text.index("ON CLUSTER '"), 3, "ON CLUSTER '{cluster}' dropped"),
                     Rewrite(text.index("ON CLUSTER `"), 5, "ON CLUSTER `main` dropped"),
                     Rewrite(text.index("Replicated"), 9, "ReplicatedMergeTree applied as MergeTree",
                             DEFAULT_REPLICATION))
    assert [r.offset for r in found] == [63, 112, 157]
    assert out.splitlines()[2] == "CREATE DATABASE IF NOT EXISTS shop " + blank("ON CLUSTER '{cluster}'") + ";"
    assert out.splitlines()[4] == "CREATE TABLE shop.stock " + blank("ON CLUSTER `main`")
    assert out.splitlines()[8] == "ENGINE = " + blank("Replicated") + "MergeTree"


def test_crlf_line_breaks_inside_the_removed_arguments_stay() -> None:
    text = ("CREATE TABLE shop.t ON CLUSTER main\r\n(\r\n    id UInt64\r\n)\r\nENGINE = ReplicatedMergeTree(\r\n"
            "    '/clickhouse/tables/{shard}/shop/t',\r\n    '{replica}')\r\nORDER BY id;\r\n")
    out, found = one_node(text)
    assert out == ("CREATE TABLE shop.t " + blank("ON CLUSTER main") + "\r\n(\r\n    id UInt64\r\n)\r\n"
                   "ENGINE = " + blank("Replicated") + "MergeTree(\r\n"
                   "    " + blank("'/clickhouse/tables/{shard}/shop/t',") + "\r\n" + blank("    '{replica}'")
                   + ")\r\nORDER BY id;\r\n")
    assert [(r.line, r.replication) for r in found] == [
        (1, ""), (5, "'/clickhouse/tables/{shard}/shop/t', '{replica}'")]


def test_a_comment_between_tokens_is_no_argument() -> None:
    text = """CREATE TABLE shop.events ON CLUSTER main
(
    ts DateTime
)
ENGINE = ReplicatedMergeTree( -- path and replica from the macros
    '/clickhouse/tables/{shard}/shop/events', '{replica}')
ORDER BY ts;
"""
    out, _ = one_node(text)
    assert out.splitlines()[4:6] == [
        "ENGINE = " + blank("Replicated") + "MergeTree( -- path and replica from the macros",
        blank("    '/clickhouse/tables/{shard}/shop/events', '{replica}'") + ")"]
    assert rewrites(text)[1] == (5, "ReplicatedMergeTree applied as MergeTree",
                                 "'/clickhouse/tables/{shard}/shop/events', '{replica}'")


def test_the_last_statement_needs_no_semicolon() -> None:
    text = "CREATE TABLE shop.t ON CLUSTER main (id UInt64) ENGINE = ReplicatedMergeTree ORDER BY id"
    assert one_node(text)[0] == ("CREATE TABLE shop.t " + blank("ON CLUSTER main") + " (id UInt64) ENGINE = "
                                 + blank("Replicated") + "MergeTree ORDER BY id")
    assert rewrites(text) == [(1, "ON CLUSTER main dropped", ""),
                              (1, "ReplicatedMergeTree applied as MergeTree", DEFAULT_REPLICATION)]


# --- ON CLUSTER only in a statement's head ----------------------------------------------------------------

def test_on_cluster_after_the_head_is_no_clause_and_is_left_for_clickhouse() -> None:
    view = ("CREATE VIEW shop.eu_orders AS SELECT o.id FROM shop.orders AS o\n"
            "JOIN shop.nodes AS n ON cluster IN ('eu1', 'eu2');\n")
    after_columns = "CREATE TABLE shop.t (id UInt64) ON CLUSTER main ENGINE = Memory;\n"
    after_engine = "CREATE DATABASE shop ENGINE = Atomic ON CLUSTER main;\n"
    for text in (view, after_columns, after_engine):
        assert one_node(text) == (text, ())


def test_a_table_named_cluster_keeps_its_name() -> None:
    text = "CREATE TABLE ops.cluster ON CLUSTER main (node String) ENGINE = Memory;\n"
    out, found = one_node(text)
    assert out == "CREATE TABLE ops.cluster " + blank("ON CLUSTER main") + " (node String) ENGINE = Memory;\n"
    assert found == (Rewrite(25, 1, "ON CLUSTER main dropped"),)


def test_statements_cut_short_are_left_for_clickhouse_to_report() -> None:
    assert one_node("DROP TABLE shop.orders ON CLUSTER") == ("DROP TABLE shop.orders ON CLUSTER", ())
    head = "CREATE TABLE shop.t ON CLUSTER main (id UInt64) "
    for tail in ("ENGINE", "ENGINE ="):
        assert one_node(head + tail) == ("CREATE TABLE shop.t " + blank("ON CLUSTER main") + " (id UInt64) " + tail,
                                         (Rewrite(20, 1, "ON CLUSTER main dropped"),))
    cut = "CREATE TABLE shop.t (id UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/t', '{replica}'"
    assert one_node(cut)[0] == ("CREATE TABLE shop.t (id UInt64) ENGINE = " + blank("Replicated") + "MergeTree("
                                + blank("'/clickhouse/tables/{shard}/t', '{replica}'"))
    assert rewrites(cut) == [(1, "ReplicatedMergeTree applied as MergeTree",
                              "'/clickhouse/tables/{shard}/t', '{replica}'")]


# --- Replicated*MergeTree arguments -----------------------------------------------------------------------

ENGINES = """CREATE TABLE shop.legacy ON CLUSTER main (day Date, id UInt64)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/shop/legacy', '{replica}', day, (id, day), 8192);
CREATE TABLE shop.items ON CLUSTER main (id UInt64, version UInt64, is_deleted UInt8)
ENGINE = ReplicatedReplacingMergeTree(version, is_deleted) ORDER BY id;
CREATE TABLE shop.moves ON CLUSTER main (id UInt64, sign Int8)
ENGINE = ReplicatedCollapsingMergeTree(sign) ORDER BY id;
CREATE TABLE shop.empty ON CLUSTER main (id UInt64) ENGINE = ReplicatedMergeTree() ORDER BY id;
CREATE TABLE shop.quoted ON CLUSTER main (id UInt64)
ENGINE = ReplicatedMergeTree("/clickhouse/tables/{shard}/shop/quoted", '{replica}') ORDER BY id;
CREATE TABLE shop.scratch ON CLUSTER main (id UInt64) ENGINE = Memory;
"""


def test_each_replicated_engine_keeps_what_its_base_engine_takes() -> None:
    out, _ = one_node(ENGINES)
    legacy = "'/clickhouse/tables/{shard}/shop/legacy', '{replica}', "
    assert out.splitlines()[1] == ("ENGINE = " + blank("Replicated") + "MergeTree(" + blank(legacy)
                                   + "day, (id, day), 8192);")
    assert out.splitlines()[3] == ("ENGINE = " + blank("Replicated")
                                   + "ReplacingMergeTree(version, is_deleted) ORDER BY id;")
    assert out.splitlines()[5] == "ENGINE = " + blank("Replicated") + "CollapsingMergeTree(sign) ORDER BY id;"
    assert out.splitlines()[6].endswith(" ENGINE = " + blank("Replicated") + "MergeTree() ORDER BY id;")
    # double quotes name an identifier, not a path: the arguments stay for ClickHouse to refuse
    assert out.splitlines()[8] == ("ENGINE = " + blank("Replicated")
                                   + "MergeTree(\"/clickhouse/tables/{shard}/shop/quoted\", '{replica}') ORDER BY id;")
    assert out.splitlines()[9].endswith(" (id UInt64) ENGINE = Memory;")
    assert [r for r in rewrites(ENGINES) if r[2]] == [
        (2, "ReplicatedMergeTree applied as MergeTree", "'/clickhouse/tables/{shard}/shop/legacy', '{replica}'"),
        (4, "ReplicatedReplacingMergeTree applied as ReplacingMergeTree", DEFAULT_REPLICATION),
        (6, "ReplicatedCollapsingMergeTree applied as CollapsingMergeTree", DEFAULT_REPLICATION),
        (7, "ReplicatedMergeTree applied as MergeTree", DEFAULT_REPLICATION),
        (9, "ReplicatedMergeTree applied as MergeTree", DEFAULT_REPLICATION),
    ]
    assert [r[0] for r in rewrites(ENGINES) if not r[2]] == [1, 3, 5, 7, 8, 10]


def test_engine_without_equals_sign_and_columns_named_engine() -> None:
    text = """CREATE TABLE ops.engines ON CLUSTER main
(
    engine String,
    label String DEFAULT lower(engine)
)
ENGINE ReplicatedMergeTree('/clickhouse/tables/{shard}/ops/engines', '{replica}')
ORDER BY engine;
"""
    out, found = one_node(text)
    assert out.splitlines()[5] == ("ENGINE " + blank("Replicated") + "MergeTree("
                                   + blank("'/clickhouse/tables/{shard}/ops/engines', '{replica}'") + ")")
    assert out.splitlines()[1:5] == text.splitlines()[1:5]
    assert [(r.line, r.change, r.replication) for r in found] == [
        (1, "ON CLUSTER main dropped", ""),
        (6, "ReplicatedMergeTree applied as MergeTree", "'/clickhouse/tables/{shard}/ops/engines', '{replica}'")]


# --- Replicated databases ---------------------------------------------------------------------------------

DATABASES = """CREATE DATABASE shop ON CLUSTER main ENGINE = Replicated('/clickhouse/databases/shop', '{shard}', '{replica}');
ATTACH DATABASE archive ENGINE = Replicated('/clickhouse/databases/archive', 's1', '{replica}');
create database staging engine = Replicated comment 'path and replica from the server config';
CREATE DATABASE logs ON CLUSTER main ENGINE = Atomic;
CREATE DATABASE metrics ENGINE = ReplicatedMergeTree;
"""


def test_replicated_databases_become_atomic_with_their_arguments_kept() -> None:
    out, found = one_node(DATABASES)
    assert out.splitlines() == [
        "CREATE DATABASE shop " + blank("ON CLUSTER main") + " ENGINE = " + blank("Repl") + "Atomic"
        + blank("('/clickhouse/databases/shop', '{shard}', '{replica}')") + ";",
        "ATTACH DATABASE archive ENGINE = " + blank("Repl") + "Atomic"
        + blank("('/clickhouse/databases/archive', 's1', '{replica}')") + ";",
        "create database staging engine = " + blank("Repl") + "Atomic comment 'path and replica from the server config';",
        "CREATE DATABASE logs " + blank("ON CLUSTER main") + " ENGINE = Atomic;",
        "CREATE DATABASE metrics ENGINE = ReplicatedMergeTree;",  # no database engine: ClickHouse says so
    ]
    assert [(r.line, r.change, r.replication) for r in found] == [
        (1, "ON CLUSTER main dropped", ""),
        (1, "Replicated database applied as Atomic", "'/clickhouse/databases/shop', '{shard}', '{replica}'"),
        (2, "Replicated database applied as Atomic", "'/clickhouse/databases/archive', 's1', '{replica}'"),
        (3, "Replicated database applied as Atomic", DEFAULT_REPLICATION),
        (4, "ON CLUSTER main dropped", ""),
    ]


def test_a_replicated_database_at_the_end_of_a_file_with_or_without_arguments() -> None:
    assert one_node("CREATE DATABASE shop ON CLUSTER main ENGINE = Replicated") == (
        "CREATE DATABASE shop " + blank("ON CLUSTER main") + " ENGINE = " + blank("Repl") + "Atomic",
        (Rewrite(21, 1, "ON CLUSTER main dropped"),
         Rewrite(46, 1, "Replicated database applied as Atomic", DEFAULT_REPLICATION)))
    assert one_node("CREATE DATABASE shop ENGINE = Replicated(") == (
        "CREATE DATABASE shop ENGINE = " + blank("Repl") + "Atomic ",
        (Rewrite(30, 1, "Replicated database applied as Atomic", DEFAULT_REPLICATION),))
    cut = "CREATE DATABASE shop ENGINE = Replicated('/clickhouse/databases/shop', '{shard}'"
    assert one_node(cut) == (
        "CREATE DATABASE shop ENGINE = " + blank("Repl") + "Atomic" + blank("('/clickhouse/databases/shop', '{shard}'"),
        (Rewrite(30, 1, "Replicated database applied as Atomic", "'/clickhouse/databases/shop', '{shard}'"),))


# --- the report's note ------------------------------------------------------------------------------------

def _source(text: str) -> Source:
    out, found = one_node(text)
    return Source("c.sql", out, "utf-8", tuple(split_statements(out)), (), found)


def test_the_note_counts_each_kind_with_its_plural_and_the_first_line() -> None:
    assert note(_source("CREATE TABLE t (id UInt64) ENGINE = Memory;\n")) == ""
    assert note(_source("\nALTER TABLE shop.t ON CLUSTER main DELETE WHERE id = 0;\n")) == (
        "applied on one node: 1 ON CLUSTER clause dropped (first at line 2)")
    two_and_one = ("\n\nCREATE DATABASE shop ON CLUSTER main;\n"
                   "CREATE TABLE shop.t ON CLUSTER main (id UInt64) ENGINE = ReplicatedMergeTree ORDER BY id;\n")
    assert note(_source(two_and_one)) == (
        "applied on one node: 2 ON CLUSTER clauses dropped; 1 Replicated engine applied as the base engine "
        "(replication arguments compared as `replication`) (first at line 3)")
    two_engines = ("CREATE TABLE shop.a (id UInt64) ENGINE = ReplicatedMergeTree ORDER BY id;\n"
                   "CREATE TABLE shop.b (id UInt64) ENGINE = ReplicatedSummingMergeTree ORDER BY id;\n")
    assert note(_source(two_engines)) == (
        "applied on one node: 2 Replicated engines applied as the base engine "
        "(replication arguments compared as `replication`) (first at line 1)")


# --- replication by table, and the snapshot as the node sees it -----------------------------------------

@dataclass(frozen=True)
class Stmt:
    start: int
    end: int
    target: str | None
    kind: str


@dataclass(frozen=True)
class FakeSource:
    statements: tuple[Stmt, ...]
    rewrites: tuple[Rewrite, ...]


def test_each_rewrite_belongs_to_the_create_whose_span_holds_it() -> None:
    source = FakeSource(
        statements=(Stmt(0, 10, "a.x", "create_table"), Stmt(10, 20, "a.y", "create_table"),
                    Stmt(20, 30, "a.z", "attach_table"), Stmt(30, 40, None, "create_table"),
                    Stmt(40, 50, "a.w", "create_table"), Stmt(50, 60, "a.w", "create_table")),
        rewrites=(Rewrite(0, 1, "ON CLUSTER main dropped"), Rewrite(10, 2, "x", "'/y', 'r'"),
                  Rewrite(25, 3, "x", "'/z', 'r'"), Rewrite(35, 4, "x", "'/none', 'r'"),
                  Rewrite(45, 5, "x", "'/w1', 'r'"), Rewrite(59, 6, "x", "'/w2', 'r'")))
    assert replication_by_target(source) == {"a.y": "'/y', 'r'", "a.w": "'/w2', 'r'"}


def test_replication_is_set_and_macros_expanded_only_in_distributed_engines() -> None:
    text = "CREATE TABLE shop.orders_local (id UInt64) ENGINE = ReplicatedMergeTree('/t/{shard}/o', '{replica}') ORDER BY id;\n"
    source = _source(text)
    tables = (Table("shop", "orders_local", "table", "MergeTree"),
              Table("shop", "orders", "table", "Distributed('{cluster}', 'shop', 'orders_local', cityHash64(id))"),
              Table("shop", "feed", "table", "URL('http://feeds.internal/{shard}/rates.csv', 'CSV')"),
              Table("shop", "other", "table", "Distributed('{layer}', 'shop', 'orders_local')"))
    kept = with_replication(Snapshot(tables=tables), source)  # no macros: engines as they are
    assert [(t.name, t.engine, t.replication) for t in kept.tables] == [
        ("orders_local", "MergeTree", "'/t/{shard}/o', '{replica}'"),
        ("orders", "Distributed('{cluster}', 'shop', 'orders_local', cityHash64(id))", ""),
        ("feed", "URL('http://feeds.internal/{shard}/rates.csv', 'CSV')", ""),
        ("other", "Distributed('{layer}', 'shop', 'orders_local')", "")]
    expanded = with_replication(Snapshot(tables=tables), None, {"cluster": "main", "shard": "01"})
    assert [t.engine for t in expanded.tables] == [
        "MergeTree", "Distributed('main', 'shop', 'orders_local', cityHash64(id))",
        "URL('http://feeds.internal/{shard}/rates.csv', 'CSV')", "Distributed('{layer}', 'shop', 'orders_local')"]
    assert [t.replication for t in expanded.tables] == ["", "", "", ""]


def test_nothing_to_set_returns_the_snapshot_itself() -> None:
    snap = Snapshot(tables=(Table("shop", "orders", "table", "Distributed('{cluster}', 'shop', 'orders_local')"),))
    assert with_replication(snap, None) is snap
    assert with_replication(snap, _source("CREATE TABLE t (id UInt64) ENGINE = Memory;\n"), {}) is snap


# --- cluster names the engine must declare ---------------------------------------------------------------

def test_cluster_names_from_every_text_in_every_form() -> None:
    texts = [
        "CREATE TABLE shop.t (id UInt64) ENGINE = Memory;",  # neither: skipped, the next text still read
        "CREATE TABLE broken ON CLUSTER lost (s String DEFAULT 'open);",  # the source reports it
        "ALTER TABLE shop.t ON CLUSTER main ADD COLUMN note String;",
        "CREATE TABLE shop.d AS shop.t ENGINE = Distributed(-- the cluster of the macros\n'{cluster}', shop, t);",
        "CREATE TABLE shop.e (id UInt64) ENGINE Distributed(reports, shop, t);",
        "SELECT a.id FROM shop.t AS a JOIN shop.u AS b ON a.id = b.id ORDER BY (id)",
        "DROP TABLE shop.tmp ON CLUSTER analytics",
    ]
    assert cluster_names(texts) == {"main", "{cluster}", "reports", "analytics"}
    assert cluster_names(["CREATE TABLE t ON CLUSTER \"quoted\" (id UInt64) ENGINE = Memory"]) == {"quoted"}


def test_an_argument_keeps_its_own_commas_in_parentheses_and_brackets() -> None:
    """Arguments split at the call's own commas only (ClickHouse then judges the expression it is left)."""
    for replica in ("concat('{replica}', '-', toString(1))", "['{replica}', 'spare'][1]"):
        text = f"CREATE TABLE shop.t (id UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/t', {replica}) ORDER BY id;"
        out, found = one_node(text)
        assert out == ("CREATE TABLE shop.t (id UInt64) ENGINE = " + blank("Replicated") + "MergeTree("
                       + blank(f"'/clickhouse/t', {replica}") + ") ORDER BY id;")
        assert found == (Rewrite(41, 1, "ReplicatedMergeTree applied as MergeTree", f"'/clickhouse/t', {replica}"),)


def test_an_empty_argument_is_left_for_clickhouse_to_report_as_a_syntax_error() -> None:
    """A stray comma once raised IndexError out of the rewrite (a traceback instead of ClickHouse's error)."""
    for args in ("'/clickhouse/t', ", "'/clickhouse/t', '{replica}', ", "'/clickhouse/t', , version"):
        text = f"CREATE TABLE shop.t (id UInt64) ENGINE = ReplicatedMergeTree({args}) ORDER BY id;"
        assert one_node(text) == (
            f"CREATE TABLE shop.t (id UInt64) ENGINE = {blank('Replicated')}MergeTree({args}) ORDER BY id;",
            (Rewrite(41, 1, "ReplicatedMergeTree applied as MergeTree", DEFAULT_REPLICATION),))
