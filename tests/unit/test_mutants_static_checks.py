"""The static validator's verdicts asserted whole: simulation findings, view columns, the check of a
configuration (schema/static: simulate, views; checks/static).

Written against mutmut's survivors in chconform.schema.static and chconform.checks.static
(docs/mutation/schema-static.md). The caches of the reading functions are emptied before each test, so every
test reaches the code it asserts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chconform.schema.static.definition import _definition
from chconform.schema.static.simulate import Note
from chconform.schema.static.types import canonical_type
from chconform.schema.static.views import _query_shape


@pytest.fixture(autouse=True)
def _cold_caches() -> Iterator[None]:
    for cached in (canonical_type, _definition, _query_shape):
        cached.cache_clear()
    yield


def test_a_note_names_where_and_why() -> None:
    assert Note("zakaz.t", "a.sql", 3, "why").text() == "a.sql:3  zakaz.t  undecidable statically: why"


# --- simulate: a source applied twice to an empty catalog ---------------------------------------------------------

from chconform.model import Difference  # noqa: E402
from chconform.schema.static import simulate  # noqa: E402
from chconform.sql.source import Source, split_statements  # noqa: E402

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
