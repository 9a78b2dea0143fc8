"""The statement gate, without an engine: what runs, what is skipped, what is refused and why."""

from __future__ import annotations

from typing import Any

import pytest

from chconform.gate.policy import SKIP_ACCESS, gate, gate_ast, gate_sql, parse_target
from chconform.sql.source import split_statements


def verdict(text: str, access_control: bool = False) -> tuple[str, str]:
    (stmt,) = split_statements(text)
    v = gate(stmt, access_control)
    return v.action, v.reason


ORDINARY = [
    "CREATE DATABASE IF NOT EXISTS zakaz",
    ("CREATE TABLE IF NOT EXISTS zakaz.t (a UInt8, engine String, url String) ENGINE = ReplacingMergeTree ORDER BY a "
    "SETTINGS index_granularity = 8192"),
    "CREATE TABLE zakaz.l (a UInt8) ENGINE = Log",
    "CREATE TABLE zakaz.b (a UInt8) ENGINE = Buffer(zakaz, t, 1, 10, 100, 10000, 1000000, 10000000, 100000000)",
    "CREATE MATERIALIZED VIEW zakaz.mv TO zakaz.t AS SELECT a, 'x' AS engine FROM zakaz.src",
    "CREATE MATERIALIZED VIEW zakaz.mv2 ENGINE = SummingMergeTree ORDER BY a AS SELECT a FROM zakaz.src",
    "CREATE VIEW zakaz.v AS SELECT name, engine FROM system.tables WHERE engine = 'MergeTree'",
    "CREATE OR REPLACE VIEW zakaz.v AS SELECT format('{}-{}', a, b) AS s FROM zakaz.t",
    "CREATE FUNCTION plus_one AS (x) -> x + 1",
    ("CREATE DICTIONARY zakaz.d (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(TABLE 'src' DB 'zakaz')) "
    "LAYOUT(FLAT()) LIFETIME(0)"),
    ("CREATE DICTIONARY zakaz.d2 (k UInt64) PRIMARY KEY k SOURCE(CLICKHOUSE(HOST 'localhost' PORT 9000 USER 'default' "
    "TABLE 'src')) LAYOUT(FLAT()) LIFETIME(0)"),
    "ALTER TABLE zakaz.t ADD COLUMN IF NOT EXISTS b String",
    "ALTER TABLE zakaz.t MODIFY SETTING merge_with_ttl_timeout = 3600",
    "DROP TABLE IF EXISTS zakaz.t",
    "DROP FUNCTION IF EXISTS plus_one",
    "TRUNCATE TABLE zakaz.t",
    "RENAME TABLE zakaz.a TO zakaz.b",
    "INSERT INTO zakaz.t (a, url) VALUES (1, 'http://x'), (2, toString(now()))",
    "INSERT INTO zakaz.t SELECT number, '' FROM numbers(10)",
    "INSERT INTO zakaz.t FORMAT CSV\n1,\"file('/etc/passwd')\"\n",
    "SELECT count() FROM zakaz.t",
    "SELECT * FROM zakaz.t INNER JOIN zakaz.u USING (a)",
    "USE zakaz",
    "SET max_threads = 2",
    "OPTIMIZE TABLE zakaz.t FINAL",
    "SHOW TABLES FROM zakaz",
    "DESCRIBE TABLE zakaz.t",
    "DELETE FROM zakaz.t WHERE a = 1",
]


@pytest.mark.parametrize("text", ORDINARY, ids=lambda t: t[:40])
def test_ordinary_ddl_runs(text: str) -> None:
    assert verdict(text) == ("run", "")


HOSTILE = [
    ("SELECT * FROM file('/etc/hostname', 'LineAsString')", "file() reads or writes host files"),
    ("SELECT file('/etc/hostname')", "file() reads or writes host files"),
    ("SELECT * FROM `file`('/etc/hostname')", "file() reads or writes host files"),
    ("SELECT FILE('/etc/hostname')", "file() reads or writes host files"),
    ("SELECT file /* c */ ('/etc/hostname')", "file() reads or writes host files"),
    ("INSERT INTO FUNCTION file('/tmp/x', 'TSV', 'a String') VALUES ('x')", "INSERT INTO FUNCTION"),
    ("SELECT 1 INTO OUTFILE '/tmp/x'", "INTO OUTFILE writes a file on the host"),
    ("INSERT INTO zakaz.t FROM INFILE '/etc/passwd' FORMAT CSV", "FROM INFILE reads a file from the host"),
    (("CREATE DICTIONARY d (k UInt64) PRIMARY KEY k SOURCE(EXECUTABLE(COMMAND 'id' FORMAT TabSeparated)) "
     "LAYOUT(FLAT()) LIFETIME(0)"), "EXECUTABLE source"),
    (("CREATE DICTIONARY d (k UInt64) PRIMARY KEY k SOURCE(HTTP(URL 'http://x/' FORMAT TSV)) LAYOUT(FLAT()) "
     "LIFETIME(0)"), "HTTP source"),
    (("CREATE DICTIONARY d (k UInt64) PRIMARY KEY k SOURCE(CLICKHOUSE(HOST 'evil.example' TABLE 't')) "
     "LAYOUT(FLAT()) LIFETIME(0)"), "reaches another server"),
    (("CREATE DICTIONARY d (k UInt64) PRIMARY KEY k SOURCE(CLICKHOUSE(QUERY 'SELECT * FROM url(''http://x'')')) "
     "LAYOUT(FLAT()) LIFETIME(0)"), "the dictionary's QUERY is refused: url()"),
    ("SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')", "url() reaches outside the engine"),
    ("SELECT * FROM remote('127.0.0.1', system.one)", "remote() reaches outside the engine"),
    ("SELECT * FROM s3('http://x/b/k', CSV)", "s3() reaches outside the engine"),
    ("ATTACH TABLE x FROM '.' (s String) ENGINE = MergeTree ORDER BY s", "ATTACH … FROM '.'"),
    ("SELECT * FROM Python(secret)", "python() runs code outside SQL"),
    ("SELECT * FROM executable('id', TSV, 'a String')", "executable() runs code outside SQL"),
    ("SELECT * FROM mergeTreeIndex(zakaz, t)", "table function mergeTreeIndex() is not on the allow-list"),
    ("CREATE TABLE t (s String) ENGINE = File(TSV, '/etc/hostname')", "engine File is not on the allow-list"),
    ("CREATE TABLE t (s String) ENGINE URL('http://x/', TSV)", "engine URL is not on the allow-list"),
    ("CREATE DATABASE fs ENGINE = Filesystem('/etc')", "engine Filesystem is not on the allow-list"),
    ("CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a SETTINGS disk = disk(type = local, path = '/x/')",
     "setting disk places data"),
    ("CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a SETTINGS storage_policy = 'x'", "setting storage_policy"),
    ("ALTER TABLE t MODIFY SETTING storage_policy = 'x'", "setting storage_policy"),
    ("SELECT 1 SETTINGS format_template_row = '/etc/passwd'", "setting format_template_row"),
    ("SET allow_python_table_function = 1", "setting allow_python_table_function"),
    ("INSERT INTO zakaz.t VALUES (file('/etc/hostname'))", "file() reads or writes host files"),
    ("SYSTEM SHUTDOWN", "SYSTEM statements"),
    ("KILL QUERY WHERE 1", "KILL statements"),
    ("BACKUP TABLE t TO File('x')", "BACKUP TABLE is not a statement"),
    ("CREATE NAMED COLLECTION c AS url = 'http://x'", "CREATE NAMED is not a statement"),
]


@pytest.mark.parametrize(("text", "reason"), HOSTILE, ids=lambda t: t[:40])
def test_hostile_statements_are_refused_with_the_reason(text: str, reason: str) -> None:
    action, why = verdict(text)
    assert action == "refuse"
    assert reason in why


def test_access_control_is_skipped_without_a_server_and_runs_with_one() -> None:
    assert verdict("GRANT SELECT ON zakaz.* TO r") == ("skip", SKIP_ACCESS)
    assert verdict("CREATE ROLE IF NOT EXISTS r", access_control=True) == ("run", "")


def test_gate_sql_refuses_several_statements_in_one_call() -> None:
    v = gate_sql("SELECT 1; SELECT file('/etc/hostname')", False)
    assert v.action == "refuse" and "several statements" in v.reason


def test_gate_sql_reads_only_the_head_of_insert_data() -> None:
    text = "INSERT INTO zakaz.t FORMAT CSV\n1,'unterminated\n2,file(\n"
    assert gate_sql(text, False).action == "run"
    assert parse_target(text) == "INSERT INTO zakaz.t FORMAT CSV"
    assert parse_target("INSERT INTO zakaz.t (a) VALUES (1), (2);") == "INSERT INTO zakaz.t (a) VALUES"
    assert parse_target("SELECT 1;") == "SELECT 1"


def test_unreadable_values_data_is_refused() -> None:
    v = gate_sql("INSERT INTO zakaz.t VALUES ('open", False)
    assert v.action == "refuse" and "unterminated string" in v.reason


# --- ClickHouse's parse (shapes as parseQueryToJSON prints them) -----------------------------


def fn(name: str, kind: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "Function", "name": name}
    if kind:
        node["kind"] = kind
    return node


def select_from(table_function: dict[str, Any], **extra: Any) -> dict[str, Any]:
    element = {"type": "TablesInSelectQueryElement",
               "table_expression": {"type": "TableExpression", "table_function": table_function}}
    select = {"type": "SelectQuery", "tables": {"type": "TablesInSelectQuery", "children": [element]}}
    return {"type": "SelectWithUnionQuery", "list_of_selects": {"type": "ExpressionList", "children": [select]}, **extra}


AST_CASES = [
    (select_from(fn("numbers")), "run", ""),
    (select_from(fn("generateRandom")), "run", ""),
    (select_from(fn("fileCluster")), "refuse", "reaches outside"),
    (select_from(fn("someFutureFunction")), "refuse", "table function someFutureFunction() is not on the allow-list"),
    (select_from(fn("numbers"), out_file={"type": "Literal"}), "refuse", "INTO OUTFILE"),
    ({"type": "InsertQuery", "table_function": fn("null")}, "refuse", "INSERT INTO FUNCTION"),
    ({"type": "InsertQuery", "infile": {"type": "Literal"}}, "refuse", "FROM INFILE"),
    ({"type": "CreateQuery", "attach": True, "has_attach_from_path": True, "attach_from_path": "."}, "refuse", "ATTACH"),
    ({"type": "CreateQuery", "storage": {"type": "Storage", "engine": fn("ReplicatedMergeTree", "TABLE_ENGINE")}}, "run", ""),
    ({"type": "CreateQuery", "targets": {"targets": [{"inner_engine": {"engine": fn("S3", "TABLE_ENGINE")}}]}},
     "refuse", "engine S3"),
    ({"type": "CreateQuery", "storage": {"engine": fn("MySQL", "DATABASE_ENGINE")}}, "refuse", "engine MySQL"),
    ({"type": "CreateQuery", "as_table_function": fn("url")}, "refuse", "url()"),
    ({"type": "CreateQuery", "storage": {"settings": {"type": "SetQuery", "changes": [{"name": "disk"}]}}},
     "refuse", "setting disk"),
    ({"type": "CreateQuery", "dictionary": {"type": "Dictionary", "source": {"name": "mysql"}}}, "refuse", "MYSQL source"),
    ({"type": "CreateQuery", "dictionary": {"type": "Dictionary", "source": {"name": "clickhouse", "elements": {
        "children": [{"first": "host", "second": {"value": {"value": "10.0.0.1"}}}]}}}}, "refuse", "another server"),
    ({"type": "SystemQuery", "query_type": "SHUTDOWN"}, "refuse", "SYSTEM statements"),
    ({"type": "KillQueryQuery"}, "refuse", "KILL statements"),
    ({"type": "BackupQuery"}, "refuse", "BackupQuery is not a statement"),
    ({"type": "ShowTablesQuery"}, "run", ""),
]


@pytest.mark.parametrize(("ast", "action", "reason"), AST_CASES, ids=lambda c: str(c)[:50])
def test_gate_ast(ast: dict[str, Any], action: str, reason: str) -> None:
    v = gate_ast(ast)
    assert v.action == action
    assert reason in v.reason


def test_gate_ast_walks_deep_trees_without_recursion() -> None:
    node: dict[str, Any] = fn("file")
    for _ in range(20000):
        node = {"type": "Function", "name": "plus", "arguments": {"children": [node]}}
    v = gate_ast({"type": "SelectWithUnionQuery", "list_of_selects": node})
    assert v.action == "refuse" and "file()" in v.reason


def test_deep_parentheses_are_gated_without_recursion() -> None:
    text = "SELECT " + "(" * 5000 + "1" + ")" * 5000
    assert gate_sql(text, False).action == "run"
