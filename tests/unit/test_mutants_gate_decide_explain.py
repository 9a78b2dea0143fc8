"""The gate's decisions on statements ClickHouse parses but cannot print as a JSON tree (chconform.gate.decide).

For these the gate has ClickHouse's canonical text (formatQuery) and its EXPLAIN AST: access control is
skipped without a server and judged on the canonical text with one (its settings pass the allow-list, a row
policy's USING passes as an expression); SHOW, EXISTS, DROP FUNCTION and UNDROP may hold only names and
patterns; anything else is refused. Every reason is pinned exactly. The replies are ClickHouse's, recorded in
tests/data/gate/replies/decide_explain.json (tests/conformance/test_gate_replies.py checks them).
"""

from __future__ import annotations

import pytest

from chconform.gate.decide import RUN, SKIP_ACCESS, SubText, Verdict, decide, subtexts_of
from chconform.gate.parse import ExplainNode, Parsed, parse_many
from tests.gate_replay import ReplayEngine

ENGINE = ReplayEngine("decide_explain")


def parse(text: str) -> Parsed:
    (parsed,) = parse_many(ENGINE, [text])
    return parsed


def judged(text: str, access_control: bool = True) -> tuple[str, str]:
    """The verdict on `text`, what it carries parsed as the gate does."""
    head = parse(text)
    texts = [sub.text for sub in subtexts_of(head)]
    subtrees = dict(zip(texts, parse_many(ENGINE, texts))) if texts else {}
    verdict = decide(head, subtrees, access_control)
    return verdict.action, verdict.reason


def refused(reason: str) -> tuple[str, str]:
    return "refuse", reason


RAN = ("run", "")
DIALECT = "setting dialect lets the engine read SQL in another dialect, text the gate never parsed"
UNKNOWN = "is not one ClickHouse lists; only known settings are judged"


# --- access control -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "GRANT SELECT ON zakaz.* TO r",
    "CREATE USER u SETTINGS dialect = 'kusto'",
    "DROP USER u",
    "CREATE ROW POLICY p ON zakaz.t USING file('x') = '' TO ALL",
])
def test_access_control_is_skipped_where_there_is_none(text: str) -> None:
    assert judged(text, access_control=False) == ("skip", SKIP_ACCESS)
    assert decide(parse(text)) == Verdict("skip", SKIP_ACCESS)  # none unless the caller says there is


@pytest.mark.parametrize(("text", "verdict"), [
    ("GRANT SELECT ON zakaz.* TO r", RAN),
    ("DROP USER u", RAN),
    ("CREATE ROLE r SETTINGS max_threads = 1", RAN),
    ("CREATE USER u SETTINGS max_threads = 2, dialect = 'kusto'", refused(DIALECT)),
    ("CREATE USER u SETTINGS NONE", RAN),
    ("CREATE USER u SETTINGS PROFILE 'p', max_threads = 2", RAN),
    ("CREATE ROLE r SETTINGS max_threads = 2 READONLY, PROFILE 'p'", RAN),
    # ClickHouse prints a settings profile's PROFILE as INHERIT: a profile to inherit, not a setting
    ("CREATE SETTINGS PROFILE p SETTINGS max_threads = 2, PROFILE 'default'", RAN),
    ("CREATE SETTINGS PROFILE p SETTINGS max_threads = 2, PROFILE 'default', dialect = 'kusto'", refused(DIALECT)),
    ("CREATE SETTINGS PROFILE p SETTINGS max_threads = 2 CONST, max_memory_usage MIN 1 MAX 5 WRITABLE", RAN),
    ("CREATE SETTINGS PROFILE p SETTINGS no_such_setting MIN 1", refused(f"setting no_such_setting {UNKNOWN}")),
    # the value as written reaches the allow-list (a string's quotes dropped)
    ("CREATE SETTINGS PROFILE p SETTINGS default_table_engine = 'File'",
     refused("setting default_table_engine = 'File' makes tables with an engine outside the allow-list")),
    ("CREATE SETTINGS PROFILE p SETTINGS default_table_engine = 'Memory'", RAN),
    ("CREATE SETTINGS PROFILE p SETTINGS disk = 'default'", RAN),
    ("CREATE SETTINGS PROFILE p SETTINGS disk = 'cold'",
     refused("setting disk names a file, URL, disk or path outside the engine")),
    ("CREATE SETTINGS PROFILE p SETTINGS disk MIN 'default'",
     refused("setting disk names a file, URL, disk or path outside the engine")),
    ("CREATE SETTINGS PROFILE p SETTINGS disk = 'defaultX'",
     refused("setting disk names a file, URL, disk or path outside the engine")),
    # a constraint with no value sets nothing: the engine setting keeps its allowed default
    ("CREATE SETTINGS PROFILE p SETTINGS default_table_engine CONST", RAN),
    # the clause ends where the grantees begin: their names are no settings
    ("CREATE SETTINGS PROFILE p SETTINGS max_threads = 2 TO r1, r2", RAN),
    ("CREATE USER u DEFAULT ROLE r1 SETTINGS max_threads = 2 GRANTEES r1, r2", RAN),
    # ALTER: each ADD / MODIFY SETTING starts its own list; DROP names what it drops
    ("ALTER USER u SETTINGS max_threads MIN 1 MAX 4, PROFILE 'p'", RAN),
    ("ALTER USER u ADD SETTINGS dialect = 'kusto'", refused(DIALECT)),
    ("ALTER USER u MODIFY SETTING max_threads = 3, ADD SETTING dialect = 'kusto'", refused(DIALECT)),
    ("ALTER USER u ADD SETTING max_threads = 2, MODIFY SETTING no_such_setting = 3",
     refused(f"setting no_such_setting {UNKNOWN}")),
    ("ALTER ROLE r DROP ALL SETTINGS, ADD SETTING max_threads = 2", RAN),
    ("ALTER ROLE r DROP ALL SETTINGS, ADD SETTING dialect = 'kusto'", refused(DIALECT)),
    ("ALTER USER u DROP ALL PROFILES", RAN),
    # the clause is read from its SETTING on: a TO before it (RENAME TO) does not end it
    ("ALTER USER u RENAME TO v SETTINGS dialect = 'kusto'", refused(DIALECT)),
    ("ALTER USER u RENAME TO v SETTINGS max_threads = 2", RAN),
], ids=lambda v: v if isinstance(v, str) else None)
def test_access_statements_are_judged_on_their_canonical_text(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


def test_the_canonical_text_is_what_is_read() -> None:
    """ClickHouse's print of the statement, not the source's spelling: `SETTINGS` after DROP ALL PROFILES."""
    parsed = parse("ALTER USER u SETTINGS max_threads MIN 1 MAX 4, PROFILE 'p'")
    assert parsed.canonical == ("ALTER USER u DROP ALL SETTINGS, DROP ALL PROFILES, ADD PROFILE `p`, ADD SETTING "
                                "max_threads MIN 1 MAX 4")


def test_an_access_statement_with_no_canonical_text_is_refused() -> None:
    grant = parse("GRANT SELECT ON zakaz.* TO r")
    assert grant.kind == "GrantQuery"
    bare = Parsed(grant.text, explain=grant.explain, kind=grant.kind)
    assert decide(bare, {}, True) == Verdict(
        "refuse", "GrantQuery: ClickHouse gives neither a tree nor a canonical text to judge")


# --- a row policy's USING -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "using"), [
    ("CREATE ROW POLICY p ON zakaz.t USING a = 1", "a = 1"),
    ("CREATE ROW POLICY p ON zakaz.t USING a = 1 TO ALL", "a = 1"),
    ("CREATE ROW POLICY p ON zakaz.t USING has([1], a) AND (b = 2 OR c = 3) TO r1, r2",
     "has([1], a) AND ((b = 2) OR (c = 3))"),
    # a word TO inside parentheses (a column named `to`) is no grantee list
    ("CREATE ROW POLICY p ON zakaz.t USING (`to` + 1) = 2 TO r1", "(to + 1) = 2"),
])
def test_a_row_policys_using_is_an_expression_to_gate(text: str, using: str) -> None:
    assert subtexts_of(parse(text)) == [SubText(f"SELECT 1 WHERE {using}", "expression", "the row policy's USING")]
    assert judged(text) == RAN


def test_a_row_policy_without_using_and_other_statements_carry_no_text() -> None:
    assert subtexts_of(parse("CREATE ROW POLICY p ON zakaz.t AS RESTRICTIVE TO ALL")) == []
    assert subtexts_of(parse("CREATE USER u SETTINGS max_threads = 2")) == []
    assert subtexts_of(parse("DROP FUNCTION f")) == []


@pytest.mark.parametrize(("text", "verdict"), [
    ("CREATE ROW POLICY p ON zakaz.t USING file('x') = '' TO ALL",
     refused("the row policy's USING is refused: file() reaches host files")),
    ("CREATE ROW POLICY p ON zakaz.t USING a IN (SELECT b FROM remote('db.example', zakaz.u))",
     refused("the row policy's USING is refused: table function remote() reaches other ClickHouse servers")),
], ids=["file", "remote"])
def test_a_row_policys_using_passes_the_gate(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text) == verdict


# --- names only, where there is no tree -----------------------------------------------------------------------

ONLY_NAMES = "only names and patterns are allowed where ClickHouse cannot serialise the tree"


@pytest.mark.parametrize(("text", "verdict"), [
    ("DROP FUNCTION f", RAN),
    ("EXISTS TABLE zakaz.t", RAN),
    ("UNDROP TABLE zakaz.t", RAN),
    ("SHOW CREATE TABLE zakaz.t", RAN),
    ("SHOW CREATE TABLE zakaz.t FORMAT JSON", RAN),
    ("SHOW CREATE TABLE zakaz.t SETTINGS max_threads = 1", refused(f"ShowCreateTableQuery_zakaz_t with SETTINGS: "
                                                                   f"{ONLY_NAMES}")),
    ("SHOW CREATE TABLE zakaz.t INTO OUTFILE 'x'", refused(f"ShowCreateTableQuery_zakaz_t with INTO OUTFILE: "
                                                           f"{ONLY_NAMES}")),
    # a name left to a query parameter: EXPLAIN AST itself fails, so there is nothing to judge
    ("SHOW CREATE TABLE {p:Identifier}", refused("ClickHouse's parser gives no tree, so it does not run: EXPLAIN AST "
                                                 "fails: Code: 456. DB::Exception: Substitution `p` is not set. "
                                                 "(UNKNOWN_QUERY_PARAMETER)")),
], ids=["drop-function", "exists", "undrop", "show-create", "show-create-format", "settings", "outfile",
        "parameter"])
def test_statements_without_a_tree_may_hold_only_names(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text, access_control=False) == verdict


@pytest.mark.parametrize(("text", "verdict"), [
    ("CREATE NAMED COLLECTION c AS a = 1",
     refused("named collections hold connection details for sources outside the engine")),
    ("DESCRIBE FILESYSTEM CACHE 'c'", refused("DescribeCacheQuery is not a statement schema conformance runs")),
    ("CREATE WORKLOAD w", refused("CreateWorkloadQuery_w is not a statement schema conformance runs")),
], ids=["named-collection", "describe-cache", "workload"])
def test_any_other_statement_without_a_tree_is_refused(text: str, verdict: tuple[str, str]) -> None:
    assert judged(text, access_control=True) == verdict


def test_only_the_root_of_explain_ast_is_the_statement_itself() -> None:
    """The root's own kind is not an extra node: a name-only statement with names only runs."""
    root = ExplainNode("UndropQuery", "zakaz t", (ExplainNode("Identifier", "zakaz"), ExplainNode("Identifier", "t")))
    assert parse("UNDROP TABLE zakaz.t").explain == root
    assert decide(parse("UNDROP TABLE zakaz.t")) == RUN


@pytest.mark.parametrize("canonical", ["", "SHOW CREATE TABLE zakaz.t INTO OUTFILE 'x"], ids=["none", "unlexable"])
def test_a_name_only_statement_whose_canonical_text_cannot_be_read_is_refused(canonical: str) -> None:
    """No OUTFILE can be ruled out without ClickHouse's canonical text: refused (given by hand: parse_many always
    has one, and ClickHouse's print always lexes)."""
    shown = parse("SHOW CREATE TABLE zakaz.t")
    unread = Parsed(shown.text, explain=shown.explain, kind=shown.kind, canonical=canonical)
    assert decide(unread) == Verdict("refuse", f"ShowCreateTableQuery_zakaz_t with INTO OUTFILE: {ONLY_NAMES}")


def test_an_access_statement_whose_canonical_text_cannot_be_lexed_is_refused() -> None:
    user = parse("CREATE USER u SETTINGS max_threads = 2")
    unlexable = Parsed(user.text, explain=user.explain, kind=user.kind, canonical="CREATE USER u SETTINGS x = 'y")
    assert decide(unlexable, {}, True) == Verdict(
        "refuse", "CreateUserQuery: ClickHouse gives neither a tree nor a canonical text to judge")
