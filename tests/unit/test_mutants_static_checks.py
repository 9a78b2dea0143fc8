"""The static validator's verdicts asserted whole: simulation findings, view columns, the check of a
configuration (schema/static: simulate, views; checks/static).

Written against mutmut's survivors in chconform.schema.static and chconform.checks.static
(docs/mutation/schema-static.md). The caches of the reading functions are emptied before each test, so every
test reaches the code it asserts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chconform.checks.static import StaticReport, StaticSource, Variant, check_sources, validate
from chconform.config import Config, SourceSpec
from chconform.errors import EnvironmentUnusable
from chconform.model import Difference
from chconform.schema.static import Definition, simulate, view_lineage, view_problems
from chconform.schema.static.definition import _definition
from chconform.schema.static.simulate import Note
from chconform.schema.static.types import canonical_type
from chconform.schema.static.views import _query_shape
from chconform.sql.source import Source, split_statements


@pytest.fixture(autouse=True)
def _cold_caches() -> Iterator[None]:
    for cached in (canonical_type, _definition, _query_shape):
        cached.cache_clear()
    yield


def test_a_note_names_where_and_why() -> None:
    assert Note("zakaz.t", "a.sql", 3, "why").text() == "a.sql:3  zakaz.t  undecidable statically: why"


# --- simulate: a source applied twice to an empty catalog ---------------------------------------------------------


IDEMPOTENT = "CREATE ... IF NOT EXISTS (or a DROP first)"


def src(text: str, path: str = "a.sql") -> Source:
    return Source(path, text, "utf-8", tuple(split_statements(text)))


def static(obj: str, aspect: str, canonical: str, actual: str, line: int, column: str | None = None,
           source: str = "a.sql") -> Difference:
    return Difference(obj, aspect, canonical, actual, column, source, line, "static")


DB = "CREATE DATABASE IF NOT EXISTS db;\n"
T = "CREATE TABLE IF NOT EXISTS db.t (a String, b UInt8) ENGINE = Memory;\n"


def test_a_clean_source_leaves_its_objects_and_every_definition_in_order() -> None:
    text = (DB + "USE db;\nCREATE TABLE IF NOT EXISTS t (a String) ENGINE = Memory;\n"
            "CREATE VIEW IF NOT EXISTS v AS SELECT a FROM t;\nCREATE MATERIALIZED VIEW IF NOT EXISTS mv TO t AS SELECT a FROM t;\n"
            "CREATE TABLE IF NOT EXISTS t (a String) ENGINE = Memory;\n")
    sim = simulate(src(text))
    assert (sim.findings, sim.notes) == ((), ())
    assert sorted(sim.objects) == ["db.mv", "db.t", "db.v"]
    assert [(d.object, d.line) for d in sim.definitions] == [("db.t", 3), ("db.v", 4), ("db.mv", 5), ("db.t", 6)]
    assert sim.objects["db.t"].line == 3  # the first CREATE stands; IF NOT EXISTS leaves it
    assert sim.objects["db.mv"].target == "t"


def test_a_create_without_if_not_exists_fails_in_round_two_once() -> None:
    text = DB + T.replace(" IF NOT EXISTS", "") + T.replace(" IF NOT EXISTS", "")
    assert simulate(src(text)).findings == (
        static("db.t", "not_idempotent", IDEMPOTENT, "db.t already exists (TABLE_ALREADY_EXISTS)", 3),
        static("db.t", "not_idempotent", IDEMPOTENT, "round 2: db.t already exists (TABLE_ALREADY_EXISTS)", 2),
    )


def test_or_replace_replaces_and_if_not_exists_keeps() -> None:
    text = DB + T + "CREATE OR REPLACE TABLE db.t (a String) ENGINE = Memory;\n" + T
    sim = simulate(src(text))
    assert sim.findings == ()
    assert [c.name for c in sim.objects["db.t"].columns] == ["a"] and sim.objects["db.t"].line == 3


def test_a_database_created_twice() -> None:
    sim = simulate(src("CREATE DATABASE db;\nCREATE DATABASE IF NOT EXISTS db;\n"))
    assert sim.findings == (static("default.db", "database_exists", "CREATE DATABASE IF NOT EXISTS",
                                   "round 2: database db already exists (DATABASE_ALREADY_EXISTS)", 1),)
    assert simulate(src("CREATE DATABASE IF NOT EXISTS db;\nCREATE DATABASE IF NOT EXISTS db;\n")).findings == ()
    assert simulate(src("CREATE DATABASE default;\n")).findings == (
        static("default.default", "database_exists", "CREATE DATABASE IF NOT EXISTS",
               "database default already exists (DATABASE_ALREADY_EXISTS)", 1),)


def test_an_unknown_database() -> None:
    sim = simulate(src("CREATE TABLE IF NOT EXISTS nodb.t (a String) ENGINE = Memory;\n"))
    assert sim.findings == (static("nodb.t", "unknown_database", "database nodb created first",
                                   "database nodb does not exist (UNKNOWN_DATABASE)", 1),)
    assert sim.objects == {}
    assert simulate(src(T), ["CREATE DATABASE IF NOT EXISTS db"]).findings == ()
    assert simulate(src("CREATE TABLE IF NOT EXISTS system.t (a String) ENGINE = Memory")).findings == ()


def test_a_dropped_database_takes_its_objects() -> None:
    text = (DB + T + "CREATE DATABASE IF NOT EXISTS dbx;\nCREATE TABLE IF NOT EXISTS dbx.t (a String) ENGINE = Memory;\n"
            "DROP DATABASE db;\n")
    sim = simulate(src(text))
    assert sorted(sim.objects) == ["dbx.t"] and sim.findings == ()
    assert sorted(simulate(src(DB + T + "DROP DATABASE IF EXISTS db;\n" + DB)).objects) == []


def test_drop_table_and_drop_function() -> None:
    assert simulate(src(DB + T + "DROP TABLE db.t;\n")).objects == {}
    assert simulate(src(DB + T + "DROP TABLE IF EXISTS db.other;\n")).objects.keys() == {"db.t"}
    fn = "CREATE FUNCTION IF NOT EXISTS f AS (x) -> x;\n"
    assert simulate(src(fn)).objects.keys() == {"f"}
    assert simulate(src(fn + "DROP FUNCTION f;\n")).objects == {}
    assert simulate(src(fn + "DROP FUNCTION IF EXISTS f;\n")).objects == {}
    assert simulate(src(fn + "DROP FUNCTION IF EXISTS g;\n")).objects.keys() == {"f"}
    assert simulate(src(fn + "DROP FUNCTION;\n")).objects.keys() == {"f"}
    assert simulate(src(fn + "DROP FUNCTION IF EXISTS;\n")).objects.keys() == {"f"}
    assert simulate(src(DB + T + "DROP DICTIONARY IF EXISTS db.t;\n")).objects == {}
    assert simulate(src(fn + "DROP ROW POLICY f ON db.t;\n")).objects.keys() == {"f"}


def test_a_function_is_global_and_a_second_create_fails() -> None:
    text = "CREATE FUNCTION db.f AS (x) -> x;\n"
    assert simulate(src(text)).findings == (
        static("db.f", "not_idempotent", IDEMPOTENT, "round 2: f already exists (TABLE_ALREADY_EXISTS)", 1),)
    assert simulate(src("CREATE FUNCTION f AS (x) -> x;\nDROP FUNCTION IF EXISTS f;\n")).findings == ()


def test_a_nondeterministic_partition_key_is_refused_once() -> None:
    text = DB + "CREATE TABLE IF NOT EXISTS db.p (a String) ENGINE = MergeTree PARTITION BY (rand(), now()) ORDER BY a;\n"
    sim = simulate(src(text))
    assert sim.findings == (static("db.p", "nondeterministic_partition_key", "a deterministic PARTITION BY",
                                   "PARTITION BY calls rand, now() (BAD_ARGUMENTS)", 2),)
    assert sim.objects == {}


@pytest.mark.parametrize(("statement", "named"), [
    ("ALTER TABLE db.t ADD COLUMN c String", ["db.t"]),
    ("RENAME TABLE db.t TO db.t2", ["db.t"]),
    ("EXCHANGE TABLES db.t AND db.u", ["db.t", "db.u"]),
    ("DETACH TABLE db.t", ["db.t"]),
    ("ATTACH TABLE db.u", ["db.u"]),
    ("USE db;\nRENAME TABLE t TO t2", ["db.t"]),
    ("USE db;\nEXCHANGE TABLES `t` AND db.u", ["db.t", "db.u"]),
    ("ALTER TABLE db.other DELETE WHERE 1", []),
])
def test_an_alter_or_rename_leaves_the_end_state_to_the_engine(statement: str, named: list[str]) -> None:
    text = DB + T + "CREATE TABLE IF NOT EXISTS db.u (a String) ENGINE = Memory;\n" + statement + ";\n"
    sim = simulate(src(text))
    line = text.count("\n")
    first = statement.split("\n")[-1]
    why = f"{first[:60]!r} at line {line} changes it; only the engine applies that"
    assert [(n.object, n.source, n.line, n.why) for n in sim.notes] == [(name, "a.sql", line, why) for name in named]
    assert sorted(n for n, d in sim.objects.items() if d.altered == why) == named
    assert sim.findings == ()


def test_the_altering_statement_is_quoted_to_60_characters() -> None:
    statement = "ALTER TABLE db.t ADD COLUMN a_rather_long_column_name_to_pass_sixty_chars String"
    sim = simulate(src(DB + T + statement + ";\n"))
    assert sim.notes[0].why == (f"{statement[:60]!r} at line 3 changes it; only the engine applies that")
    assert len(statement) > 60


def test_an_undecidable_table_is_a_note_in_round_one_only() -> None:
    sim = simulate(src(DB + "CREATE TABLE IF NOT EXISTS db.t AS db.o;\n"))
    assert [(n.object, n.line, n.why) for n in sim.notes] == [
        ("db.t", 2, "its columns come from `db.o`, which only the engine resolves")]
    assert sim.findings == ()


def test_a_view_before_its_table() -> None:
    text = DB + "CREATE VIEW IF NOT EXISTS db.v AS SELECT a FROM db.t;\n" + T
    sim = simulate(src(text))
    assert sim.findings == (
        static("db.v", "unknown_table", "db.t created before the view",
               "reads db.t, which does not exist at this point (UNKNOWN_TABLE)", 2),
        static("db.v", "round2_extra_table", "absent", "view", 2),
    )
    assert sorted(sim.objects) == ["db.t"]


def test_an_object_round_two_loses() -> None:
    text = DB + T + "CREATE TABLE db.u (a String) ENGINE = Memory;\nDROP TABLE IF EXISTS db.t;\n" \
        "CREATE TABLE db.t (a String) ENGINE = Memory;\n"
    sim = simulate(src(text))
    assert sim.findings == (
        static("db.u", "not_idempotent", IDEMPOTENT, "round 2: db.u already exists (TABLE_ALREADY_EXISTS)", 3),)
    text = DB + T + "DROP TABLE IF EXISTS db.t;\nCREATE TABLE db.t (a String) ENGINE = Memory;\n"
    assert simulate(src(text)).findings == ()
    lost = DB + "CREATE TABLE IF NOT EXISTS db.t (a String) ENGINE = Memory;\nDROP DATABASE IF EXISTS db;\n" + \
        "CREATE DATABASE IF NOT EXISTS db;\nCREATE TABLE IF NOT EXISTS db.u (a String) ENGINE = Memory;\n"
    assert simulate(src(lost)).findings == ()


def test_round_two_missing_and_extra_objects() -> None:
    from chconform.schema.static.simulate import _round2

    a = simulate(src(DB + T)).objects
    assert _round2(a, {}, src("", "x.sql")) == [Difference("db.t", "round2_missing_table", "table", "absent", None,
                                                           "x.sql", 2, "static")]
    assert _round2({}, a, src("", "x.sql")) == [Difference("db.t", "round2_extra_table", "absent", "table", None,
                                                           "x.sql", 2, "static")]
    assert _round2(a, a, src("")) == []


def test_a_materialized_views_to_table_must_exist() -> None:
    text = DB + T + "CREATE MATERIALIZED VIEW IF NOT EXISTS db.mv TO db.missing AS SELECT a FROM db.t;\n"
    sim = simulate(src(text))
    assert sim.findings == (static("db.mv", "unknown_table", "db.missing created before the view",
                                   "TO table db.missing does not exist (UNKNOWN_TABLE)", 3),)
    assert sorted(sim.objects) == ["db.t"]
    used = DB + "USE db;\n" + T + "CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO t AS SELECT a FROM t;\n"
    assert simulate(src(used)).findings == ()


def test_a_view_reading_a_missing_column_names_it() -> None:
    text = DB + T + "CREATE VIEW IF NOT EXISTS db.v AS SELECT a, c, d FROM db.t;\n"
    sim = simulate(src(text))
    assert sim.findings == (
        static("db.v", "unknown_column", "a column of db.t", "reads c, which db.t does not have (UNKNOWN_IDENTIFIER)", 3,
               "c"),
        static("db.v", "unknown_column", "a column of db.t", "reads d, which db.t does not have (UNKNOWN_IDENTIFIER)", 3,
               "d"),
    )
    assert sorted(sim.objects) == ["db.t"]


@pytest.mark.parametrize(("query", "why"), [
    ("SELECT (((", "sqlglot cannot parse the view's query (Required keyword: 'this' missing for "
                   "<class 'sqlglot.expressions.core.Paren'>. L)"),
    ("SELECT * FROM numbers(3)", "reads the table function numbers(3)"),
    ("SELECT name FROM system.tables", "reads system.tables, a system table"),
])
def test_what_a_view_reads_that_only_the_engine_knows_is_a_note(query: str, why: str) -> None:
    sim = simulate(src(DB + f"CREATE VIEW IF NOT EXISTS db.v AS {query};\n"))
    assert [(n.object, n.source, n.line, n.why) for n in sim.notes] == [("db.v", "a.sql", 2, why)]
    assert (sim.findings, sorted(sim.objects)) == ((), ["db.v"])


def test_a_view_too_deep_to_parse() -> None:
    query = "SELECT " + "(" * 3000 + "1" + ")" * 3000
    sim = simulate(src(DB + f"CREATE VIEW IF NOT EXISTS db.v AS {query};\n"))
    assert [n.why for n in sim.notes] == ["sqlglot cannot parse the view's query (nested too deeply)"]


def test_the_prelude_runs_before_the_source_in_both_rounds() -> None:
    """A view may read a prelude table (the engine has it); the prelude's objects are not the source's."""
    prelude = ["CREATE DATABASE IF NOT EXISTS db;\nCREATE TABLE IF NOT EXISTS db.base (a String) ENGINE = Memory"]
    sim = simulate(src("USE db;\nCREATE VIEW IF NOT EXISTS v AS SELECT a FROM base;\n"), prelude)
    assert (sim.findings, sim.notes) == ((), ())
    assert sorted(sim.objects) == ["db.v"] and [d.object for d in sim.definitions] == ["db.v"]
    sim = simulate(src("CREATE VIEW IF NOT EXISTS db.v AS SELECT b FROM db.base;\n"), prelude)
    assert sim.findings == (static("db.v", "unknown_column", "a column of db.base",
                                   "reads b, which db.base does not have (UNKNOWN_IDENTIFIER)", 1, "b"),)


def test_a_prelude_create_without_if_not_exists_fails_round_two_as_on_the_engine() -> None:
    sim = simulate(src("SELECT 1;\n"), ["CREATE DATABASE db", "CREATE TABLE db.base (a String) ENGINE = Memory"])
    assert sim.findings == (
        static("default.db", "database_exists", "CREATE DATABASE IF NOT EXISTS",
               "round 2: database db already exists (DATABASE_ALREADY_EXISTS)", 1, source="prelude"),
        static("db.base", "not_idempotent", IDEMPOTENT, "round 2: db.base already exists (TABLE_ALREADY_EXISTS)", 1,
               source="prelude"),
    )
    assert sim.objects == {}


# --- views: the tables and columns a view's query reads -----------------------------------------------------------


CATALOG = (DB + T + "CREATE TABLE IF NOT EXISTS db.u (a String, c Date) ENGINE = Memory;\n"
           "CREATE VIEW IF NOT EXISTS db.v AS SELECT a, b + 1 AS bb FROM db.t;\n"
           "CREATE VIEW IF NOT EXISTS db.vc (x, y) AS SELECT a, b FROM db.t;\n"
           "CREATE VIEW IF NOT EXISTS db.vs AS SELECT * FROM db.t;\n"
           "CREATE VIEW IF NOT EXISTS db.vt AS SELECT t.* FROM db.t;\n"
           "CREATE TABLE IF NOT EXISTS db.q AS db.t;\n"
           "CREATE MATERIALIZED VIEW IF NOT EXISTS db.mv (a String) ENGINE = Memory AS SELECT a FROM db.t;\n"
           "CREATE MATERIALIZED VIEW IF NOT EXISTS db.mvt TO db.u AS SELECT a, today() AS c FROM db.t;\n"
           "CREATE VIEW IF NOT EXISTS db.vv AS SELECT bb FROM db.v;\n"
           "CREATE VIEW IF NOT EXISTS db.bad AS SELECT (((;\n"
           "CREATE TABLE IF NOT EXISTS db.alt (a String) ENGINE = Memory;\nALTER TABLE db.alt ADD COLUMN z String;\n")


def catalog() -> dict[str, Definition]:
    return simulate(src(CATALOG)).objects


@pytest.mark.parametrize(("query", "problems", "undecided"), [
    ("SELECT a, zz FROM db.t", [("unknown_column", "db.t", "zz")], []),
    ("SELECT t.zz FROM db.t", [("unknown_column", "db.t", "zz")], []),
    ("SELECT x.zz, x.a FROM db.t AS x", [("unknown_column", "db.t", "zz")], []),
    ("SELECT zz, zz + 1 FROM t", [("unknown_column", "db.t", "zz")], []),
    ("SELECT a FROM db.nope", [("unknown_table", "db.nope", "")], []),
    ("SELECT a FROM nope", [("unknown_table", "db.nope", "")], []),
    ("SELECT zz FROM db.v", [("unknown_column", "db.v", "zz")], []),
    ("SELECT bb, a FROM db.v", [], []),
    ("SELECT x, zz FROM db.vc", [("unknown_column", "db.vc", "zz")], []),
    ("SELECT a FROM db.vc", [("unknown_column", "db.vc", "a")], []),
    ("SELECT zz FROM db.vs", [], ["reads db.vs, whose columns only the engine knows"]),
    ("SELECT zz FROM db.vt", [], ["reads db.vt, whose columns only the engine knows"]),
    ("SELECT zz FROM db.q", [], ["reads db.q, whose columns only the engine knows"]),
    ("SELECT zz FROM db.alt", [], ["reads db.alt, whose columns only the engine knows"]),
    ("SELECT zz FROM db.bad", [], ["reads db.bad, whose columns only the engine knows"]),
    ("SELECT zz FROM db.vv", [("unknown_column", "db.vv", "zz")], []),
    ("SELECT bb FROM db.vv", [], []),
    ("SELECT a, zz FROM db.mv", [("unknown_column", "db.mv", "zz")], []),
    ("SELECT c, zz FROM db.mvt", [("unknown_column", "db.mvt", "zz")], []),
    ("SELECT zz FROM db.t, db.u", [("unknown_column", "db.t", "zz")], []),
    ("SELECT c, b FROM db.t JOIN db.u USING a", [], []),
    ("SELECT zz FROM db.t JOIN numbers(1) AS n ON 1", [], ["reads the table function numbers(1) AS n"]),
    ("SELECT q.zz FROM db.t", [], []),
    ("SELECT 1", [], []),
    ("SELECT zz", [], []),
    ("SELECT a AS k FROM db.t WHERE k > 0", [], []),
    ("SELECT arrayMap(x -> x, [a]) FROM db.t", [], []),
    ("SELECT s.zz FROM (SELECT a FROM db.t) AS s", [("unknown_column", "subquery s", "zz")], []),
    ("SELECT s.zz FROM (SELECT * FROM db.t) AS s", [], []),
    ("SELECT s.zz FROM (SELECT t.* FROM db.t) AS s", [], []),
    ("SELECT s.a FROM (SELECT a, b FROM db.t) AS s", [], []),
    ("WITH 1 AS one SELECT one, zz FROM db.t", [("unknown_column", "db.t", "zz")], []),
    ("WITH w AS (SELECT a FROM db.t) SELECT w.zz, a FROM w", [("unknown_column", "subquery w", "zz")], []),
    ("SELECT a FROM system.tables", [], ["reads system.tables, a system table"]),
    ("SELECT zz FROM db.t UNION ALL SELECT yy FROM db.u", [("unknown_column", "db.t", "zz"),
                                                             ("unknown_column", "db.u", "yy")], []),
    ("SELECT a FROM db.nope UNION ALL SELECT a FROM db.nope", [("unknown_table", "db.nope", "")], []),
    ("SELECT * FROM numbers(2) AS n, system.one", [], ["reads system.one, a system table",
                                                        "reads the table function numbers(2) AS n"]),
])
def test_view_problems(query: str, problems: list[tuple[str, str, str]], undecided: list[str]) -> None:
    assert view_problems(query, catalog(), "db") == (problems, undecided)


def test_view_problems_qualify_with_the_current_database() -> None:
    assert view_problems("SELECT zz FROM t", catalog(), "other") == ([("unknown_table", "other.t", "")], [])


@pytest.mark.parametrize(("query", "lineage"), [
    ("SELECT a, b + 1 AS bb, 1 AS one FROM db.t", {"a": (True, {("db.t", "a")}), "bb": (False, {("db.t", "b")}),
                                                   "one": (False, set())}),
    ("SELECT x.a AS a2 FROM db.t AS x", {"a2": (True, {("db.t", "a")})}),
    ("SELECT c FROM db.t JOIN db.u USING a", {"c": (True, {("db.u", "c")})}),
    ("SELECT s.a FROM (SELECT a, b AS bb FROM db.t) AS s", {"a": (True, {("db.t", "a")})}),
    ("SELECT s.bb FROM (SELECT b + 1 AS bb FROM db.t) AS s", {"bb": (False, {("db.t", "b")})}),
    ("WITH w AS (SELECT b FROM db.t) SELECT b FROM w", {"b": (True, {("db.t", "b")})}),
    ("SELECT a FROM db.t UNION ALL SELECT c FROM db.u", {"a": (True, {("db.t", "a"), ("db.u", "c")})}),
    ("SELECT b, a FROM db.t UNION ALL SELECT upper(a), a FROM db.u",
     {"b": (False, {("db.t", "b"), ("db.u", "a")}), "a": (True, {("db.t", "a"), ("db.u", "a")})}),
    ("SELECT zz FROM db.t", {"zz": (False, set())}),
    ("SELECT x.zz FROM db.nope AS x", {"zz": (False, set())}),
    ("SELECT a FROM t", {"a": (True, {("db.t", "a")})}),
    ("SELECT t.zz FROM db.t", {"zz": (True, {("db.t", "zz")})}),
    ("SELECT c FROM db.t, db.u", {"c": (True, {("db.u", "c")})}),
    ("SELECT a + b AS s FROM db.t", {"s": (False, {("db.t", "a"), ("db.t", "b")})}),
])
def test_view_lineage(query: str, lineage: dict[str, tuple[bool, set[tuple[str, str]]]]) -> None:
    assert view_lineage(query, catalog(), "db") == {k: (bare, frozenset(refs)) for k, (bare, refs) in lineage.items()}


# --- checks/static: a configuration's sources against the canon ----------------------------------------------------



TABLE = "CREATE TABLE IF NOT EXISTS db.t\n(\n    a String,\n    b UInt8\n) ENGINE = Memory;\n"
VIEW = "CREATE VIEW IF NOT EXISTS db.v AS SELECT a, b, b + 1 AS b1, toString(b) AS b2 FROM db.t;\n"


def config_of(paths: list[str], must: dict[str, tuple[str, ...]] | None = None, root: Path = Path("/nonexistent"),
              prelude: tuple[str, ...] = (), rules: tuple[tuple[str, str], ...] = ()) -> Config:
    return Config(root / "chconform.toml", root, paths[0],
                  tuple(SourceSpec(p, root / p, "dump", (must or {}).get(p, ())) for p in paths), prelude=prelude,
                  rules=rules)


def check(files: dict[str, str], **kwargs: object) -> StaticReport:
    return check_sources(config_of(list(files), **kwargs), {p: src(t, p) for p, t in files.items()})  # type: ignore[arg-type]


def test_a_changed_column_type_at_the_columns_line_and_carried_into_a_view() -> None:
    report = check({"canon.sql": DB + TABLE + VIEW, "drift.sql": DB + TABLE.replace("b UInt8", "b UInt16") + VIEW})
    canon, drift = report.sources
    assert canon == StaticSource("canon.sql", "dump", defined=("db.t", "db.v"))
    assert drift.differences == (
        static("db.t", "column_type", "UInt8", "UInt16", 5, "b", "drift.sql"),
        static("db.v", "view_columns", "UInt8", "UInt16", 7, "b", "drift.sql"),
    )
    assert [(n.object, n.source, n.line, n.why) for n in drift.notes] == [
        ("db.v", "drift.sql", 7, "its columns b1, b2 are computed from db.t.b, whose type differs; only the engine "
                                 "infers the result's type")]
    assert (drift.ok, canon.ok, report.ok) == (False, True, False)
    assert report.notes == drift.notes


def test_one_computed_view_column_is_named_in_the_singular() -> None:
    view = "CREATE VIEW IF NOT EXISTS db.v AS SELECT a, b + 1 AS b1 FROM db.t;\n"
    report = check({"canon.sql": DB + TABLE + view, "drift.sql": DB + TABLE.replace("b UInt8", "b UInt16") + view})
    assert [n.why for n in report.sources[1].notes] == [
        "its column b1 is computed from db.t.b, whose type differs; only the engine infers the result's type"]
    assert [d.aspect for d in report.sources[1].differences] == ["column_type"]


def test_a_view_the_canon_lacks_or_that_reads_an_unchanged_column_adds_nothing() -> None:
    drifted = DB + TABLE.replace("b UInt8", "b UInt16")
    only_a = "CREATE VIEW IF NOT EXISTS db.w AS SELECT a FROM db.t;\n"
    report = check({"canon.sql": DB + TABLE + only_a, "drift.sql": drifted + only_a + VIEW})
    assert [(d.object, d.aspect) for d in report.sources[1].differences] == [("db.t", "column_type")]
    assert report.sources[1].notes == ()


def test_a_view_whose_query_sqlglot_cannot_parse_is_left_to_the_engine() -> None:
    bad = "CREATE VIEW IF NOT EXISTS db.v AS SELECT b FROM db.t WHERE (((;\n"
    report = check({"canon.sql": DB + TABLE + bad, "drift.sql": DB + TABLE.replace("b UInt8", "b UInt16") + bad})
    assert [(d.object, d.aspect) for d in report.sources[1].differences] == [("db.t", "column_type")]
    assert [n.why[:38] for n in report.sources[1].notes] == ["sqlglot cannot parse the view's query "]


def test_a_column_difference_in_a_one_line_create_stays_at_its_line() -> None:
    report = check({"canon.sql": DB + "CREATE TABLE IF NOT EXISTS db.t (a String) ENGINE = Memory;\n",
                    "drift.sql": DB + "CREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = Memory;\n"})
    assert report.sources[1].differences == (static("db.t", "column_type", "String", "UInt8", 2, "a", "drift.sql"),)


def test_a_table_level_difference_is_at_the_creates_line() -> None:
    report = check({"canon.sql": DB + TABLE, "drift.sql": DB + "\n" + TABLE.replace("Memory", "Log")})
    assert report.sources[1].differences == (static("db.t", "engine", "Memory", "Log", 3, None, "drift.sql"),)


def test_a_table_the_canon_lacks_is_compared_with_the_first_source_that_decides_it() -> None:
    x = "CREATE TABLE IF NOT EXISTS db.x (a String) ENGINE = Memory;\n"
    report = check({"canon.sql": DB, "undecided.sql": DB + "CREATE TABLE IF NOT EXISTS db.x AS db.o;\n",
                    "first.sql": DB + x, "second.sql": DB + x.replace("a String", "a UInt8")})
    assert [s.differences for s in report.sources[:3]] == [(), (), ()]
    assert report.sources[3].differences == (static("db.x", "column_type", "String", "UInt8", 2, "a", "second.sql"),)
    assert [(n.object, n.why) for n in report.sources[1].notes] == [
        ("db.x", "its columns come from `db.o`, which only the engine resolves")]


def test_an_undecidable_canon_decides_nothing() -> None:
    report = check({"canon.sql": DB + "CREATE TABLE IF NOT EXISTS db.t AS db.o;\n", "other.sql": DB + TABLE})
    assert report.sources[1].differences == () and report.sources[1].notes == ()


def test_an_altered_table_still_compares_its_create() -> None:
    altered = DB + TABLE.replace("b UInt8", "b UInt16") + "ALTER TABLE db.t MODIFY COLUMN b UInt8;\n"
    report = check({"canon.sql": DB + TABLE, "m.sql": altered})
    assert [(d.aspect, d.column) for d in report.sources[1].differences] == [("column_type", "b")]
    assert [n.line for n in report.sources[1].notes] == [7]


def test_must_define_names_what_the_source_lacks() -> None:
    report = check({"canon.sql": DB + TABLE, "other.sql": DB}, must={"other.sql": ("db.t", "db.u"), "canon.sql": ("db.t",)})
    assert (report.sources[0].missing_tables, report.sources[1].missing_tables) == ((), ("db.t", "db.u"))
    assert (report.sources[1].ok, report.ok) == (False, False)


def test_rule_severities_move_findings_to_warnings() -> None:
    drift = {"canon.sql": DB + TABLE, "drift.sql": DB + TABLE.replace("b UInt8", "b UInt16")}
    report = check(drift, rules=(("column_type", "warning"),))
    assert report.sources[1].differences == () and report.sources[1].ok
    assert len(report.sources[1].warnings) == 1 and "column_type" in report.sources[1].warnings[0]
    assert report.variants  # the two variants of db.t are still reported
    assert report.ok is False


def test_a_table_twice_in_one_file_differently() -> None:
    text = DB + TABLE + TABLE.replace("a String", "a UInt8").replace("Memory", "Log")
    report = check({"canon.sql": DB + TABLE, "dup.sql": text})
    assert report.sources[1].differences == (
        static("db.t", "duplicate_engine", "Memory (line 2)", "Log", 7, None, "dup.sql"),
        static("db.t", "duplicate_column_type", "String (line 2)", "UInt8", 7, "a", "dup.sql"),
    )


def test_duplicates_leave_out_dictionaries_and_undecidable_tables() -> None:
    dictionary = "CREATE DICTIONARY IF NOT EXISTS db.d (id UInt64) PRIMARY KEY id LIFETIME(0);\n"
    text = DB + dictionary + dictionary.replace("LIFETIME(0)", "LIFETIME(1)") + TABLE + \
        "CREATE TABLE IF NOT EXISTS db.t AS db.o;\n" + "CREATE TABLE IF NOT EXISTS db.q AS db.o;\n" + TABLE.replace("db.t", "db.q")
    report = check({"canon.sql": text})
    assert report.sources[0].differences == ()


def test_variants_list_every_place_the_canonical_one_first() -> None:
    x = "CREATE TABLE IF NOT EXISTS db.x (a String) ENGINE = Memory;\n"
    report = check({"canon.sql": DB + TABLE, "a.sql": DB + TABLE.replace("b UInt8", "b UInt16"), "b.sql": DB + TABLE,
                    "c.sql": DB + x, "d.sql": DB + x, "e.sql": DB + "CREATE TABLE IF NOT EXISTS db.t AS db.o;\n"})
    assert list(report.variants) == ["db.t"]
    variants = report.variants["db.t"]
    assert [(v.places, v.canonical) for v in variants] == [(("canon.sql:2", "b.sql:2"), True), (("a.sql:2",), False)]
    assert variants[0] == Variant(report.variants["db.t"][0].definition, ("canon.sql:2", "b.sql:2"), True)
    assert [c.type for c in variants[1].definition.columns] == ["String", "UInt16"]


def test_variants_of_a_table_the_canon_lacks_have_no_canonical_one() -> None:
    x = "CREATE TABLE IF NOT EXISTS db.x (a String) ENGINE = Memory;\n"
    report = check({"canon.sql": DB, "a.sql": DB + x.replace("String", "UInt8"), "b.sql": DB + x})
    assert [(v.places, v.canonical) for v in report.variants["db.x"]] == [(("a.sql:2",), False), (("b.sql:2",), False)]


def test_a_report_is_ok_only_without_findings_variants_and_strays() -> None:
    report = check({"canon.sql": DB + TABLE, "b.sql": DB + TABLE})
    assert report.ok and report.variants == {} and report.unconfigured == ()
    assert report.canonical == "canon.sql" and report.key_tables == ()
    stray = Difference("x.sql", "unconfigured_source", "", "", None, "x.sql", None, "static")
    assert StaticReport(report.canonical, (), report.sources, {}, (stray,)).ok is False
    assert StaticSource("a.sql", "dump", missing_tables=("db.t",)).ok is False
    assert StaticSource("a.sql", "dump", differences=(stray,)).ok is False
    assert StaticSource("a.sql", "dump", notes=(Note("o", "a.sql", 1, "w"),), warnings=("w",)).ok is True


def test_validate_reads_the_sources_and_takes_the_inventory(tmp_path: Path) -> None:
    (tmp_path / "canon.sql").write_text(DB + TABLE, encoding="utf-8")
    (tmp_path / "other.sql").write_text(DB + TABLE.replace("b UInt8", "b UInt16"), encoding="utf-8")
    (tmp_path / "stray.sql").write_text("CREATE TABLE db.s (a String) ENGINE = Memory;\n", encoding="utf-8")
    report = validate(config_of(["canon.sql", "other.sql"], root=tmp_path))
    assert report.unconfigured == (Difference("stray.sql", "unconfigured_source", "configured as a [[source]]",
                                              "creates a table but is not configured", None, "stray.sql", None,
                                              "static"),)
    assert report.sources[1].differences == (static("db.t", "column_type", "UInt8", "UInt16", 5, "b", "other.sql"),)


def test_validate_needs_sqlglot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sqlglot" else real(name, *a))
    with pytest.raises(EnvironmentUnusable) as raised:
        validate(config_of(["canon.sql"], root=tmp_path))
    assert str(raised.value) == "the static validator needs sqlglot: pip install -e . (or run `make validate`)"


def test_a_column_named_interval_in_a_key_is_read(tmp_path: Path) -> None:
    """The engine builds it (`chconform check` passes); the validator once failed with an IndexError."""
    table = "CREATE TABLE IF NOT EXISTS db.t (ts DateTime, interval UInt8) ENGINE = MergeTree ORDER BY (ts, interval);\n"
    report = check({"canon.sql": DB + table, "b.sql": DB + table.replace("(ts, interval)", "(interval, ts)")})
    assert report.sources[1].differences == (static("db.t", "sorting_key", "ts, interval", "interval, ts", 2, None,
                                                    "b.sql"),)


def test_a_view_over_a_prelude_table_passes_as_on_the_engine() -> None:
    prelude = ("CREATE DATABASE IF NOT EXISTS db", "CREATE TABLE IF NOT EXISTS db.base (a String) ENGINE = Memory")
    report = check({"canon.sql": "CREATE VIEW IF NOT EXISTS db.v AS SELECT a FROM db.base;\n"}, prelude=prelude)
    assert report.ok and report.sources[0].defined == ("db.v",)


def test_read_sources_names_each_source_substitutes_its_variables_and_bounds_its_size(tmp_path: Path) -> None:
    from chconform.checks.static import read_sources
    from chconform.errors import SourceError

    (tmp_path / "a.sql").write_text("CREATE TABLE ${DB}.t (a String) ENGINE = Memory;\n", encoding="utf-8")
    spec = SourceSpec("a.sql", tmp_path / "a.sql", "dump", variables=(("DB", "db"),))
    config = Config(tmp_path / "chconform.toml", tmp_path, "a.sql", (spec,))
    source = read_sources(config)["a.sql"]
    assert (source.path, [s.target for s in source.statements]) == ("a.sql", ["db.t"])
    small = Config(tmp_path / "chconform.toml", tmp_path, "a.sql", (SourceSpec("a.sql", tmp_path / "a.sql", "dump",
                                                                                   max_bytes=10),))
    with pytest.raises(SourceError) as raised:
        read_sources(small)
    assert str(raised.value).startswith("a.sql: larger than max_source_mb allows (10 bytes)")


def test_a_finding_of_the_simulation_names_its_file(tmp_path: Path) -> None:
    (tmp_path / "canon.sql").write_text(DB + TABLE.replace(" IF NOT EXISTS", ""), encoding="utf-8")
    report = validate(config_of(["canon.sql"], root=tmp_path))
    assert report.sources[0].differences == (
        static("db.t", "not_idempotent", IDEMPOTENT, "round 2: db.t already exists (TABLE_ALREADY_EXISTS)", 2,
               source="canon.sql"),)


def test_a_rename_names_only_the_tables_it_mentions() -> None:
    text = (DB + T + "CREATE TABLE IF NOT EXISTS default.t (a String) ENGINE = Memory;\n"
            "RENAME TABLE db.t TO db.t2;\n")
    assert [n.object for n in simulate(src(text)).notes] == ["db.t"]
    cut = simulate(src(DB + T + "RENAME TABLE db.t TO db.;\n"))
    assert [n.object for n in cut.notes] == ["db.t"]


# --- written against the survivors of the second fresh run -----------------------------------------------------------


def test_role_findings_are_the_static_checks_and_inline_ignores_apply() -> None:
    dump = DB + "DROP TABLE IF EXISTS db.t;\n" + TABLE
    report = check({"canon.sql": DB + TABLE, "dump.sql": dump})
    assert report.sources[1].differences == (
        Difference("db.t", "drop_in_dump", "no DROP or TRUNCATE in a dump", "DROP TABLE db.t", None, "dump.sql", 2,
                   "static"),)
    ignored = DB + "-- chconform: ignore[drop_in_dump] rebuilt on purpose\nDROP TABLE IF EXISTS db.t;\n" + TABLE
    report = check({"canon.sql": DB + TABLE, "dump.sql": ignored})
    assert report.sources[1].differences == () and len(report.sources[1].warnings) == 1
    assert "rebuilt on purpose" in report.sources[1].warnings[0]


def test_every_object_of_a_source_is_compared_whatever_comes_before_it() -> None:
    """Objects are taken in name order: the canon's own, undecidable and unknown ones first must not stop it."""
    first = ("CREATE TABLE IF NOT EXISTS db.a AS db.o;\nCREATE TABLE IF NOT EXISTS db.b AS db.o;\n"
             "CREATE TABLE IF NOT EXISTS db.c (a String) ENGINE = Memory;\n")
    report = check({"canon.sql": DB + "CREATE TABLE IF NOT EXISTS db.c (a String) ENGINE = Memory;\n" + TABLE,
                    "other.sql": DB + first + TABLE.replace("b UInt8", "b UInt16")})
    assert [(d.object, d.aspect) for d in report.sources[1].differences] == [("db.t", "column_type")]
    assert [n.object for n in report.sources[1].notes] == ["db.a", "db.b"]


def test_duplicates_after_a_dictionary_or_an_undecidable_pair_are_still_found() -> None:
    dictionary = "CREATE DICTIONARY IF NOT EXISTS db.d (id UInt64) PRIMARY KEY id LIFETIME(0);\n"
    undecided = "CREATE TABLE IF NOT EXISTS db.q AS db.o;\n"
    text = DB + dictionary + dictionary + undecided + undecided + TABLE + TABLE.replace("a String", "a UInt8")
    assert check({"canon.sql": text}).sources[0].differences == (
        static("db.t", "duplicate_column_type", "String (line 6)", "UInt8", 11, "a", "canon.sql"),)


def test_variants_of_every_table_whatever_sorts_before_it() -> None:
    x = "CREATE TABLE IF NOT EXISTS db.a (a String) ENGINE = Memory;\n"
    report = check({"canon.sql": DB + x + TABLE, "b.sql": DB + x + TABLE.replace("b UInt8", "b UInt16")})
    assert list(report.variants) == ["db.t"]


def test_only_a_changed_column_type_is_carried_into_a_view() -> None:
    changed = TABLE.replace("b UInt8", "b UInt8 DEFAULT 1")
    view = "CREATE VIEW IF NOT EXISTS db.v AS SELECT b FROM db.t;\n"
    report = check({"canon.sql": DB + TABLE + view, "d.sql": DB + changed + view})
    assert [(d.object, d.aspect) for d in report.sources[1].differences] == [("db.t", "column_default")]


def test_a_materialized_view_and_an_unqualified_read_carry_the_type() -> None:
    mv = "USE db;\nCREATE MATERIALIZED VIEW IF NOT EXISTS db.mv ENGINE = Memory AS SELECT b FROM t;\n"
    report = check({"canon.sql": DB + TABLE + mv, "d.sql": DB + TABLE.replace("b UInt8", "b UInt16") + mv})
    assert report.sources[1].differences == (
        static("db.t", "column_type", "UInt8", "UInt16", 5, "b", "d.sql"),
        static("db.mv", "view_columns", "UInt8", "UInt16", 8, "b", "d.sql"),
    )


def test_a_view_sqlglot_cannot_read_does_not_hide_the_next_one() -> None:
    views = ("CREATE VIEW IF NOT EXISTS db.a AS SELECT b FROM db.t WHERE (((;\n"
             "CREATE VIEW IF NOT EXISTS db.v AS SELECT b FROM db.t;\n")
    report = check({"canon.sql": DB + TABLE + views, "d.sql": DB + TABLE.replace("b UInt8", "b UInt16") + views})
    assert [(d.object, d.aspect) for d in report.sources[1].differences] == [("db.t", "column_type"),
                                                                           ("db.v", "view_columns")]


def test_a_long_table_comment_shows_only_what_differs() -> None:
    from chconform.schema.static import compare_definitions, parse_definition

    long = " ".join(f"word{i}" for i in range(40))
    want = parse_definition(split_statements(f"CREATE TABLE db.t (a String) ENGINE = Memory COMMENT '{long} end'")[0])
    got = parse_definition(split_statements(f"CREATE TABLE db.t (a String) ENGINE = Memory COMMENT '{long} fin'")[0])
    assert compare_definitions(want, got) == [Difference("db.t", "table_comment", f"{long} end", f"{long} fin")]


def test_a_dropped_database_is_gone_for_later_creates() -> None:
    text = DB + "DROP DATABASE db;\nCREATE TABLE IF NOT EXISTS db.x (a String) ENGINE = Memory;\n"
    assert simulate(src(text)).findings == (
        static("db.x", "unknown_database", "database db created first", "database db does not exist (UNKNOWN_DATABASE)",
               3),)


def test_an_alter_names_its_table_not_the_words_it_holds() -> None:
    text = DB + T + "CREATE TABLE IF NOT EXISTS default.c (a String) ENGINE = Memory;\nALTER TABLE db.t ADD COLUMN c String;\n"
    assert [n.object for n in simulate(src(text)).notes] == ["db.t"]


def test_each_undecidable_table_has_its_own_note() -> None:
    text = DB + "CREATE TABLE IF NOT EXISTS db.a AS db.o;\nCREATE TABLE IF NOT EXISTS db.b ENGINE = Memory AS SELECT 1;\n"
    assert [(n.object, n.source, n.line) for n in simulate(src(text)).notes] == [("db.a", "a.sql", 2), ("db.b", "a.sql", 3)]


def test_each_round_starts_in_the_default_database() -> None:
    text = ("CREATE TABLE IF NOT EXISTS default.t (a String) ENGINE = Memory;\n"
            "CREATE OR REPLACE VIEW v AS SELECT a FROM t;\n" + DB + "USE db;\n")
    sim = simulate(src(text))
    assert sim.findings == () and sorted(sim.objects) == ["default.t", "default.v"]


def test_a_prelude_failure_in_both_rounds_is_one_finding_and_its_notes_are_kept() -> None:
    sim = simulate(src("SELECT 1;\n"), ["CREATE TABLE IF NOT EXISTS nodb.x (a String) ENGINE = Memory",
                                        "CREATE DATABASE IF NOT EXISTS db", "CREATE TABLE IF NOT EXISTS db.q AS db.o"])
    assert sim.findings == (static("nodb.x", "unknown_database", "database nodb created first",
                                   "database nodb does not exist (UNKNOWN_DATABASE)", 1, source="prelude"),)
    assert [(n.object, n.source, n.line, n.why) for n in sim.notes] == [
        ("db.q", "prelude", 1, "its columns come from `db.o`, which only the engine resolves")]


def test_a_view_without_a_query_and_two_unreadable_views_each_get_a_note() -> None:
    sim = simulate(src(DB + "CREATE VIEW IF NOT EXISTS db.v;\nCREATE VIEW IF NOT EXISTS db.w AS SELECT (((;\n"))
    assert [(n.object, n.why) for n in sim.notes] == [
        ("db.v", "sqlglot cannot parse the view's query (No expression was parsed from '')"),
        ("db.w", "sqlglot cannot parse the view's query (Required keyword: 'this' missing for "
                 "<class 'sqlglot.expressions.core.Paren'>. L)")]
    assert sim.objects["db.v"].view_query.text == ""


def test_two_notes_of_one_view() -> None:
    sim = simulate(src(DB + "CREATE VIEW IF NOT EXISTS db.v AS SELECT * FROM numbers(2) AS n, system.one;\n"))
    assert [n.why for n in sim.notes] == ["reads system.one, a system table", "reads the table function numbers(2) AS n"]


VIEWS = (DB + T + "CREATE TABLE IF NOT EXISTS db.s (a String) ENGINE = Memory;\n"
         "CREATE MATERIALIZED VIEW IF NOT EXISTS db.mv TO db.s (a String, extra Date) AS SELECT a FROM db.t;\n"
         "CREATE VIEW IF NOT EXISTS db.lim AS SELECT a AS y FROM db.t LIMIT 1 BY a SETTINGS max_threads = 1;\n"
         "CREATE VIEW IF NOT EXISTS db.altv AS SELECT a FROM db.t;\nALTER TABLE db.altv MODIFY QUERY SELECT a, b FROM db.t;\n")


@pytest.mark.parametrize(("query", "problems", "undecided"), [
    ("SELECT extra, a FROM db.mv", [], []),
    ("SELECT y, zz FROM db.lim", [("unknown_column", "db.lim", "zz")], []),
    ("SELECT b FROM db.altv", [], ["reads db.altv, whose columns only the engine knows"]),
    ("SELECT q.zz, yy FROM db.t", [("unknown_column", "db.t", "yy")], []),
    ("SELECT t.a, zz FROM db.t", [("unknown_column", "db.t", "zz")], []),
    ("SELECT zz, t.yy FROM db.t JOIN numbers(1) AS n ON 1", [("unknown_column", "db.t", "yy")],
     ["reads the table function numbers(1) AS n"]),
])
def test_view_problems_past_the_first_column_and_settings_are_no_columns(query: str, problems: list[tuple[str, str, str]],
                                             undecided: list[str]) -> None:
    assert view_problems(query, simulate(src(VIEWS)).objects, "db") == (problems, undecided)


def test_nondeterministic_calls_look_only_at_calls() -> None:
    from chconform.schema.static import nondeterministic_calls
    from chconform.sql.source import tokenize

    assert nondeterministic_calls(tokenize("now + 1")) == []
    assert nondeterministic_calls(tokenize("(now) + rand()")) == ["rand"]


def test_a_query_setting_is_not_a_column() -> None:
    """`chconform check` builds a view whose query ends in SETTINGS; the validator once called the setting a column."""
    sim = simulate(src(VIEWS))
    assert sim.findings == () and sorted(sim.objects) == ["db.altv", "db.lim", "db.mv", "db.s", "db.t"]


# --- written against the survivors of the third fresh run ------------------------------------------------------------


def test_an_undecidable_canon_table_does_not_stop_the_comparison_of_the_next() -> None:
    report = check({"canon.sql": DB + "CREATE TABLE IF NOT EXISTS db.a AS db.o;\n" + TABLE,
                    "other.sql": DB + "CREATE TABLE IF NOT EXISTS db.a (a String) ENGINE = Memory;\n"
                    + TABLE.replace("b UInt8", "b UInt16")})
    assert [(d.object, d.aspect) for d in report.sources[1].differences] == [("db.t", "column_type")]


@pytest.mark.parametrize(("query", "lineage"), [
    ("SELECT u.c AS x FROM db.t AS t JOIN db.u AS u ON t.a = u.a", {"x": (True, {("db.u", "c")})}),
    ("SELECT q.zz FROM db.t", {"zz": (False, set())}),
    ("SELECT a FROM db.t LIMIT 1 BY a SETTINGS max_threads = 1", {"a": (True, {("db.t", "a")})}),
    ("SELECT x FROM (SELECT a AS x FROM db.t UNION ALL SELECT c FROM db.u)",
     {"x": (True, {("db.t", "a"), ("db.u", "c")})}),
])
def test_view_lineage_through_qualifiers_settings_and_unions(query: str,
                                                             lineage: dict[str, tuple[bool, set[tuple[str, str]]]]) -> None:
    assert view_lineage(query, catalog(), "db") == {k: (bare, frozenset(refs)) for k, (bare, refs) in lineage.items()}
