"""The gate's decisions on ClickHouse's own trees (chconform.gate.decide), each refusal reason pinned exactly.

The reasons are what a user reads when a statement does not run, so every test asserts the whole text. The
trees are ClickHouse's replies recorded once from the embedded engine (tests/data/gate/replies/decide_trees.json,
replayed by tests/gate_replay.py; tests/conformance/test_gate_replies.py checks the engine still gives them).
The statements with no JSON tree (access control, EXPLAIN AST kinds) are in test_mutants_gate_decide_explain.py.
"""

from __future__ import annotations

import pytest

from chconform.gate.decide import RUN, SubText, Verdict, decide, refusal, subtexts, subtexts_of, values_rows
from chconform.gate.parse import Parsed, parse_many
from tests.gate_replay import ReplayEngine

ENGINE = ReplayEngine("decide_trees")


def parse(text: str) -> Parsed:
    (parsed,) = parse_many(ENGINE, [text])
    return parsed


def judged(text: str, rows: str | None = None) -> tuple[str, str]:
    """The verdict on `text` (and on INSERT VALUES `rows`), every text it carries parsed as the gate does."""
    head = parse(text)
    carried = [values_rows(rows)] if rows is not None else []
    texts = [sub.text for sub in [*carried, *subtexts_of(head)]]
    subtrees = dict(zip(texts, parse_many(ENGINE, texts))) if texts else {}
    verdict = decide(head, subtrees, False, carried)
    return verdict.action, verdict.reason


def refused(reason: str) -> tuple[str, str]:
    return "refuse", reason


RAN = ("run", "")
NET = "the network (object stores, URLs, other databases)"
DICT = "CREATE DICTIONARY zakaz.d (k UInt64, v String) PRIMARY KEY k"
CH_ALLOWED = ("(allowed: HOST on this server, DB, TABLE, QUERY, WHERE, INVALIDATE_QUERY, UPDATE_FIELD, UPDATE_LAG)")
SOURCE_ALLOWED = "(allowed: CLICKHOUSE on this server, NULL)"


def dictionary(source: str, layout: str = "FLAT()") -> str:
    return f"{DICT} SOURCE({source}) LAYOUT({layout}) LIFETIME(0)"


# --- statement kinds -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "verdict"), [
    ("SYSTEM FLUSH LOGS", RAN),
    ("SYSTEM STOP MERGES zakaz.t", RAN),
    ("SYSTEM PREWARM MARK CACHE zakaz.t", RAN),
    ("SYSTEM RELOAD DICTIONARY zakaz.d", RAN),
    ("SYSTEM STOP LISTEN HTTP", refused("SYSTEM statements control the server, not the schema")),
    ("SYSTEM START LISTEN HTTP", refused("SYSTEM statements control the server, not the schema")),
    ("SYSTEM CLEAR FILESYSTEM CACHE", refused("SYSTEM statements control the server, not the schema")),
    ("SYSTEM SHUTDOWN", refused("SYSTEM statements control the server, not the schema")),
    ("SYSTEM RELOAD CONFIG", refused("SYSTEM statements control the server, not the schema")),
    ("KILL QUERY WHERE 1", refused("KILL statements stop other queries, not part of a schema")),
    ("KILL MUTATION WHERE 1", refused("KILL statements stop other queries, not part of a schema")),
    ("BACKUP TABLE zakaz.t TO Disk('backups', 'x.zip')", refused("BACKUP and RESTORE read and write outside the engine")),
    ("SHOW TABLES", RAN),
    ("SET TRANSACTION SNAPSHOT 1", RAN),
    ("DETACH TABLE zakaz.t", RAN),
    ("EXPLAIN SELECT 1", RAN),
], ids=lambda v: v if isinstance(v, str) else None)
def test_each_statement_kind_runs_or_is_refused_with_its_reason(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


# --- what any node may reach ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "verdict"), [
    ("SELECT 1 INTO OUTFILE 'x'", refused("INTO OUTFILE writes a file on the host")),
    ("INSERT INTO zakaz.t FROM INFILE 'x.csv' FORMAT CSV", refused("FROM INFILE reads a file from the host")),
    ("ATTACH TABLE zakaz.t FROM '/tmp/x' (a UInt8) ENGINE = Memory",
     refused("ATTACH … FROM '/tmp/x' moves host files into the engine")),
    # an empty path: ClickHouse prints no attach_from_path, only has_attach_from_path
    ("ATTACH TABLE zakaz.t FROM '' (a UInt8) ENGINE = Memory", refused("ATTACH … FROM '' moves host files into the engine")),
    ("SELECT * FROM {p:Identifier}", refused("a query parameter names an object the gate cannot see; write the name")),
    ("SELECT {p:UInt8}", RAN),
], ids=["outfile", "infile", "attach-from-path", "attach-from-empty-path", "identifier-parameter", "value-parameter"])
def test_what_a_node_reaches_on_the_host(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


@pytest.mark.parametrize(("text", "verdict"), [
    ("SET max_threads = 2, dialect = 'kusto'",
     refused("setting dialect lets the engine read SQL in another dialect, text the gate never parsed")),
    ("SET max_threads = 2", RAN),
    ("SET dialect = DEFAULT", RAN),  # back to the default: nothing changes
    ("SELECT 1 SETTINGS additional_result_filter = 'x > 1'",
     refused("setting additional_result_filter changes what queries read or return without it showing in the "
             "statement")),
    # the value reaches the allow-list: only the default disk may be named
    ("CREATE TABLE zakaz.t (a UInt8) ENGINE = MergeTree ORDER BY a SETTINGS disk = 'default'", RAN),
    ("CREATE TABLE zakaz.t (a UInt8) ENGINE = MergeTree ORDER BY a SETTINGS disk = 'cold'",
     refused("setting disk names a file, URL, disk or path outside the engine")),
], ids=["set-dialect", "set-threads", "set-default", "select-settings", "default-disk", "other-disk"])
def test_settings_anywhere_pass_the_allow_list(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


# --- functions, engines ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "verdict"), [
    ("CREATE TABLE zakaz.t (a UInt8) ENGINE = Nonesuch",
     refused("engine Nonesuch is not one ClickHouse lists as classified (chconform.gate.catalog)")),
    ("CREATE TABLE zakaz.t (a String) ENGINE = File(CSV)", refused("engine File reaches host files")),
    ("CREATE DATABASE d ENGINE = MySQL('db.example:3306', 'x', 'u', 'p')", refused(f"engine MySQL reaches {NET}")),
    ("CREATE DATABASE d ENGINE = Atomic", RAN),
    ("CREATE TABLE zakaz.t (a UInt8) ENGINE = EmbeddedRocksDB PRIMARY KEY a", RAN),
    ("CREATE TABLE zakaz.t (a UInt8) ENGINE = EmbeddedRocksDB(0) PRIMARY KEY a", RAN),  # a TTL, no directory
    ("CREATE TABLE zakaz.t (a UInt8) ENGINE = EmbeddedRocksDB(0, '/tmp/x') PRIMARY KEY a",
     refused("EmbeddedRocksDB with a directory argument keeps its data in a host path")),
], ids=["unknown-engine", "file-engine", "mysql-database", "atomic-database", "rocksdb", "rocksdb-ttl",
        "rocksdb-directory"])
def test_engines_are_judged_by_the_catalog(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


@pytest.mark.parametrize(("text", "verdict"), [
    ("SELECT * FROM file('x.csv')", refused("table function file() reaches host files")),
    ("SELECT * FROM remote('db.example', zakaz.t)", refused("table function remote() reaches other ClickHouse servers")),
    ("SELECT * FROM numbers(3)", RAN),
    ("SELECT * FROM zakaz.by_day(day = 1)", RAN),  # no table function: a parameterized view
    ("INSERT INTO FUNCTION url('http://db.example/x', 'CSV', 'a UInt8') SELECT 1",
     refused(f"table function url() reaches {NET}")),
    ("INSERT INTO FUNCTION null('a UInt8') SELECT 1", RAN),
    # a table function's name anywhere else is still what it reaches, in the case it is written
    ("SELECT FILE('x.csv')", refused("FILE() reaches host files")),
    ("SELECT length(s3('http://bucket.example/x'))", refused(f"s3() reaches {NET}")),
    ("SELECT filesystemAvailable()", refused("filesystemAvailable() reads the host's disks")),
    ("SELECT aiGenerate('x')", refused("aigenerate() calls a model service on the network")),
    ("SELECT hasColumnInTable('zakaz', 't', 'a')", RAN),
    ("SELECT hasColumnInTable('localhost', 'zakaz', 't', 'a')",
     refused("hasColumnInTable() with a host connects to another server")),
    ("SELECT plus(1, 2)", RAN),
], ids=["file", "remote", "numbers", "parameterized-view", "insert-into-url", "insert-into-null", "scalar-FILE",
        "scalar-s3", "filesystem", "ai", "column-in-table-3", "column-in-table-4", "plus"])
def test_functions_are_judged_by_name_and_position(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


def test_the_walk_reaches_every_depth_of_the_tree() -> None:
    text = "SELECT a FROM (SELECT 1 AS a WHERE a IN (SELECT number FROM numbers(1) WHERE plus(1, file('x')) > 0))"
    assert judged(text) == refused("file() reaches host files")


# --- dictionaries ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "verdict"), [
    (dictionary("NULL()"), RAN),
    (f"{DICT} LAYOUT(FLAT()) LIFETIME(0)", RAN),  # no source at all
    (dictionary("NULL()", "SSD_CACHE(PATH '/tmp/x')"),
     refused("a dictionary with layout SSD_CACHE writes a cache file on the host")),
    (dictionary("NULL()", "COMPLEX_KEY_SSD_CACHE(PATH '/tmp/x')"),
     refused("a dictionary with layout COMPLEX_KEY_SSD_CACHE writes a cache file on the host")),
    (dictionary("NULL()", "HASHED()"), RAN),
    (dictionary("NULL(a 1)"), refused("a NULL dictionary source takes no arguments")),
    (dictionary("FILE(PATH '/tmp/x' FORMAT 'CSV')"),
     refused(f"a dictionary with a FILE source reaches host files {SOURCE_ALLOWED}")),
    (dictionary("NONESUCH()"), refused(f"a dictionary with a NONESUCH source reaches outside the engine {SOURCE_ALLOWED}")),
    (dictionary("CLICKHOUSE(TABLE 't' DB 'zakaz' UPDATE_LAG 5)"), RAN),
    (dictionary("CLICKHOUSE(HOST 'LocalHost' TABLE 't')"), RAN),
    (dictionary("CLICKHOUSE(HOST '::1' TABLE 't')"), RAN),
    (dictionary("CLICKHOUSE(HOST '' TABLE 't')"), RAN),
    (dictionary("CLICKHOUSE(HOST 'db.example' TABLE 't')"),
     refused("a dictionary with a CLICKHOUSE source on HOST 'db.example' reaches another server")),
    (dictionary("CLICKHOUSE(HOST concat('local', 'host') TABLE 't')"),
     refused("the dictionary's HOST is an expression; write it as a literal")),
    (dictionary("CLICKHOUSE(TABLE 't' PORT 9000)"), refused(f"a CLICKHOUSE dictionary source with PORT may reach "
                                                            f"another server or user {CH_ALLOWED}")),
    (dictionary("CLICKHOUSE(TABLE 't' USER 'default')"), refused(f"a CLICKHOUSE dictionary source with USER may reach "
                                                                 f"another server or user {CH_ALLOWED}")),
], ids=["null", "no-source", "ssd-cache", "complex-key-ssd-cache", "hashed", "null-with-arguments", "file",
        "unknown-source", "clickhouse-local", "host-case", "host-ipv6", "host-empty", "host-remote", "host-expression",
        "port", "user"])
def test_a_dictionary_source_stays_on_this_server(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


# --- SQL a statement carries as text --------------------------------------------------------------------------

WHERE = dictionary("CLICKHOUSE(TABLE 't' WHERE 'k > 1')")
ALL_TEXTS = dictionary("CLICKHOUSE(TABLE 't' QUERY 'SELECT k, v FROM zakaz.t' INVALIDATE_QUERY 'SELECT max(k) FROM "
                       "zakaz.t' UPDATE_FIELD 'k' WHERE 'v != \\'\\'')")


def test_a_dictionary_names_each_sql_text_of_its_source_in_order() -> None:
    assert subtexts_of(parse(ALL_TEXTS)) == [
        SubText("SELECT k, v FROM zakaz.t", "statement", "the dictionary's QUERY"),
        SubText("SELECT max(k) FROM zakaz.t", "statement", "the dictionary's INVALIDATE_QUERY"),
        SubText("SELECT 1 WHERE k", "expression", "the dictionary's UPDATE_FIELD"),
        SubText("SELECT 1 WHERE v != ''", "expression", "the dictionary's WHERE"),
    ]
    assert judged(ALL_TEXTS) == RAN


def test_only_a_source_and_only_its_text_values_are_sql() -> None:
    assert subtexts(parse(dictionary("NULL()")).tree or {}) == []
    assert subtexts(parse(f"{DICT} LAYOUT(FLAT()) LIFETIME(0)").tree or {}) == []
    # a table name and a number are no SQL; an expression is refused as one (never parsed as text)
    assert subtexts_of(parse(dictionary("CLICKHOUSE(TABLE 't' UPDATE_LAG 5)"))) == []
    expression = dictionary("CLICKHOUSE(TABLE 't' QUERY concat('SELECT ', '1'))")
    assert subtexts_of(parse(expression)) == []
    assert judged(expression) == refused("the dictionary's QUERY is an expression; write it as a literal")
    # a column named `source` holds no dictionary source
    assert subtexts_of(parse("SELECT source FROM zakaz.t WHERE source = 'x'")) == []


@pytest.mark.parametrize(("text", "verdict"), [
    (WHERE, RAN),
    (dictionary("CLICKHOUSE(QUERY 'SELECT k, v FROM zakaz.t GROUP BY k, v')"), RAN),
    (dictionary("CLICKHOUSE(QUERY 'SELECT k, v FROM file(\\'x.csv\\')')"),
     refused("the dictionary's QUERY is refused: table function file() reaches host files")),
    (dictionary("CLICKHOUSE(TABLE 't' WHERE 'file(\\'x\\') != \\'\\'')"),
     refused("the dictionary's WHERE is refused: file() reaches host files")),
    (dictionary("CLICKHOUSE(QUERY 'SELECT 1 UNION ALL SELECT 2')"), refused("the dictionary's QUERY is not a single SELECT")),
    (dictionary("CLICKHOUSE(QUERY 'INSERT INTO zakaz.t SELECT 1')"),
     refused("the dictionary's QUERY is not a single SELECT")),
    (dictionary("CLICKHOUSE(QUERY 'SELECT 1 FORMAT JSON')"), refused("the dictionary's QUERY is not a single SELECT")),
    (dictionary("CLICKHOUSE(TABLE 't' WHERE 'k > 1 GROUP BY k')"),
     refused("the dictionary's WHERE is not a single expression")),
    (dictionary("CLICKHOUSE(TABLE 't' UPDATE_FIELD 'k UNION ALL SELECT 2')"),
     refused("the dictionary's UPDATE_FIELD is not a single SELECT")),
    (dictionary("CLICKHOUSE(TABLE 't' WHERE 'k > 1)')"),
     refused("the dictionary's WHERE is not SQL ClickHouse parses: Code: 62. DB::Exception: Syntax error: failed at "
             "position 21 ()): ). Unmatched parentheses: ')' at position 21 has no matching opening bracket: In scope "
             "SELECT parseQueryToJSON('SELECT 1 WHERE k > 1)'). (SYNTAX_ERROR)")),
    # a QUERY ClickHouse parses but cannot serialise has no tree to judge
    (dictionary("CLICKHOUSE(QUERY 'SHOW CREATE TABLE zakaz.t')"),
     refused("the dictionary's QUERY is not SQL ClickHouse parses: no tree")),
], ids=["where", "query-group-by", "query-file", "where-file", "query-union", "query-insert", "query-format",
        "where-group-by", "update-field-union", "where-syntax", "query-no-tree"])
def test_what_a_dictionary_carries_passes_as_one_select_that_passes_the_gate(text: str,
                                                                              verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


def test_a_carried_text_nobody_parsed_does_not_run() -> None:
    parsed = parse(WHERE)
    reason = "the dictionary's WHERE was not parsed, so it does not run"
    assert decide(parsed) == Verdict("refuse", reason)
    assert decide(parsed, {}) == Verdict("refuse", reason)
    assert decide(parsed, {"SELECT 1 WHERE k > 1": parse("SELECT 1 WHERE k > 1")}) == RUN


def test_the_values_rows_are_one_select_of_expressions() -> None:
    assert values_rows(" (1, 'a'), (2, 'b');  \n") == SubText("SELECT (1, 'a'), (2, 'b')", "values", "the VALUES rows")
    assert values_rows("(1)") == SubText("SELECT (1)", "values", "the VALUES rows")


@pytest.mark.parametrize(("rows", "verdict"), [
    ("(1), (2)", RAN),
    ("(1), (file('x'))", refused("the VALUES rows is refused: file() reaches host files")),
    ("(1) WHERE 1", refused("the VALUES rows is not a single expression")),
    ("(1) UNION ALL SELECT 2", refused("the VALUES rows is not a single SELECT")),
], ids=["literals", "file", "where", "union"])
def test_an_inserts_values_rows_pass_as_expressions(rows: str, verdict: tuple[str, str]) -> None:
    assert judged("INSERT INTO zakaz.t VALUES", rows) == verdict


def test_the_rows_are_judged_before_what_the_tree_carries() -> None:
    rows = values_rows("(file('x'))")
    head = parse("INSERT INTO zakaz.t VALUES")
    assert decide(head, {}, False, [rows]) == Verdict("refuse", "the VALUES rows was not parsed, so it does not run")
    assert decide(head, {rows.text: parse(rows.text)}, False, [rows]) == Verdict(
        "refuse", "the VALUES rows is refused: file() reaches host files")


# --- no tree, lifted JSON types, the message shown ------------------------------------------------------------


def test_no_tree_no_run_with_clickhouses_reason() -> None:
    broken = parse("SELECT (1 +")
    assert decide(broken) == Verdict("refuse", "ClickHouse's parser gives no tree, so it does not run: Code: 62. "
                                     "DB::Exception: Syntax error: failed at position 12 (end of query): (1 +. "
                                     "Unmatched parentheses: '(' at position 8 is never closed: In scope SELECT "
                                     "parseQueryToJSON('SELECT (1 +'). (SYNTAX_ERROR)")
    assert decide(Parsed("SELECT (1 +")) == Verdict("refuse", "ClickHouse's parser gives no tree, so it does not run: "
                                                    "no parse")


def test_a_json_type_comes_back_as_a_column_type_once() -> None:
    typed = parse("CREATE TABLE zakaz.j (a JSON(x UInt8)) ENGINE = Memory")
    assert typed.markers == ("ChconformJsonType0",) and decide(typed) == RUN
    elsewhere = parse("CREATE TABLE zakaz.j (a JSON(x UInt8) DEFAULT JSON(1)) ENGINE = Memory")
    assert elsewhere.markers == ("ChconformJsonType0", "ChconformJsonType1")
    assert decide(elsewhere) == Verdict("refuse", "a JSON(...) that is not a column type stands where ClickHouse "
                                                  "cannot serialise the tree")


def test_a_refusal_in_a_lifted_tree_is_not_hidden_by_the_marker_check() -> None:
    text = "CREATE TABLE zakaz.j (a JSON(x UInt8)) ENGINE = File(JSONEachRow)"
    assert parse(text).markers == ("ChconformJsonType0",)
    assert judged(text) == refused("engine File reaches host files")


def test_the_message_shown_leaves_out_our_parse_call_only() -> None:
    call = "Unknown identifier x: In scope SELECT parseQueryToJSON('a In scope SELECT b'). (UNKNOWN_IDENTIFIER)"
    assert refusal(Verdict("refuse", call)) == (None, "REFUSED", "Unknown identifier x")
    kept = "the dictionary's QUERY is not a single SELECT."
    assert refusal(Verdict("refuse", kept)) == (None, "REFUSED", kept)
    ending = "engine X: In scope SELECT parseQueryToJSON('x')"
    assert refusal(Verdict("refuse", ending)) == (None, "REFUSED", "engine X")
