"""Gate bugs that once survived the whole suite (issue 18), each pinned by a test that fails with the bug in.

  * a table function in a JOIN (the tree's `table_function` key under a join) must be judged as a table
    function, like one after FROM;
  * `CREATE TABLE … AS fn()` (the tree's `as_table_function` key) must be judged as a table function;
  * the batched gate (`judge_many`: many texts, one parse request) must take ClickHouse's own verdict on each
    text: a text the parser rejects is refused, and a refusal of one text neither spreads to nor hides behind
    its neighbours.

The trees are ClickHouse's own replies (tests/data/gate/recorded_trees.json, recorded from the embedded
engine; tests/conformance/test_mutants_gate.py checks the engine still gives them and runs the same batch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chconform.gate.catalog import TABLE_FUNCTIONS
from chconform.gate.parse import EngineReply
from chconform.gate.policy import gate_ast, gate_sql, judge_many

RECORDED = json.loads((Path(__file__).resolve().parents[1] / "data" / "gate" / "recorded_trees.json")
                      .read_text(encoding="utf-8"))
TREES: dict[str, Any] = RECORDED["trees"]
SYNTAX_ERROR = RECORDED["syntax_error"]
BROKEN = "SELECT (1 +"

JOIN_FILE = "SELECT a.x FROM zakaz.t AS a JOIN file('/etc/passwd', 'CSV', 'x String') AS b ON a.x = b.x"
JOIN_REMOTE = "SELECT a.x FROM zakaz.t AS a LEFT JOIN remote('db.example:9000', 'zakaz', 't') AS b USING x"
JOIN_NUMBERS = "SELECT a.x FROM zakaz.t AS a JOIN numbers(10) AS b ON a.x = toString(b.number)"
AS_FILE = "CREATE TABLE zakaz.copy AS file('/etc/passwd', 'CSV', 'x String')"
AS_URL = "CREATE TABLE zakaz.copy AS url('http://db.example/x.csv', 'CSV', 'x String')"
AS_NUMBERS = "CREATE TABLE zakaz.copy AS numbers(10)"
MEMORY = "CREATE TABLE zakaz.t (x String) ENGINE = Memory"
AS_SELECT_JOIN_S3 = ("CREATE TABLE zakaz.t (x String) ENGINE = Memory AS SELECT x FROM zakaz.t "
                     "JOIN s3('http://bucket.example/x.csv') USING x")


def refusal(name: str) -> tuple[str, str]:
    """The verdict on a table function reaching outside: named as a table function, with what it reaches."""
    return "refuse", f"table function {name}() reaches {TABLE_FUNCTIONS[name]}"


def judged(text: str) -> tuple[str, str]:
    v = gate_ast(TREES[text])
    return v.action, v.reason


def test_the_recorded_trees_put_the_functions_where_the_tests_say() -> None:
    """The shape the tests rely on: JOIN fn() under `table_function`, CREATE … AS fn() under `as_table_function`."""
    def keys_of(tree: Any, name: str, key: str = "") -> set[str]:
        if isinstance(tree, dict):
            found = {key} if tree.get("type") == "Function" and tree.get("name") == name else set()
            return found.union(*(keys_of(v, name, k) for k, v in tree.items()))
        if isinstance(tree, list):
            return set().union(*(keys_of(v, name, key) for v in tree))
        return set()

    assert keys_of(TREES[JOIN_FILE], "file") == {"table_function"}
    assert keys_of(TREES[JOIN_REMOTE], "remote") == {"table_function"}
    assert keys_of(TREES[AS_FILE], "file") == {"as_table_function"}
    assert keys_of(TREES[AS_URL], "url") == {"as_table_function"}


@pytest.mark.parametrize(("text", "verdict"), [
    (JOIN_FILE, refusal("file")),
    (JOIN_REMOTE, refusal("remote")),
    (AS_SELECT_JOIN_S3, refusal("s3")),
    (JOIN_NUMBERS, ("run", "")),
], ids=["join-file", "left-join-remote", "create-as-select-join-s3", "join-numbers-inside"])
def test_a_table_function_in_a_join_is_judged_as_a_table_function(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


@pytest.mark.parametrize(("text", "verdict"), [
    (AS_FILE, refusal("file")),
    (AS_URL, refusal("url")),
    (AS_NUMBERS, ("run", "")),
], ids=["as-file", "as-url", "as-numbers-inside"])
def test_create_table_as_a_table_function_is_judged_as_a_table_function(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


class RecordedEngine:
    """parseQueryToJSON answered from the recorded replies; any other text gets the recorded syntax error."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def call(self, function: str, texts: Any) -> list[EngineReply]:
        self.calls.append((function, list(texts)))
        assert function == "parseQueryToJSON"
        return [EngineReply(json.dumps(TREES[t]), "") if t in TREES else EngineReply(None, SYNTAX_ERROR)
                for t in texts]


BATCH = [JOIN_NUMBERS, JOIN_FILE, BROKEN, AS_URL, MEMORY, AS_NUMBERS, JOIN_REMOTE]


def _verdicts(texts: list[str]) -> list[tuple[str, str]]:
    return [(v.action, v.reason) for v in judge_many(texts, RecordedEngine())]


def test_the_batched_gate_takes_clickhouses_verdict_on_each_text() -> None:
    engine = RecordedEngine()
    verdicts = [(v.action, v.reason) for v in judge_many(BATCH, engine)]
    assert engine.calls == [("parseQueryToJSON", BATCH)]  # one request for the whole batch
    no_tree = ("refuse", "ClickHouse's parser gives no tree, so it does not run: Code: 62. DB::Exception: Syntax "
                         "error: failed at position 12 (end of query): (1 +. Unmatched parentheses: '(' at position 8 "
                         "is never closed: In scope SELECT parseQueryToJSON('SELECT (1 +'). (SYNTAX_ERROR)")
    assert verdicts == [("run", ""), refusal("file"), no_tree, refusal("url"), ("run", ""), ("run", ""),
                        refusal("remote")]


def test_the_batch_gives_each_text_the_verdict_it_gets_alone() -> None:
    alone = [_verdicts([text])[0] for text in BATCH]
    assert _verdicts(BATCH) == alone
    assert _verdicts(list(reversed(BATCH))) == list(reversed(alone))
    assert [action for action, _ in alone] == ["run", "refuse", "refuse", "refuse", "run", "run", "refuse"]


def test_an_engine_error_on_one_text_refuses_that_text_only() -> None:
    assert _verdicts([MEMORY, BROKEN, MEMORY]) == [("run", ""), _verdicts([BROKEN])[0], ("run", "")]
    assert _verdicts([BROKEN])[0][0] == "refuse"


def test_the_token_classification_alone_never_runs_a_refused_table_function() -> None:
    """gate_sql (no tree) says "run" = "judge the tree"; the tree is what refuses: both steps are needed."""
    for text in (JOIN_FILE, AS_FILE):
        assert gate_sql(text, False).action == "run"
        assert gate_sql(text, False, TREES[text]).action == "refuse"
