"""ClickHouse's parse as the gate gets it (chconform.gate.parse), on replies recorded from the engine (issue 18).

`parse_many` asks the engine once for every text; what parses but does not serialise as JSON is asked
again: formatQuery's canonical text, then a JSON(...) type lifted out, DESCRIBE parsed as a SELECT, or
EXPLAIN AST for any other kind. Each case pins the Parsed it gives (text, tree or EXPLAIN tree, the kind
ClickHouse could not serialise, the markers, the error word for word, the canonical text) and the engine
calls it takes. Replies: tests/data/gate/replies/policy_parse.json (checked against the engine by
tests/conformance/test_gate_replies.py).
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from chconform.gate.parse import (
    ExplainNode,
    Parsed,
    _closing,
    _deep_json,
    _describe_as_select,
    _first_line,
    _from_json,
    explain_tree,
    lift_json_types,
    parse_many,
)
from chconform.sql.source import tokenize
from tests.gate_replay import ReplayEngine

RECORDING = "policy_parse"


def engine() -> ReplayEngine:
    return ReplayEngine(RECORDING)


def literal(value: int) -> dict[str, Any]:
    return {"type": "Literal", "value": {"field_type": "UInt64", "value": value}}


def select(*items: dict[str, Any], **clauses: Any) -> dict[str, Any]:
    """A SELECT's tree as parseQueryToJSON prints it."""
    query = {"type": "SelectQuery", "select": {"type": "ExpressionList", "children": list(items)}, **clauses}
    return {"type": "SelectWithUnionQuery", "union_mode": "UNION_DEFAULT",
            "list_of_selects": {"type": "ExpressionList", "children": [query]},
            "is_outfile_append": False, "is_outfile_truncate": False, "is_into_outfile_with_stdout": False}


def from_table(name: str) -> dict[str, Any]:
    return {"type": "TablesInSelectQuery", "children": [{"type": "TablesInSelectQueryElement", "table_expression": {
        "type": "TableExpression", "database_and_table_name": {"type": "TableIdentifier", "name": name}}}]}


ASTERISK = {"type": "Asterisk"}
SELECT_1 = select(literal(1))
SELECT_FROM_T = select(ASTERISK, tables=from_table("t"))

SYNTAX_ERROR = ("Code: 62. DB::Exception: Syntax error: failed at position 7 (1) (line 1, col 7): 1")
LONG_ERROR = ("Code: 62. DB::Exception: Syntax error: failed at position 14 (end of query): . Expected one of: table, "
              "table function, subquery or list of joined tables, table or subquery or table function, element of "
              "expression with optional alias, SELECT or EXPLAIN subquery, function, function name, compound ide…")


# --- one request for what serialises ----------------------------------------------------------------------------

def test_no_text_asks_the_engine_nothing() -> None:
    replay = engine()
    assert parse_many(replay, []) == []
    assert parse_many(replay, [], "parseDataToJSON") == []
    assert replay.calls == []


def test_each_text_gets_its_tree_or_the_first_line_of_clickhouses_error() -> None:
    replay = engine()
    texts = ["SELECT 1", "SELEC 1\nFROM t", "SELECT 1 FROM"]
    assert parse_many(replay, texts) == [
        Parsed("SELECT 1", tree=SELECT_1),
        Parsed("SELEC 1\nFROM t", error=SYNTAX_ERROR),  # the error's first line
        Parsed("SELECT 1 FROM", error=LONG_ERROR),  # 300 characters at most
    ]
    assert replay.calls == [("parseQueryToJSON", texts)]
    assert len(LONG_ERROR) == 300


def test_the_function_asked_is_the_one_named() -> None:
    """VALUES rows are parsed with parseDataToJSON (no query size limit): the same tree."""
    replay = engine()
    assert parse_many(replay, ["SELECT 1"], "parseDataToJSON") == [Parsed("SELECT 1", tree=SELECT_1)]
    assert replay.calls == [("parseDataToJSON", ["SELECT 1"])]


# --- what parses but does not serialise ---------------------------------------------------------------------------

SHOW = "SHOW CREATE TABLE t"
SHOW_EXPLAINED = ExplainNode("ShowCreateTableQuery", "t", (ExplainNode("Identifier", "t"),))


def test_another_kind_is_read_from_explain_ast_of_its_canonical_text() -> None:
    replay = engine()
    (parsed,) = parse_many(replay, [SHOW])
    assert parsed == Parsed(SHOW, explain=SHOW_EXPLAINED, kind="ShowCreateTableQuery__t")
    assert parsed.canonical == "SHOW CREATE TABLE t"
    assert replay.calls == [("parseQueryToJSON", [SHOW]), ("formatQuery", [SHOW]), ("explainAST", [SHOW])]


def test_explain_ast_keeps_each_nodes_kind_label_and_children_in_order() -> None:
    text = "SELECT 1 PARALLEL WITH SELECT 2"
    replay = engine()
    (parsed,) = parse_many(replay, [text])
    one = ExplainNode("SelectWithUnionQuery", "", (ExplainNode("ExpressionList", "", (ExplainNode(
        "SelectQuery", "", (ExplainNode("ExpressionList", "", (ExplainNode("Literal", "UInt64_1"),)),)),)),))
    two = ExplainNode("SelectWithUnionQuery", "", (ExplainNode("ExpressionList", "", (ExplainNode(
        "SelectQuery", "", (ExplainNode("ExpressionList", "", (ExplainNode("Literal", "UInt64_2"),)),)),)),))
    assert parsed == Parsed(text, explain=ExplainNode("ParallelWithQuery", "2 SelectWithUnionQuery", (one, two)),
                            kind="ParallelWithQuery_2_SelectWithUnionQuery")
    assert parsed.canonical == "SELECT 1\nPARALLEL WITH\nSELECT 2"


def test_a_kind_with_no_children_is_one_node() -> None:
    (parsed,) = parse_many(engine(), ["DROP FUNCTION f"])
    assert parsed == Parsed("DROP FUNCTION f", explain=ExplainNode("DropFunctionQuery", ""), kind="DropFunctionQuery")
    assert parsed.canonical == "DROP FUNCTION f"


def test_explain_ast_failing_is_no_tree_with_clickhouses_reason() -> None:
    text = "SHOW CREATE TABLE {t:Identifier}"
    replay = engine()
    (parsed,) = parse_many(replay, [text])
    assert parsed == Parsed(text, kind="ShowCreateTableQuery__", error="EXPLAIN AST fails: Code: 456. DB::Exception: "
                                                                       "Substitution `t` is not set. "
                                                                       "(UNKNOWN_QUERY_PARAMETER)")
    assert replay.calls[-1] == ("explainAST", [text])


def _depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    return depth


DEEP = "SELECT " + "(1 + " * 60 + "1" + ")" * 60 + " PARALLEL WITH SELECT 2"


def test_an_explain_tree_deeper_than_python_reads_is_no_tree() -> None:
    """EXPLAIN AST is read into nested nodes; past the interpreter's recursion limit that is no tree, not a crash
    (the limit is lowered here, so a short recorded reply is deep enough)."""
    replay = engine()
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_depth() + 120)  # parse_many's own calls fit; 120 nested sums do not
    try:
        (parsed,) = parse_many(replay, [DEEP])
    finally:
        sys.setrecursionlimit(old)
    assert parsed == Parsed(DEEP, kind="ParallelWithQuery_2_SelectWithUnionQuery",
                            error="EXPLAIN AST is deeper than the gate reads")
    (shallow,) = parse_many(replay, [DEEP])  # the same reply under the usual limit: a tree
    assert shallow.explain is not None and shallow.explain.kind == "ParallelWithQuery" and shallow.error == ""


@pytest.mark.parametrize(("text", "rewritten"), [
    ("DESC t", "SELECT * FROM t"),
    ("DESCRIBE TABLE t", "SELECT * FROM t"),
], ids=repr)
def test_describe_is_parsed_as_a_select_from_the_same_table(text: str, rewritten: str) -> None:
    replay = engine()
    (parsed,) = parse_many(replay, [text])
    assert parsed == Parsed(text, tree=SELECT_FROM_T, kind="DescribeQuery")
    assert parsed.canonical == rewritten
    assert replay.calls == [("parseQueryToJSON", [text]), ("formatQuery", [text]), ("parseQueryToJSON", [rewritten])]


def test_describe_keeps_its_subquery_and_settings() -> None:
    sub, settings = "DESCRIBE (SELECT 1)", "DESCRIBE TABLE t SETTINGS describe_compact_output = 1"
    replay = engine()
    parsed = parse_many(replay, [sub, settings])
    subquery = {"type": "TablesInSelectQuery", "children": [{"type": "TablesInSelectQueryElement",
                                                             "table_expression": {"type": "TableExpression",
                                                                                  "subquery": {"type": "Subquery",
                                                                                               "children": [SELECT_1]}}}]}
    set_compact = {"type": "SetQuery", "changes": [{"name": "describe_compact_output",
                                                    "value": {"field_type": "UInt64", "value": 1}}]}
    assert parsed == [Parsed(sub, tree=select(ASTERISK, tables=subquery), kind="DescribeQuery"),
                      Parsed(settings, tree=select(ASTERISK, tables=from_table("t"), settings=set_compact),
                             kind="DescribeQuery")]
    assert [p.canonical for p in parsed] == ["SELECT * FROM (\n    SELECT 1\n)",
                                             "SELECT * FROM t\nSETTINGS describe_compact_output = 1"]


JSON_TABLE = "CREATE TABLE t (a JSON(x UInt8)) ENGINE = Memory"
JSON_LIFTED = "CREATE TABLE t\n(\n    `a` ChconformJsonType0\n)\nENGINE = Memory"
TWO_JSON = "CREATE TABLE t (a JSON(x UInt8), b Array(JSON(y String))) ENGINE = Memory"
TWO_LIFTED = "CREATE TABLE t\n(\n    `a` ChconformJsonType0,\n    `b` Array(ChconformJsonType1)\n)\nENGINE = Memory"


def column(name: str, data_type: dict[str, Any]) -> dict[str, Any]:
    return {"type": "ColumnDeclaration", "name": name, "ephemeral_default": False, "primary_key_specifier": False,
            "data_type": data_type}


def data_type(name: str, *arguments: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "DataType", "name": name}
    if arguments:
        node["arguments"] = {"type": "ExpressionList", "children": list(arguments)}
    return node


_CREATE_FLAGS = ("attach", "if_not_exists", "is_ordinary_view", "is_materialized_view", "is_time_series_table",
                 "is_populate", "is_create_empty", "is_clone_as", "replace_view", "has_uuid", "has_uuid_clause",
                 "has_inner_uuid_clause", "is_dictionary", "replace_table", "create_or_replace", "has_attach_from_path")


def create_memory(*columns: dict[str, Any]) -> dict[str, Any]:
    """`CREATE TABLE t (…) ENGINE = Memory` as parseQueryToJSON prints it."""
    return {"type": "CreateQuery", "database": "", "table": "t", "table_ast": {"type": "Identifier", "name": "t"},
            **dict.fromkeys(_CREATE_FLAGS, False),
            "columns_list": {"type": "Columns definition", "columns": {"type": "ExpressionList",
                                                                       "children": list(columns)}},
            "storage": {"type": "Storage", "engine": {"type": "Function", "name": "Memory", "no_empty_args": True,
                                                      "kind": "TABLE_ENGINE"}},
            "is_outfile_append": False, "is_outfile_truncate": False, "is_into_outfile_with_stdout": False}


def test_a_json_type_is_lifted_out_and_its_marker_parsed_in_its_place() -> None:
    replay = engine()
    (parsed,) = parse_many(replay, [JSON_TABLE])
    assert parsed == Parsed(JSON_TABLE, tree=create_memory(column("a", data_type("ChconformJsonType0"))),
                            kind="ASTObjectTypeArgument", markers=("ChconformJsonType0",))
    assert parsed.canonical == JSON_LIFTED
    assert replay.calls == [("parseQueryToJSON", [JSON_TABLE]), ("formatQuery", [JSON_TABLE]),
                            ("parseQueryToJSON", [JSON_LIFTED])]


def test_each_json_type_gets_its_own_marker() -> None:
    (parsed,) = parse_many(engine(), [TWO_JSON])
    assert parsed == Parsed(TWO_JSON, tree=create_memory(
        column("a", data_type("ChconformJsonType0")),
        column("b", data_type("Array", data_type("ChconformJsonType1")))),
        kind="ASTObjectTypeArgument", markers=("ChconformJsonType0", "ChconformJsonType1"))
    assert parsed.canonical == TWO_LIFTED


JSON_SOURCE = ("CREATE DICTIONARY d (k UInt64, v JSON(a UInt8)) PRIMARY KEY k SOURCE(JSON()) LAYOUT(FLAT()) "
               "LIFETIME(0)")


def test_a_rewrite_clickhouse_does_not_parse_is_no_tree_with_its_reason() -> None:
    """A source named JSON is lifted too (it looks like the type); `SOURCE(marker)` is no dictionary source."""
    (parsed,) = parse_many(engine(), [JSON_SOURCE])
    assert parsed == Parsed(JSON_SOURCE, kind="ASTObjectTypeArgument", error=(
        "the rewritten text does not parse: Code: 62. DB::Exception: Syntax error: failed at position 107 ()) "
        "(line 7, col 26): )"))


def test_one_batch_keeps_every_text_in_its_place_whatever_path_it_takes() -> None:
    texts = ["SELEC 1\nFROM t", SHOW, "DESC t", "SELECT 1", JSON_TABLE, "DROP FUNCTION f", "DESCRIBE TABLE t"]
    replay = engine()
    parsed = parse_many(replay, texts)
    assert parsed == [
        Parsed("SELEC 1\nFROM t", error=SYNTAX_ERROR),
        Parsed(SHOW, explain=SHOW_EXPLAINED, kind="ShowCreateTableQuery__t"),
        Parsed("DESC t", tree=SELECT_FROM_T, kind="DescribeQuery"),
        Parsed("SELECT 1", tree=SELECT_1),
        Parsed(JSON_TABLE, tree=create_memory(column("a", data_type("ChconformJsonType0"))),
               kind="ASTObjectTypeArgument", markers=("ChconformJsonType0",)),
        Parsed("DROP FUNCTION f", explain=ExplainNode("DropFunctionQuery", ""), kind="DropFunctionQuery"),
        Parsed("DESCRIBE TABLE t", tree=SELECT_FROM_T, kind="DescribeQuery"),
    ]
    assert [p.canonical for p in parsed] == ["", SHOW, "SELECT * FROM t", "", JSON_LIFTED, "DROP FUNCTION f",
                                             "SELECT * FROM t"]
    stuck = [SHOW, "DESC t", JSON_TABLE, "DROP FUNCTION f", "DESCRIBE TABLE t"]
    assert replay.calls == [("parseQueryToJSON", texts), ("formatQuery", stuck),
                            ("parseQueryToJSON", ["SELECT * FROM t", JSON_LIFTED, "SELECT * FROM t"]),
                            ("explainAST", [SHOW, "DROP FUNCTION f"])]


# --- the pure helpers -------------------------------------------------------------------------------------------

def test_a_reply_that_is_no_json_object_is_no_tree() -> None:
    assert _from_json("q", '{"type": "SelectQuery"}') == Parsed("q", tree={"type": "SelectQuery"})
    assert _from_json("q", "{") == Parsed("q", error="ClickHouse's parse is not valid JSON")
    assert _from_json("q", "") == Parsed("q", error="ClickHouse's parse is not valid JSON")
    assert _from_json("q", "[1]") == Parsed("q", error="ClickHouse's parse is not a tree")
    assert _from_json("q", '"SelectQuery"') == Parsed("q", error="ClickHouse's parse is not a tree")


def test_a_reply_too_deep_even_for_the_raised_limit_is_not_valid_json() -> None:
    old = sys.getrecursionlimit()
    assert _from_json("q", "[" * 30_000 + "]" * 30_000) == Parsed("q", error="ClickHouse's parse is not valid JSON")
    assert sys.getrecursionlimit() == old


def test_a_deep_reply_is_decoded_and_the_recursion_limit_put_back() -> None:
    old = sys.getrecursionlimit()
    assert _deep_json('{"a": ' * 3000 + "1" + "}" * 3000) is not None
    assert sys.getrecursionlimit() == old


@pytest.mark.parametrize(("error", "line"), [
    ("", "no reply"),
    (" \n\t", "no reply"),
    ("Code: 1. x", "Code: 1. x"),
    ("\n  Code: 1. first\nsecond\n", "Code: 1. first"),
    ("y" * 300, "y" * 300),
    ("y" * 301, "y" * 299 + "…"),
    ("z" * 299 + "\nnext", "z" * 299),
], ids=lambda v: repr(v)[:20])
def test_an_error_is_its_first_line_cut_at_300_characters(error: str, line: str) -> None:
    assert _first_line(error) == line


@pytest.mark.parametrize(("canonical", "lifted"), [
    ("JSON(a UInt8)", ("ChconformJsonType0", ("ChconformJsonType0",))),
    ("Array(JSON(a UInt8))", ("Array(ChconformJsonType0)", ("ChconformJsonType0",))),
    ("f(x) JSON(a)", ("f(x) ChconformJsonType0", ("ChconformJsonType0",))),
    ("JSON(a)JSON(b)", ("ChconformJsonType0ChconformJsonType1", ("ChconformJsonType0", "ChconformJsonType1"))),
    ("json(a, Tuple(b UInt8))", ("ChconformJsonType0", ("ChconformJsonType0",))),
    ("SELECT json", ("SELECT json", ())),
    ("SELECT json x", ("SELECT json x", ())),
    ("SELECT 1", ("SELECT 1", ())),
    ("", ("", ())),
    ("SELECT JSON(", None),  # never closed
    ("SELECT JSON((a)", None),
    ("SELECT 'open", None),  # not lexed
], ids=repr)
def test_lifting_replaces_each_json_type_with_its_own_marker(canonical: str,
                                                             lifted: tuple[str, tuple[str, ...]] | None) -> None:
    assert lift_json_types(canonical) == lifted


@pytest.mark.parametrize(("text", "start", "close"), [
    ("(a)", 0, 2),
    ("x(a(b)c)d)", 1, 7),
    ("x(a(b)c)d)", 3, 5),
    ("x(')')", 1, 3),  # a parenthesis in a string is no parenthesis
    ("x(`)`)", 1, 3),
    ("(a", 0, None),
    (")(", 0, None),
], ids=repr)
def test_the_closing_parenthesis_is_the_one_that_matches(text: str, start: int, close: int | None) -> None:
    assert _closing(tokenize(text), start) == close


@pytest.mark.parametrize(("canonical", "rewritten"), [
    ("DESCRIBE TABLE t", "SELECT * FROM t"),
    ("DESCRIBE TABLE\n(\n    SELECT 1\n)", "SELECT * FROM (\n    SELECT 1\n)"),
    ("DESCRIBE t", "SELECT * FROM t"),
    ("describe table t", None),
    ("SHOW CREATE TABLE t", None),
], ids=repr)
def test_describe_becomes_a_select_from_its_table_expression(canonical: str, rewritten: str | None) -> None:
    assert _describe_as_select(canonical) == rewritten


def test_explain_lines_nest_by_indentation() -> None:
    dump = "A x (children 2)\n B\n  C 'c d'\n\n D y\n"
    assert explain_tree(dump) == ExplainNode("A", "x", (ExplainNode("B", "", (ExplainNode("C", "'c d'"),)),
                                                        ExplainNode("D", "y")))


def test_explain_labels_lose_their_padding_and_child_count() -> None:
    assert explain_tree("Show  t (children 1)\n Identifier t\n") == ExplainNode("Show", "t", (
        ExplainNode("Identifier", "t"),))
    assert explain_tree("Literal '(children 2)'") == ExplainNode("Literal", "'(children 2)'")


def test_several_top_nodes_hang_under_one_nameless_root() -> None:
    assert explain_tree("A\nB 1\n C\n") == ExplainNode("", "", (ExplainNode("A", ""),
                                                                ExplainNode("B", "1", (ExplainNode("C", ""),))))
    assert explain_tree("") == ExplainNode("", "", ())
