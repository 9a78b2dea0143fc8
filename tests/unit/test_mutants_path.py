"""Blame of an upgrade path asserted whole (mutation survivors in checks/path: checks/blame.py).

Each difference is blamed on one step (its file) and one statement of it (its line), with `check = "path"`:
the statement that dropped, detached or renamed a table away; the ALTER that changed it; the CREATE that
made it, followed back through RENAME, EXCHANGE, `CREATE … AS` and `AS SELECT … FROM` into the step that
made the original. Statements that failed, and `CREATE … IF NOT EXISTS` of a table already there, are never
blamed. The helpers that read names out of statements are asserted on the statements they get.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from chconform.checks.blame import (
    _copied_from,
    _culprit,
    _selected_from,
    blame,
    failed_statements,
    moves,
)
from chconform.checks.results import StatementError
from chconform.model import Column, Difference, Snapshot, Table
from chconform.sql.source import Source, Statement, split_statements

NONE_FAILED = failed_statements([])
TYPE = Difference("app.t", "column_type", "Int64", "Int32", "c")
MISSING = Difference("app.t", "missing_table", "table", "absent")
CREATE_T = "CREATE TABLE app.t (id String, c Int64) ENGINE = MergeTree ORDER BY id;"
CREATE_T32 = "CREATE TABLE IF NOT EXISTS app.t (id String, c Int32) ENGINE = MergeTree ORDER BY id;"


def step(path: str, text: str) -> Source:
    return Source(path, text, "utf-8", tuple(split_statements(text)))


def table(name: str = "t", c: str = "Int64", database: str = "app") -> Table:
    return Table(database, name, "table", "MergeTree", columns=(Column("id", 1, "String"), Column("c", 2, c)))


def snap(*tables: Table) -> Snapshot:
    return Snapshot(("app",), tables)


CANON = snap(table())


def blamed(d: Difference, stages: Sequence[tuple[Source | None, Snapshot]],
           failed: Callable[[str, Statement], bool] = NONE_FAILED, fallback: str = "last.sql") -> tuple[str, int | None]:
    got = blame(d, CANON, stages, failed, fallback)
    assert got.check == "path"
    return got.source, got.line


def statement(text: str) -> Statement:
    (stmt,) = split_statements(text)
    return stmt


# ---- blame, whole ---------------------------------------------------------------------------------------

def test_a_blamed_difference_keeps_its_values_and_takes_the_step_line_and_check_path() -> None:
    d = replace(TYPE, source="canon.sql", line=9, check="canonical")
    stages = [(None, snap()), (step("001.sql", f"SELECT 1;\n{CREATE_T32}"), snap(table(c="Int32")))]
    assert blame(d, CANON, stages, NONE_FAILED, "last.sql") == Difference(
        "app.t", "column_type", "Int64", "Int32", "c", "001.sql", 2, "path")


def test_a_table_never_created_is_blamed_on_the_fallback_even_if_the_last_step_drops_that_name() -> None:
    d = replace(MISSING, source="canon.sql", line=4)
    stages = [(None, snap()), (step("001.sql", "CREATE TABLE app.other (id String) ENGINE = Memory;"), snap()),
              (step("002.sql", "DROP TABLE IF EXISTS app.t;"), snap())]
    assert blame(d, CANON, stages, NONE_FAILED, "002.sql") == Difference(
        "app.t", "missing_table", "table", "absent", None, "002.sql", None, "path")


def test_with_no_stages_the_fallback_is_blamed() -> None:
    assert blame(TYPE, CANON, [], NONE_FAILED, "009.sql") == replace(TYPE, source="009.sql", check="path")


def test_a_table_lost_to_a_statement_blame_cannot_read_is_blamed_on_its_step_without_a_line() -> None:
    stages = [(None, snap()), (step("001.sql", CREATE_T), snap(table())),
              (step("002.sql", "RENAME DATABASE app TO app_old;"), snap())]
    assert blamed(MISSING, stages) == ("002.sql", None)


# ---- a table taken away ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("SELECT 1;\nDROP TABLE app.t;\nDROP TABLE app.other;\nSELECT 2;", 2),
        ("SELECT 1;\nDETACH TABLE app.t;\nSELECT 2;", 2),
        ("DROP DATABASE app;\nCREATE DATABASE app;\nSELECT 1;", 1),
        ("RENAME TABLE app.other TO app.other_old;\nRENAME TABLE app.t TO app.t_old;\nSELECT 1;", 2),
    ],
    ids=["drop-table", "detach", "drop-database-then-create-it-empty", "rename-away"],
)
def test_a_missing_table_is_blamed_on_the_statement_that_took_its_name_away(text: str, line: int) -> None:
    stages = [(None, snap()), (step("001.sql", CREATE_T), snap(table(), table("other"))),
              (step("002.sql", text), snap())]
    assert blamed(MISSING, stages) == ("002.sql", line)


def test_a_table_dropped_in_an_earlier_step_is_blamed_there() -> None:
    stages = [(None, snap()), (step("001.sql", CREATE_T), snap(table())),
              (step("002.sql", "SELECT 1;\nDROP TABLE app.t;"), snap()), (step("003.sql", "SELECT 2;"), snap())]
    assert blamed(MISSING, stages) == ("002.sql", 2)


# ---- following a name within a step ---------------------------------------------------------------------

def test_an_alter_naming_the_column_in_backquotes_is_blamed() -> None:
    stages = [(None, snap()), (step("001.sql", f"{CREATE_T}\nALTER TABLE app.t MODIFY COLUMN `c` Int32;"),
                               snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("001.sql", 2)


def test_an_alter_is_not_blamed_for_an_aspect_no_alter_command_changes() -> None:
    engine = Difference("app.t", "engine", "MergeTree", "Memory")
    text = "CREATE TABLE app.t (id String, c Int64) ENGINE = Memory;\nALTER TABLE app.t ADD COLUMN x String;"
    stages = [(None, snap()), (step("001.sql", text), snap(replace(table(), engine="Memory")))]
    assert blamed(engine, stages) == ("001.sql", 1)


def test_a_rename_of_unqualified_names_is_followed_in_the_database_of_use() -> None:
    text = ("USE app;\nCREATE TABLE t_new (id String, c Int32) ENGINE = MergeTree ORDER BY id;\n"
            "RENAME TABLE t TO t_old, t_new TO t;")
    stages = [(None, snap()), (step("001.sql", CREATE_T), snap(table())),
              (step("002.sql", text), snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("002.sql", 2)


def test_unqualified_names_without_use_are_in_the_default_database() -> None:
    d = replace(TYPE, object="default.t")
    canon = Snapshot(("default",), (table(database="default"),))
    first = step("001.sql", "CREATE TABLE t (id String, c Int64) ENGINE = MergeTree ORDER BY id;")
    second = step("002.sql", "CREATE TABLE t_new (id String, c Int32) ENGINE = MergeTree ORDER BY id;\n"
                             "RENAME TABLE t TO t_old, t_new TO t;")
    stages = [(None, Snapshot()), (first, Snapshot(("default",), (table(database="default"),))),
              (second, Snapshot(("default",), (table(c="Int32", database="default"),)))]
    got = blame(d, canon, stages, NONE_FAILED, "002.sql")
    assert (got.source, got.line) == ("002.sql", 1)


def test_a_copy_with_its_own_engine_clause_is_blamed_for_a_table_aspect_and_a_bare_copy_is_followed() -> None:
    sorting = Difference("app.t", "sorting_key", "id", "c")
    canon = snap(replace(table(), sorting_key="id"))
    src = step("001.sql", "CREATE TABLE app.src (id String, c Int64) ENGINE = MergeTree ORDER BY c;")
    src_table = replace(table("src"), sorting_key="c")
    own = step("002.sql", "CREATE TABLE app.t AS app.src ENGINE = MergeTree ORDER BY c;")
    bare = step("002.sql", "CREATE TABLE app.t AS app.src;")
    for copy, where in ((own, ("002.sql", 1)), (bare, ("001.sql", 1))):
        stages = [(None, snap()), (src, snap(src_table)), (copy, snap(src_table, replace(table(), sorting_key="c")))]
        got = blame(sorting, canon, stages, NONE_FAILED, "002.sql")
        assert (got.source, got.line) == where


def test_create_as_select_from_an_unqualified_table_is_followed_in_the_database_of_use() -> None:
    src = step("001.sql", "CREATE TABLE app.src (id String, c Int32) ENGINE = MergeTree ORDER BY id;")
    ctas = step("002.sql", "USE app;\nCREATE TABLE t ENGINE = MergeTree ORDER BY id AS SELECT id, c FROM src;")
    stages = [(None, snap()), (src, snap(table("src", "Int32"))), (ctas, snap(table("src", "Int32"), table(c="Int32")))]
    assert blamed(TYPE, stages) == ("001.sql", 1)


def test_create_as_select_star_is_followed_to_the_table_it_reads() -> None:
    src = step("001.sql", "CREATE TABLE app.src (id String, c Int32) ENGINE = MergeTree ORDER BY id;")
    ctas = step("002.sql", "CREATE TABLE app.t ENGINE = MergeTree ORDER BY (id) AS SELECT * FROM app.src;")
    stages = [(None, snap()), (src, snap(table("src", "Int32"))), (ctas, snap(table("src", "Int32"), table(c="Int32")))]
    assert blamed(TYPE, stages) == ("001.sql", 1)


# ---- following a table into the step that made it --------------------------------------------------------

def test_a_table_moved_into_place_is_followed_by_its_own_name_through_the_steps_before() -> None:
    made = step("001.sql", f"{CREATE_T}\nCREATE TABLE app.t_next (id String, c Int32) ENGINE = MergeTree ORDER BY id;")
    both = snap(table(), table("t_next", "Int32"))
    stages = [(None, snap()), (made, both), (step("002.sql", "SELECT 1;"), both),
              (step("003.sql", "EXCHANGE TABLES app.t AND app.t_next;\nDROP TABLE app.t_next;"), snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("001.sql", 2)


def test_a_table_moved_into_place_is_blamed_on_its_create_though_the_table_it_replaced_once_matched() -> None:
    """app.t had the column as it ends before step 2 changed it; the table swapped in for it came from step 2."""
    made = step("002.sql", "ALTER TABLE app.t MODIFY COLUMN c Int64;\n"
                           "CREATE TABLE app.t_next (id String, c Int32) ENGINE = MergeTree ORDER BY id;")
    stages = [(None, snap()), (step("001.sql", CREATE_T32), snap(table(c="Int32"))),
              (made, snap(table(), table("t_next", "Int32"))),
              (step("003.sql", "EXCHANGE TABLES app.t AND app.t_next;\nDROP TABLE app.t_next;"), snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("002.sql", 2)


def test_a_table_moved_into_place_in_the_first_step_is_followed_into_the_start() -> None:
    start = step("base.sql", f"{CREATE_T}\nCREATE TABLE app.t_next (id String, c Int32) ENGINE = MergeTree ORDER BY id;")
    stages = [(start, snap(table(), table("t_next", "Int32"))),
              (step("001.sql", "EXCHANGE TABLES app.t AND app.t_next;\nDROP TABLE app.t_next;"), snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("base.sql", 2)


# ---- statements that changed nothing --------------------------------------------------------------------

def test_create_if_not_exists_of_a_table_the_step_before_left_changed_nothing() -> None:
    alter = "ALTER TABLE app.t MODIFY COLUMN c Int32;"
    stages = [(None, snap()), (step("001.sql", CREATE_T), snap(table())),
              (step("002.sql", f"{alter}\n{CREATE_T32}"), snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("002.sql", 1)
    stages = [(step("base.sql", CREATE_T), snap(table())), (step("001.sql", f"{alter}\n{CREATE_T32}"),
                                                            snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("001.sql", 1)  # the start's tables were there before the first step


def test_create_if_not_exists_in_the_start_made_its_table() -> None:
    stages = [(step("base.sql", CREATE_T32), snap(table(c="Int32"))), (step("001.sql", "SELECT 1;"), snap(table(c="Int32")))]
    assert blamed(TYPE, stages, fallback="001.sql") == ("base.sql", 1)


def test_a_statement_that_failed_made_no_table_for_a_later_create_if_not_exists_to_find() -> None:
    text = f"CREATE TABLE app.t (id String, c Int64) ENGINE = Nope;\n{CREATE_T32}"
    failed = failed_statements([StatementError(1, 1, 36, "UNKNOWN_STORAGE", "no engine Nope", "CREATE …", "001.sql")])
    stages = [(None, snap()), (step("001.sql", text), snap(table(c="Int32")))]
    assert blamed(TYPE, stages, failed) == ("001.sql", 2)


def test_statements_without_a_name_are_passed_over_when_counting_the_tables_there() -> None:
    text = ("SELECT 1;\nCREATE TABLE app.t (id String, c Int32) ENGINE = MergeTree ORDER BY id;\n"
            "CREATE TABLE IF NOT EXISTS app.t (id String, c Int64) ENGINE = MergeTree ORDER BY id;")
    stages = [(None, snap()), (step("001.sql", text), snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("001.sql", 2)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"RENAME TABLE app.t TO app.t_old;\n{CREATE_T32}", 2),
        (f"DETACH TABLE app.t;\n{CREATE_T32}", 2),
        (f"USE app;\nRENAME TABLE t TO t_old;\n{CREATE_T32}", 3),
        (f"DROP DATABASE app;\nCREATE DATABASE app_next;\nRENAME DATABASE app_next TO app;\n{CREATE_T32}", 4),
    ],
    ids=["renamed-away", "detached", "renamed-away-unqualified", "database-dropped"],
)
def test_create_if_not_exists_after_its_table_went_away_made_it(text: str, line: int) -> None:
    stages = [(None, snap()), (step("001.sql", CREATE_T), snap(table())),
              (step("002.sql", text), snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("002.sql", line)


def test_create_if_not_exists_after_a_table_was_renamed_to_its_name_changed_nothing() -> None:
    text = ("ALTER TABLE app.u MODIFY COLUMN c Int32;\nRENAME TABLE app.u TO app.t;\n"
            "CREATE TABLE IF NOT EXISTS app.t (id String, c Int64) ENGINE = MergeTree ORDER BY id;")
    stages = [(None, snap()), (step("001.sql", "CREATE TABLE app.u (id String, c Int64) ENGINE = Memory;"),
                               snap(table("u"))),
              (step("002.sql", text), snap(table(c="Int32")))]
    assert blamed(TYPE, stages) == ("002.sql", 1)


def test_the_culprit_names_an_origin_only_for_a_definition_moved_or_copied_from_another_name() -> None:
    alter = step("002.sql", "ALTER TABLE app.t MODIFY COLUMN c Int32;")
    assert _culprit(TYPE, "app.t", alter, NONE_FAILED, {"app.t"}) == (alter.statements[0], None)
    twice = step("002.sql", "EXCHANGE TABLES app.t AND app.t_next;\nEXCHANGE TABLES app.t AND app.t_next;")
    assert _culprit(TYPE, "app.t", twice, NONE_FAILED, {"app.t", "app.t_next"}) == (twice.statements[0], None)
    moved = step("002.sql", "RENAME TABLE app.t_next TO app.t;")
    assert _culprit(TYPE, "app.t", moved, NONE_FAILED, {"app.t_next"}) == (moved.statements[0], "app.t_next")


# ---- failed statements ----------------------------------------------------------------------------------

def test_a_statement_failed_when_its_error_is_on_any_of_its_lines_and_in_its_file() -> None:
    first, multi, last = step("m.sql", "SELECT 1;\nALTER TABLE app.t\n    MODIFY COLUMN c Int32;\nSELECT 2;").statements
    failed = failed_statements([StatementError(1, 3, 70, "CANNOT_CONVERT_TYPE", "no", "ALTER …", "m.sql")])
    assert [failed("m.sql", s) for s in (first, multi, last)] == [False, True, False]
    assert failed("other.sql", multi) is False


# ---- names read out of statements -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("RENAME TABLE `app`.`t 1` TO app.`t 2`", [("app.t 1", "app.t 2")]),
        ("RENAME TABLE /* the old one */ app.t TO app.t_old", [("app.t", "app.t_old")]),
        ("EXCHANGE DICTIONARIES app.d AND app.d_new", [("app.d", "app.d_new"), ("app.d_new", "app.d")]),
        ("RENAME TABLE t TO t_old", [("app.t", "app.t_old")]),
        ("RENAME TABLE app.a TO app.b, app.c", [("app.a", "app.b")]),  # cut short: the pairs before the cut
        ("RENAME TABLE app.a", []),
        ("RENAME TABLE app.a TO", []),
    ],
)
def test_moves(text: str, found: list[tuple[str, str]]) -> None:
    assert moves(statement(text), "app") == found


def test_a_statement_that_does_not_lex_moves_nothing() -> None:
    text = "RENAME TABLE 'app"
    assert moves(Statement(text, 1, 1, 0, len(text), "rename"), "app") == []


@pytest.mark.parametrize(
    ("text", "copied"),
    [
        ("CREATE TABLE app.t_new AS app.t", "app.t"),
        ("CREATE TABLE app.t_new AS app.t ENGINE = MergeTree ORDER BY (id)", "app.t"),
        ("CREATE TABLE app.t_new AS `app`.`t`", "app.t"),
        ("CREATE TABLE t_new AS t", "app.t"),
        ("CREATE TABLE app.t_new ON CLUSTER main AS app.t", "app.t"),
        ("CREATE TABLE app.t_new (id String, c Int32) ENGINE = Memory", None),
        ("CREATE TABLE app.t_new AS SELECT * FROM app.t", None),
        ("CREATE TABLE app.t_new AS WITH 1 AS one SELECT one, c FROM app.t", None),
        ("CREATE TABLE app.t_new AS (SELECT * FROM app.t)", None),
        ("CREATE TABLE app.t_new ENGINE = Memory AS SELECT * FROM app.t", None),
        ("CREATE TABLE app.t_new AS remote('localhost', app.t)", None),
        ("CREATE FUNCTION plus_one AS x -> x + 1", None),
    ],
)
def test_the_table_a_create_copies(text: str, copied: str | None) -> None:
    assert _copied_from(statement(text), "app") == copied


@pytest.mark.parametrize(
    ("text", "selected"),
    [
        ("CREATE TABLE app.t ENGINE = MergeTree ORDER BY id AS SELECT id, c FROM app.src", "app.src"),
        ("CREATE TABLE app.t ENGINE = MergeTree ORDER BY (id) AS SELECT * FROM app.src", "app.src"),
        ("CREATE TABLE app.t (id String, c Int32 DEFAULT CAST(0 AS Int32)) ENGINE = MergeTree ORDER BY id "
         "AS SELECT id, c FROM app.src", "app.src"),
        ("CREATE TABLE app.t ENGINE = MergeTree ORDER BY id "
         "AS SELECT (SELECT max(c) FROM app.other) AS top, id, c FROM app.src", "app.src"),
        ("CREATE TABLE app.t ENGINE = Memory AS SELECT c FROM src", "app.src"),
        ("CREATE VIEW app.v AS SELECT c FROM `app`.`src`", "app.src"),
        ("CREATE MATERIALIZED VIEW app.mv TO app.t AS SELECT id, c FROM app.src", "app.src"),
        ("CREATE TABLE app.t ENGINE = Memory AS SELECT number AS c FROM numbers(10)", None),
        ("CREATE TABLE app.t ENGINE = Memory AS SELECT c FROM (SELECT c FROM app.src)", None),
        ("CREATE TABLE app.t ENGINE = Memory AS SELECT 1 AS c", None),
        ("CREATE TABLE app.t ENGINE = Memory AS SELECT c FROM", None),
        ("CREATE TABLE app.t (id String, c Int32) ENGINE = MergeTree ORDER BY id", None),
        ("INSERT INTO app.t SELECT id, c FROM app.src", None),
    ],
)
def test_the_table_a_create_as_select_reads(text: str, selected: str | None) -> None:
    assert _selected_from(statement(text), "app") == selected
