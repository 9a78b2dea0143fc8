"""The gate's pure parts, without an engine: classification, the INSERT split, decisions on given trees.

What the real engine's parse makes of real statements is tested in tests/conformance/test_gate_*.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from chconform.gate.decide import decide, values_rows
from chconform.gate.parse import EngineReply, Parsed, explain_tree, lift_json_types, parse_many
from chconform.gate.policy import SKIP_ACCESS, gate, gate_ast, gate_sql, parse_target
from chconform.sql.source import split_statements


def classify(text: str, access_control: bool = False) -> tuple[str, str]:
    (stmt,) = split_statements(text)
    v = gate(stmt, access_control)
    return v.action, v.reason


def test_the_token_reading_only_classifies_it_never_refuses() -> None:
    # what the tree decides is not the token reading's to refuse (nor to let through: it says "run" = "judge it")
    assert classify("SELECT * FROM file('/etc/hostname')") == ("run", "")
    assert classify("SELECT k FROM e ARRAY JOIN mapKeys(m) AS k") == ("run", "")


def test_access_control_is_skipped_without_a_server_and_judged_with_one() -> None:
    assert classify("GRANT SELECT ON zakaz.* TO r") == ("skip", SKIP_ACCESS)
    assert classify("CREATE ROLE IF NOT EXISTS r", access_control=True) == ("run", "")


def test_gate_sql_refuses_several_statements_in_one_call() -> None:
    v = gate_sql("SELECT 1; SELECT file('/etc/hostname')", False)
    assert v.action == "refuse" and "several statements" in v.reason


@pytest.mark.parametrize(("text", "head"), [
    ("INSERT INTO zakaz.t FORMAT CSV\n1,'unterminated\n2,file(\n", "INSERT INTO zakaz.t FORMAT CSV"),
    ("INSERT INTO zakaz.t (a) VALUES (1), (2);", "INSERT INTO zakaz.t (a) VALUES"),
    ("SELECT 1;", "SELECT 1"),
    ("INSERT INTO format VALUES (1)", "INSERT INTO format VALUES"),
    ("INSERT INTO format SELECT file('/etc/hostname')", "INSERT INTO format SELECT file('/etc/hostname')"),
    ("INSERT INTO db.format FORMAT CSV\n1\n", "INSERT INTO db.format FORMAT CSV"),
    ("INSERT INTO TABLE `values` (a) VALUES (1)", "INSERT INTO TABLE `values` (a) VALUES"),
    ("INSERT INTO FUNCTION null('format String') VALUES ('x')", "INSERT INTO FUNCTION null('format String') VALUES"),
], ids=lambda t: t[:40])
def test_the_insert_head_is_what_the_parser_gets_and_a_table_named_format_is_a_name(text: str, head: str) -> None:
    assert parse_target(text) == head


def test_values_rows_are_gated_as_one_select() -> None:
    assert values_rows(" (1), (file('x'));").text == "SELECT (1), (file('x'))"


class FakeEngine:
    """Replies recorded from ClickHouse 26.9 for the few texts these tests use (the real engine: conformance)."""

    def __init__(self, replies: dict[tuple[str, str], EngineReply]) -> None:
        self.replies, self.calls = replies, []  # type: ignore[var-annotated]

    def call(self, function: str, texts: Any) -> list[EngineReply]:
        self.calls.append((function, list(texts)))
        return [self.replies.get((function, t), EngineReply(None, f"Code: 62. Syntax error ({t})")) for t in texts]


NOT_JSON = "Code: 36. DB::Exception: AST node of type '{}' does not support JSON serialization (BAD_ARGUMENTS)"


def test_no_tree_no_run() -> None:
    (parsed,) = parse_many(FakeEngine({}), ["SELEC 1"])
    v = decide(parsed)
    assert v.action == "refuse" and "gives no tree" in v.reason and "Syntax error" in v.reason


def test_an_unserialisable_json_type_is_lifted_and_must_come_back_as_a_data_type() -> None:
    text = "CREATE TABLE t (a JSON(x UInt8)) ENGINE = Memory"
    canonical = "CREATE TABLE t\n(\n    `a` JSON(x UInt8)\n)\nENGINE = Memory"
    rewritten = "CREATE TABLE t\n(\n    `a` ChconformJsonType0\n)\nENGINE = Memory"
    as_type = {"type": "CreateQuery", "columns_list": {"columns": {"children": [
        {"type": "ColumnDeclaration", "name": "a", "data_type": {"type": "DataType", "name": "ChconformJsonType0"}}]}}}
    engine = FakeEngine({("parseQueryToJSON", text): EngineReply(None, NOT_JSON.format("ASTObjectTypeArgument")),
                         ("formatQuery", text): EngineReply(canonical + "\n"),
                         ("parseQueryToJSON", rewritten): EngineReply(__import__("json").dumps(as_type))})
    (parsed,) = parse_many(engine, [text])
    assert parsed.markers == ("ChconformJsonType0",) and decide(parsed).action == "run"
    as_identifier = {"type": "SelectWithUnionQuery", "x": {"type": "Identifier", "name": "ChconformJsonType0"}}
    v = decide(Parsed(text, tree=as_identifier, markers=("ChconformJsonType0",)))
    assert v.action == "refuse" and "not a column type" in v.reason


def test_lifting_keeps_strings_and_quoted_names() -> None:
    lifted = lift_json_types("SELECT 'JSON(x)', `JSON`(1), JSON(a Array(JSON(b UInt8)))")
    assert lifted == ("SELECT 'JSON(x)', `JSON`(1), ChconformJsonType0", ("ChconformJsonType0",))


def test_explain_ast_is_read_as_a_tree() -> None:
    root = explain_tree("ShowCreateTableQuery db t (children 3)\n Identifier db\n Identifier t\n Literal 'x'\n")
    assert root.kind == "ShowCreateTableQuery" and [c.kind for c in root.children] == ["Identifier", "Identifier",
                                                                                       "Literal"]
    canonical = "SHOW CREATE TABLE db.t\nINTO OUTFILE 'x'"
    refused = decide(Parsed("", explain=root, kind="ShowCreateTableQuery", canonical=canonical))
    assert refused.action == "refuse" and "INTO OUTFILE" in refused.reason
    names = explain_tree("ShowCreateTableQuery db t (children 2)\n Identifier db\n Identifier t\n")
    shown = Parsed("", explain=names, kind="ShowCreateTableQuery", canonical="SHOW CREATE TABLE db.t")
    assert decide(shown).action == "run"
    pattern = explain_tree("ShowFunctions (children 1)\n Literal 'plus'\n")
    listed = Parsed("", explain=pattern, kind="ShowFunctions", canonical="SHOW FUNCTIONS LIKE 'plus'")
    assert decide(listed).action == "run"


# --- decisions on trees (shapes as parseQueryToJSON prints them) -----------------------------


def fn(name: str, kind: str | None = None, *args: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "Function", "name": name}
    if kind:
        node["kind"] = kind
    if args:
        node["arguments"] = {"type": "ExpressionList", "children": list(args)}
    return node


def lit(value: Any) -> dict[str, Any]:
    return {"type": "Literal", "value": {"field_type": "String", "value": value}}


def select_from(table_function: dict[str, Any], **extra: Any) -> dict[str, Any]:
    element = {"type": "TablesInSelectQueryElement",
               "table_expression": {"type": "TableExpression", "table_function": table_function}}
    select = {"type": "SelectQuery", "tables": {"type": "TablesInSelectQuery", "children": [element]}}
    selects = {"type": "ExpressionList", "children": [select]}
    return {"type": "SelectWithUnionQuery", "list_of_selects": selects, **extra}


def source(name: str, **pairs: Any) -> dict[str, Any]:
    children = [{"type": "Pair", "first": k, "second": v if isinstance(v, dict) else lit(v)} for k, v in pairs.items()]
    return {"type": "CreateQuery", "dictionary": {"type": "Dictionary", "source": {
        "type": "FunctionWithKeyValueArguments", "name": name, "elements": {"children": children}}}}


def settings(*names: str) -> dict[str, Any]:
    return {"type": "SetQuery", "changes": [{"name": n, "value": {"field_type": "UInt64", "value": 1}} for n in names]}


AST_CASES = [
    (select_from(fn("numbers")), "run", ""),
    (select_from(fn("generateRandom")), "run", ""),
    (select_from(fn("mergeTreeIndex")), "run", ""),
    (select_from(fn("someParameterizedView")), "run", ""),  # no table function: a view
    (select_from(fn("viewExplain")), "run", ""),
    (select_from(fn("fileCluster")), "refuse", "fileCluster() reaches host files"),
    (select_from(fn("URL")), "refuse", "URL() reaches the network"),
    (select_from(fn("loop", None, fn("file", None, lit("/etc/hostname")))), "refuse", "file() reaches host files"),
    (select_from(fn("numbers"), out_file=lit("x")), "refuse", "INTO OUTFILE"),
    ({"type": "InsertQuery", "table_function": fn("null")}, "run", ""),
    ({"type": "InsertQuery", "table_function": fn("s3")}, "refuse", "s3() reaches the network"),
    ({"type": "InsertQuery", "infile": lit("x")}, "refuse", "FROM INFILE"),
    ({"type": "CreateQuery", "has_attach_from_path": True, "attach_from_path": "."}, "refuse", "ATTACH"),
    ({"type": "CreateQuery", "storage": {"engine": fn("EmbeddedRocksDB", "TABLE_ENGINE")}}, "run", ""),
    ({"type": "CreateQuery", "storage": {"engine": fn("EmbeddedRocksDB", "TABLE_ENGINE", lit(0), lit("/x"))}},
     "refuse", "host path"),
    ({"type": "CreateQuery", "storage": {"engine": fn("ReplicatedMergeTree", "TABLE_ENGINE")}}, "run", ""),
    ({"type": "CreateQuery", "targets": {"targets": [{"inner_engine": {"engine": fn("S3", "TABLE_ENGINE")}}]}},
     "refuse", "engine S3"),
    ({"type": "CreateQuery", "storage": {"engine": fn("Ordinary", "DATABASE_ENGINE")}}, "run", ""),
    ({"type": "CreateQuery", "storage": {"engine": fn("MySQL", "DATABASE_ENGINE")}}, "refuse", "engine MySQL"),
    ({"type": "CreateQuery", "storage": {"engine": fn("FutureEngine", "TABLE_ENGINE")}}, "refuse", "not one"),
    ({"type": "CreateQuery", "as_table_function": fn("url")}, "refuse", "url()"),
    ({"type": "CreateQuery", "storage": {"settings": settings("disk")}}, "refuse", "setting disk"),
    ({"type": "CreateQuery", "storage": {"settings": settings("index_granularity")}}, "run", ""),
    (settings("max_threads"), "run", ""),
    (settings("Dialect"), "refuse", "dialect"),
    (settings("allow_experimental_prql_dialect"), "refuse", "dialect"),
    (settings("additional_result_filter"), "refuse", "changes what queries read"),
    (settings("OFFSET"), "refuse", "changes what queries read"),
    (settings("format_schema"), "refuse", "names a file"),
    (settings("no_such_setting"), "refuse", "not one ClickHouse lists"),
    (settings("custom_anything"), "run", ""),
    ({"type": "SetQuery", "changes": [{"name": "storage_policy", "value": {"value": "default"}}]}, "run", ""),
    ({"type": "SetQuery", "changes": [{"name": "storage_policy", "value": {"value": "s3_cold"}}]}, "refuse", "disk"),
    ({"type": "SetQuery", "changes": [{"name": "default_table_engine", "value": {"value": "File"}}]}, "refuse", "File"),
    ({"type": "SetQuery", "changes": [{"name": "default_table_engine", "value": {"value": "MergeTree"}}]}, "run", ""),
    (source("null"), "run", ""),
    (source("clickhouse", table="src", db="zakaz"), "run", ""),
    (source("clickhouse", host="localhost", table="src"), "run", ""),
    (source("mysql"), "refuse", "MYSQL source"),
    (source("executable"), "refuse", "EXECUTABLE source"),
    (source("clickhouse", host="10.0.0.1", table="t"), "refuse", "another server"),
    (source("clickhouse", host=fn("hostName"), table="t"), "refuse", "HOST is an expression"),
    (source("clickhouse", port=9000, table="t"), "refuse", "PORT"),
    (source("clickhouse", user="default", table="t"), "refuse", "USER"),
    (source("clickhouse", password="", table="t"), "refuse", "PASSWORD"),
    (source("clickhouse", where="a > 1", table="t"), "refuse", "WHERE was not parsed"),  # no sub-tree given
    ({"type": "SelectQuery", "t": {"type": "QueryParameter", "name": "t", "param_type": "Identifier"}}, "refuse",
     "query parameter"),
    ({"type": "SelectWithUnionQuery", "x": fn("FILE", None, lit("/x"))}, "refuse", "FILE() reaches host files"),
    ({"type": "SelectWithUnionQuery", "x": fn("aiGenerate")}, "refuse", "model service"),
    ({"type": "SystemQuery", "query_type": "SHUTDOWN"}, "refuse", "SYSTEM statements"),
    ({"type": "SystemQuery", "query_type": "STOP_LISTEN"}, "refuse", "SYSTEM statements"),
    ({"type": "SystemQuery", "query_type": "RELOAD_CONFIG"}, "refuse", "SYSTEM statements"),
    ({"type": "SystemQuery", "query_type": "FLUSH_LOGS"}, "run", ""),
    ({"type": "SystemQuery", "query_type": "STOP_MERGES", "table": "t"}, "run", ""),
    ({"type": "SystemQuery", "query_type": "CLEAR_MARK_CACHE"}, "run", ""),
    ({"type": "KillQueryQuery"}, "refuse", "KILL statements"),
    ({"type": "BackupQuery"}, "refuse", "BACKUP and RESTORE"),
    ({"type": "ShowTablesQuery"}, "run", ""),
]


@pytest.mark.parametrize(("ast", "action", "reason"), AST_CASES, ids=lambda c: str(c)[:60])
def test_gate_ast(ast: dict[str, Any], action: str, reason: str) -> None:
    v = gate_ast(ast)
    assert v.action == action, v.reason
    assert reason in v.reason


def test_a_dictionary_where_passes_only_as_one_expression_that_passes_the_gate() -> None:
    tree = source("clickhouse", where="a > 1", table="t")
    where = "SELECT 1 WHERE a > 1"
    one = {"type": "SelectWithUnionQuery", "list_of_selects": {"children": [
        {"type": "SelectQuery", "select": {}, "where": fn("greater")}]}}
    assert decide(Parsed("", tree=tree), {where: Parsed(where, tree=one)}).action == "run"
    union = {"type": "SelectWithUnionQuery", "list_of_selects": {"children": [
        {"type": "SelectQuery", "select": {}, "where": fn("greater")}, {"type": "SelectQuery", "select": {}}]}}
    v = decide(Parsed("", tree=tree), {where: Parsed(where, tree=union)})
    assert v.action == "refuse" and "not a single SELECT" in v.reason
    reads = {"type": "SelectWithUnionQuery", "list_of_selects": {"children": [
        {"type": "SelectQuery", "select": {}, "where": fn("file")}]}}
    v = decide(Parsed("", tree=tree), {where: Parsed(where, tree=reads)})
    assert v.action == "refuse" and "WHERE is refused: file()" in v.reason


def test_gate_ast_walks_deep_trees_without_recursion() -> None:
    node: dict[str, Any] = fn("file")
    for _ in range(20000):
        node = {"type": "Function", "name": "plus", "arguments": {"children": [node]}}
    v = gate_ast({"type": "SelectWithUnionQuery", "list_of_selects": node})
    assert v.action == "refuse" and "file()" in v.reason


def test_the_deepest_tree_clickhouse_gives_is_read_and_walked() -> None:
    depth = 1000  # ClickHouse's AST depth limit; three JSON levels a node (written out: json.dumps recurses too)
    inner = '{"type": "Function", "name": "file", "arguments": {"children": [{"type": "Literal"}]}}'
    nested = '{"type": "Function", "name": "plus", "arguments": {"children": [' * depth + inner + "]}}" * depth
    tree = '{"type": "SelectWithUnionQuery", "list_of_selects": ' + nested + "}"
    (parsed,) = parse_many(FakeEngine({("parseQueryToJSON", "deep"): EngineReply(tree)}), ["deep"])
    v = decide(parsed)
    assert v.action == "refuse" and "file() reaches host files" in v.reason


@pytest.mark.parametrize(("key", "text", "role"), [
    ("invalidate_query", "SELECT max(k) FROM file('/etc/hostname')", "statement"),
    ("update_field", "SELECT 1 WHERE updated, file('/etc/hostname')", "expression"),
    ("query", "SELECT k, file('/etc/hostname') FROM t", "statement"),
])
def test_every_sql_part_of_a_clickhouse_dictionary_source_is_gated(key: str, text: str, role: str) -> None:
    raw = text.removeprefix("SELECT 1 WHERE ") if role == "expression" else text
    tree = source("clickhouse", table="t", **{key: raw})
    reads = {"type": "SelectWithUnionQuery", "list_of_selects": {"children": [
        {"type": "SelectQuery", "select": {}, **({"where": fn("file")} if role == "expression" else {}),
         "tables": {"x": fn("file")}}]}}
    v = decide(Parsed("", tree=tree), {text: Parsed(text, tree=reads)})
    assert v.action == "refuse" and f"the dictionary's {key.upper()}" in v.reason, v.reason
    assert decide(Parsed("", tree=tree), {}).action == "refuse"  # not parsed: no run
