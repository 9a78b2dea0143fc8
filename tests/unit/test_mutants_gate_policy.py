"""The gate's entry points (chconform.gate.policy), on ClickHouse's replies recorded from the engine (issue 18).

`judge_many` is the whole gate for a batch: classification by tokens (access control skipped without a
server, several statements refused), one parse of every head, VALUES rows that are not plain literals
parsed as SQL, the SQL a dictionary carries parsed too, an INSERT's data format checked against the
parse. Each case pins the verdicts word for word and the engine calls the batch takes; a stopping
engine names the first text not judged. Replies: tests/data/gate/replies/policy_judge.json (checked
against the engine by tests/conformance/test_gate_replies.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from chconform.gate.decide import SKIP_ACCESS, Verdict
from chconform.gate.parse import EngineReply
from chconform.gate.policy import GateStopped, _format_agrees, _literal_rows, gate, gate_ast, gate_sql, judge_many
from chconform.sql.source import split_statements
from tests.gate_replay import ReplayEngine

RECORDING = "policy_judge"

RUN = Verdict("run")
SKIP = Verdict("skip", SKIP_ACCESS)
SEVERAL = Verdict("refuse", "several statements in one call; send them one at a time so each is gated")
READS_FILE = "file() reaches host files"
NOT_WHERE_IT_SEEMS = Verdict("refuse", "ClickHouse does not read this INSERT's inline data where it seems to start "
                                       "(its parse names no such format); write the data format plainly")

SELECT = "SELECT 1"
GRANT = "GRANT SELECT ON t TO u"
TWO = "SELECT 1; SELECT 2"
FILE = "SELECT file('/etc/hostname')"
LITERALS = "INSERT INTO t VALUES (1, 'a'), (NULL, -2.5e3), (true, [inf, nan])"
SUM = "INSERT INTO t VALUES (plus(1, 1))"
FILE_ROW = "INSERT INTO t VALUES (file('/etc/hostname'))"
CSV = "INSERT INTO t FORMAT CSV\n1,file('x')\n"
QUOTED_CSV = 'INSERT INTO t FORMAT "CSV" 1,2'
ALIAS_VALUES = "INSERT INTO t SELECT * FROM input('a UInt8') AS values FORMAT TSV\n1\n"
INPUT_CSV = "INSERT INTO t SELECT * FROM input('a UInt8') FORMAT CSV\n1\n"
DICTIONARY = ("CREATE DICTIONARY d (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(QUERY 'SELECT k, v FROM t')) "
              "LAYOUT(FLAT()) LIFETIME(0)")
DICTIONARY_FILE = ("CREATE DICTIONARY d (k UInt64, v String) PRIMARY KEY k "
                   "SOURCE(CLICKHOUSE(QUERY 'SELECT k, file(v) FROM t')) LAYOUT(FLAT()) LIFETIME(0)")
USER = "CREATE USER u SETTINGS max_threads = 1"
USER_DIALECT = "CREATE USER u SETTINGS dialect = 'kusto'"

ROWS = {LITERALS: "SELECT (1, 'a'), (NULL, -2.5e3), (true, [inf, nan])", SUM: "SELECT (plus(1, 1))",
        FILE_ROW: "SELECT (file('/etc/hostname'))"}
QUERY, QUERY_FILE = "SELECT k, v FROM t", "SELECT k, file(v) FROM t"


def engine() -> ReplayEngine:
    return ReplayEngine(RECORDING)


def head(text: str) -> str:
    return {LITERALS: "INSERT INTO t VALUES", SUM: "INSERT INTO t VALUES", FILE_ROW: "INSERT INTO t VALUES",
            CSV: "INSERT INTO t FORMAT CSV", QUOTED_CSV: 'INSERT INTO t FORMAT "CSV"',
            ALIAS_VALUES: "INSERT INTO t SELECT * FROM input('a UInt8') AS values",
            INPUT_CSV: "INSERT INTO t SELECT * FROM input('a UInt8') FORMAT CSV"}.get(text, text)


# --- one batch --------------------------------------------------------------------------------------------------

def test_a_batch_gets_each_verdict_in_a_few_engine_calls() -> None:
    texts = [SELECT, GRANT, TWO, FILE, LITERALS, SUM, FILE_ROW, CSV, QUOTED_CSV, DICTIONARY]
    replay = engine()
    assert judge_many(texts, replay) == [
        RUN, SKIP, SEVERAL, Verdict("refuse", READS_FILE), RUN, RUN,
        Verdict("refuse", f"the VALUES rows is refused: {READS_FILE}"), RUN, NOT_WHERE_IT_SEEMS, RUN]
    heads = [SELECT, FILE, "INSERT INTO t VALUES", "INSERT INTO t VALUES", "INSERT INTO t VALUES",
             "INSERT INTO t FORMAT CSV", 'INSERT INTO t FORMAT "CSV"', DICTIONARY]
    assert replay.calls == [
        ("parseQueryToJSON", heads),
        ("normalizeQuery", [ROWS[LITERALS], ROWS[SUM], ROWS[FILE_ROW]]),  # which rows are more than literals
        ("parseQueryToJSON", [QUERY]),  # the dictionary's QUERY
        ("parseDataToJSON", [ROWS[SUM], ROWS[FILE_ROW]]),  # the rows that are
    ]


def test_a_text_judged_by_its_tokens_alone_does_not_stop_the_batch() -> None:
    replay = engine()
    assert judge_many([GRANT, FILE, TWO, SELECT], replay) == [SKIP, Verdict("refuse", READS_FILE), SEVERAL, RUN]
    assert replay.calls == [("parseQueryToJSON", [FILE, SELECT])]


def test_a_batch_with_nothing_to_parse_asks_the_engine_nothing() -> None:
    replay = engine()
    assert judge_many([GRANT, TWO], replay) == [SKIP, SEVERAL]
    assert judge_many([], replay) == []
    assert replay.calls == []


def test_the_same_rows_and_queries_in_several_texts_are_parsed_once() -> None:
    replay = engine()
    texts = [SUM, DICTIONARY, SUM, FILE_ROW, DICTIONARY, LITERALS, LITERALS]
    assert judge_many(texts, replay) == [RUN, RUN, RUN, Verdict("refuse", f"the VALUES rows is refused: {READS_FILE}"),
                                         RUN, RUN, RUN]
    assert replay.calls == [
        ("parseQueryToJSON", [head(t) for t in texts]),
        ("normalizeQuery", [ROWS[SUM], ROWS[FILE_ROW], ROWS[LITERALS]]),
        ("parseQueryToJSON", [QUERY]),
        ("parseDataToJSON", [ROWS[SUM], ROWS[FILE_ROW]]),
    ]


def test_the_sql_a_dictionary_carries_is_judged_too() -> None:
    replay = engine()
    assert judge_many([DICTIONARY_FILE, DICTIONARY], replay) == [
        Verdict("refuse", f"the dictionary's QUERY is refused: {READS_FILE}"), RUN]
    assert replay.calls == [("parseQueryToJSON", [DICTIONARY_FILE, DICTIONARY]),
                            ("parseQueryToJSON", [QUERY_FILE, QUERY])]


@pytest.mark.parametrize(("text", "verdict"), [
    ("INSERT INTO t VALUES", RUN),  # no rows
    ("INSERT INTO t VALUES  ;  ", RUN),  # nothing but the end of the statement
    ("INSERT INTO t FORMAT Values (2 + 2)", RUN),
    ("INSERT INTO t FORMAT values (2 + 2)", RUN),
    ("INSERT INTO t FORMAT Values (file('x'))", Verdict("refuse", f"the VALUES rows is refused: {READS_FILE}")),
    ("INSERT INTO t FORMAT values (file('x'))", Verdict("refuse", f"the VALUES rows is refused: {READS_FILE}")),
    ("INSERT INTO t FORMAT TSV\nfile('x')\n", RUN),  # data of another format is data
    (INPUT_CSV, RUN),
    (QUOTED_CSV, NOT_WHERE_IT_SEEMS),  # ClickHouse reads the format name unquoted
    (ALIAS_VALUES, NOT_WHERE_IT_SEEMS),  # an alias named `values` is no VALUES
], ids=repr)
def test_inline_data_is_data_unless_it_is_values_rows(text: str, verdict: Verdict) -> None:
    assert judge_many([text], engine()) == [verdict]


def test_rows_ending_the_statement_are_asked_for_without_the_semicolon() -> None:
    replay = engine()
    assert judge_many(["INSERT INTO t VALUES ;", "INSERT INTO t VALUES (abs(-3));"], replay) == [RUN, RUN]
    assert replay.calls == [("parseQueryToJSON", ["INSERT INTO t VALUES", "INSERT INTO t VALUES"]),
                            ("normalizeQuery", ["SELECT (abs(-3))"]),
                            ("parseDataToJSON", ["SELECT (abs(-3))"])]


def test_access_control_is_judged_where_there_is_a_server() -> None:
    assert judge_many([USER, USER_DIALECT], engine()) == [SKIP, SKIP]
    replay = engine()
    assert judge_many([USER, USER_DIALECT], replay, access_control=True) == [
        RUN, Verdict("refuse", "setting dialect lets the engine read SQL in another dialect, text the gate never "
                               "parsed")]
    assert replay.calls[0] == ("parseQueryToJSON", [USER, USER_DIALECT])


def test_a_syntax_error_is_refused_with_clickhouses_first_line() -> None:
    assert judge_many(["SELEC 1"], engine()) == [Verdict("refuse", (
        "ClickHouse's parser gives no tree, so it does not run: Code: 62. DB::Exception: Syntax error: failed at "
        "position 7 (1): 1. Expected one of: token sequence, Dot, token, OR, AND, IS NOT DISTINCT FROM, IS DISTINCT "
        "FROM, IS NOT UNKNOWN, IS UNKNOWN, IS NOT FALSE, IS FALSE, IS NOT TRUE, IS TRUE, IS NULL, IS NOT NULL, "
        "BETWEEN, NOT BETWEEN, LIKE, ILIKE, NOT LI…"))]


# --- literal rows -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "literal"), [
    ("SELECT (1, 'a'), (NULL, -2.5e3), (true, [inf, nan])", True),
    ("SELECT (x'41', $$x$$, FALSE, -inf)", True),
    ("SELECT (1 + 1)", True),  # operators on literals evaluate nothing outside
    ("SELECT (plus(1, 1))", False),
    ("SELECT (a)", False),
    ("SELECT (`a`)", False),
    ('SELECT ("a")', False),
    ("SELECT (file('x'))", False),
], ids=repr)
def test_rows_of_literals_need_no_tree(rows: str, literal: bool) -> None:
    assert _literal_rows(engine(), [rows]) == ({rows} if literal else set())


def test_no_rows_ask_nothing() -> None:
    replay = engine()
    assert _literal_rows(replay, []) == set()
    assert replay.calls == []


class Stopped(Exception):
    """What a parse worker's timeout looks like to the gate: an error naming the text it stopped at."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        if index is not None:
            self.index = index


class Stopping:
    """The recorded engine, stopping at its first call of `function` (a timeout or crash of the worker)."""

    def __init__(self, function: str, error: Exception) -> None:
        self.replay, self.function, self.error = engine(), function, error

    def call(self, function: str, texts: Sequence[str]) -> list[EngineReply]:
        if function == self.function:
            raise self.error
        return self.replay.call(function, texts)


def test_rows_stay_unjudged_literals_when_normalizing_stops() -> None:
    """The rows are then parsed (the parse that follows stops too, or judges them)."""
    stopping = Stopping("normalizeQuery", Stopped("timeout"))
    assert _literal_rows(stopping, [ROWS[LITERALS]]) == set()
    assert judge_many([LITERALS, SUM], stopping) == [RUN, RUN]
    assert stopping.replay.calls == [("parseQueryToJSON", ["INSERT INTO t VALUES", "INSERT INTO t VALUES"]),
                                     ("parseDataToJSON", [ROWS[LITERALS], ROWS[SUM]])]


# --- the engine stopping ----------------------------------------------------------------------------------------

def stop(texts: list[str], function: str, error: Exception) -> GateStopped:
    with pytest.raises(GateStopped) as info:
        judge_many(texts, Stopping(function, error))
    return info.value


def test_a_stopped_head_parse_names_the_text_it_stopped_at() -> None:
    error = Stopped("parse worker timed out", index=1)
    stopped = stop([GRANT, SELECT, TWO, FILE, SUM], "parseQueryToJSON", error)
    assert (stopped.index, stopped.error, str(stopped)) == (3, error, "parse worker timed out")
    assert stopped.__cause__ is error


@pytest.mark.parametrize(("error", "index"), [
    (Stopped("crashed"), 1),  # no index: the first text asked
    (Stopped("crashed", index=0), 1),
    (Stopped("crashed", index=2), 4),
    (Stopped("crashed", index=3), 1),  # past the texts asked: the first of them
    (Stopped("crashed", index=7), 1),
], ids=repr)
def test_a_stop_without_a_text_it_names_stops_at_the_first_text_asked(error: Exception, index: int) -> None:
    assert stop([GRANT, SELECT, FILE, TWO, SUM], "parseQueryToJSON", error).index == index


def test_a_stop_the_engine_reports_as_the_gates_own_passes_unchanged() -> None:
    own = GateStopped(9, Stopped("inner"))
    assert stop([SELECT, FILE], "parseQueryToJSON", own) is own


def test_a_stopped_rows_parse_names_the_first_text_with_those_rows() -> None:
    error = Stopped("timeout", index=1)
    stopped = stop([SELECT, SUM, LITERALS, FILE_ROW, SUM], "parseDataToJSON", error)
    assert (stopped.index, stopped.error) == (3, error)


def test_a_stopped_sub_text_parse_names_the_first_text_carrying_it() -> None:
    """The heads are parsed first; the QUERY the second dictionary carries is what the engine stops at."""

    class StopsOnQueries(Stopping):
        def call(self, function: str, texts: Sequence[str]) -> list[EngineReply]:
            if function == "parseQueryToJSON" and QUERY in texts:
                raise Stopped("timeout", index=texts.index(QUERY))
            return self.replay.call(function, texts)

    with pytest.raises(GateStopped) as info:
        judge_many([SELECT, DICTIONARY_FILE, GRANT, DICTIONARY, DICTIONARY], StopsOnQueries("", Exception()))
    assert info.value.index == 3


# --- the format the parse names ---------------------------------------------------------------------------------

def tree_of(text: str) -> dict[str, Any]:
    import json

    (reply,) = engine().call("parseQueryToJSON", [text])
    assert reply.ok is not None
    return dict(json.loads(reply.ok))


@pytest.mark.parametrize(("head_text", "agrees"), [
    ("INSERT INTO t VALUES", True),
    ("INSERT INTO t FORMAT CSV", True),
    ('INSERT INTO t FORMAT "CSV"', False),
    ("INSERT INTO t SELECT * FROM input('a UInt8') AS values", False),
    ("INSERT INTO t SELECT * FROM input('a UInt8') FORMAT CSV", True),
], ids=repr)
def test_the_head_ends_with_the_format_clickhouse_reads(head_text: str, agrees: bool) -> None:
    assert _format_agrees(tree_of(head_text), head_text) is agrees


def test_a_tree_that_is_no_insert_names_no_format() -> None:
    assert _format_agrees(tree_of(SELECT), "INSERT INTO t VALUES") is False
    assert _format_agrees(tree_of("INSERT INTO t VALUES"), "INSERT INTO t FORMAT CSV") is False
    assert _format_agrees(tree_of("INSERT INTO t FORMAT CSV"), "INSERT INTO t VALUES") is False


# --- classification and one tree --------------------------------------------------------------------------------

def test_gate_classifies_and_with_a_tree_decides() -> None:
    (grant,) = split_statements(GRANT)
    (select,) = split_statements(FILE)
    assert gate(grant, False) == SKIP
    assert gate(grant, False, tree_of(FILE)) == SKIP  # skipped before any tree is read
    assert gate(select, False) == RUN
    assert gate(select, False, tree_of(FILE)) == Verdict("refuse", READS_FILE)
    assert gate(select, False, tree_of(SELECT)) == RUN
    (user,) = split_statements(USER)
    assert gate(user, True) == RUN


def test_gate_sql_classifies_a_text_and_with_a_tree_decides() -> None:
    assert gate_sql(GRANT, False) == SKIP
    assert gate_sql(GRANT, True) == RUN
    assert gate_sql(TWO, False) == SEVERAL
    assert gate_sql(TWO, False, tree_of(SELECT)) == SEVERAL
    assert gate_sql(FILE, False) == RUN
    assert gate_sql(FILE, False, tree_of(FILE)) == Verdict("refuse", READS_FILE)
    assert gate_sql(SELECT, False, tree_of(SELECT)) == RUN


def test_gate_sql_reads_only_the_head_of_an_insert() -> None:
    assert gate_sql("INSERT INTO t FORMAT CSV\na;b\n", False) == RUN  # a `;` in the data splits nothing
    assert gate_sql("INSERT INTO t VALUES ('a;'), (';')", False) == RUN


def test_gate_sql_leaves_what_its_tokens_cannot_read_to_clickhouses_parse() -> None:
    assert gate_sql("SELECT 'open", False) == RUN
    assert gate_sql("GRANT SELECT ON t TO `open", False) == RUN  # not classified: the parse refuses it
    assert gate_sql("SELECT 'open", False, tree_of(FILE)) == Verdict("refuse", READS_FILE)


def test_gate_ast_decides_on_one_tree() -> None:
    assert gate_ast(tree_of(FILE)) == Verdict("refuse", READS_FILE)
    assert gate_ast(tree_of(SELECT)) == RUN
    assert gate_ast(tree_of(DICTIONARY)) == Verdict("refuse", "the dictionary's QUERY was not parsed, so it does not "
                                                              "run")
