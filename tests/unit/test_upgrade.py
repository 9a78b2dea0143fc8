"""Pure parts of the upgrade-path check: sentinel rows, which rows a step lost and which statement lost them, blame."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chconform.checks.blame import blame, failed_statements, moves
from chconform.checks.path import PathResult
from chconform.checks.run import StatementError
from chconform.checks.sentinels import (
    Census,
    DataLoss,
    marker_condition,
    may_destroy,
    replaced,
    retyped_columns,
    retyped_value,
    seedable,
    sentinel_values,
    step_losses,
)
from chconform.model import Column, Difference, Snapshot, Table
from chconform.sql.source import Source, Statement, split_statements

U1, U2, U3 = (f"{d * 8}-0000-0000-0000-00000000000{d}" for d in "123")


def _source(text: str, path: str = "step.sql") -> Source:
    return Source(path, text, "utf-8", tuple(split_statements(text)))


def _walk(text: str, censuses: list[dict[str, tuple[str, int]]]) -> list[tuple[Statement | None, Census]]:
    """Checkpoints after each statement of `text` that may destroy rows, then the step's end."""
    stmts = [s for s in _source(text).statements if may_destroy(s)]
    assert len(censuses) == len(stmts) + 1, [s.first_line for s in stmts]
    return [(s, Census(c)) for s, c in zip([*stmts, None], censuses)]


def test_a_loss_names_the_statement_after_which_the_rows_stayed_gone() -> None:
    text = ("CREATE TABLE z.n (a String) ENGINE = Memory;\nTRUNCATE TABLE z.t;\nINSERT INTO z.n VALUES ('x');\n"
            "OPTIMIZE TABLE z.n;")
    base = Census({"z.t": (U1, 3)})
    found = step_losses(base, _walk(text, [{"z.t": (U1, 0)}, {"z.t": (U1, 0)}, {"z.t": (U1, 0)}]), "step.sql")
    assert found == [DataLoss("z.t", 3, 0, "step.sql", 2, "TRUNCATE TABLE z.t")]


def test_a_rename_carries_the_rows_and_loses_nothing() -> None:
    text = "RENAME TABLE z.t1 TO z.t2;"
    base = Census({"z.t1": (U1, 1)})
    assert step_losses(base, _walk(text, [{"z.t2": (U1, 1)}, {"z.t2": (U1, 1)}]), "s.sql") == []


def test_exchange_after_a_copy_keeps_the_rows_under_the_name_even_when_the_old_table_is_dropped() -> None:
    text = ("CREATE TABLE z.t_new AS z.t;\nINSERT INTO z.t_new SELECT * FROM z.t;\nEXCHANGE TABLES z.t AND z.t_new;\n"
            "DROP TABLE z.t_new;")
    base = Census({"z.t": (U1, 1)})
    after_exchange = {"z.t": (U2, 1), "z.t_new": (U1, 1)}
    assert step_losses(base, _walk(text, [after_exchange, {"z.t": (U2, 1)}, {"z.t": (U2, 1)}]), "s.sql") == []


def test_exchange_without_a_copy_loses_the_rows_at_the_drop_of_the_old_table() -> None:
    text = "CREATE TABLE z.t_new AS z.t;\nEXCHANGE TABLES z.t AND z.t_new;\nDROP TABLE z.t_new;"
    base = Census({"z.t": (U1, 1)})
    checkpoints = _walk(text, [{"z.t": (U2, 0), "z.t_new": (U1, 1)}, {"z.t": (U2, 0)}, {"z.t": (U2, 0)}])
    assert step_losses(base, checkpoints, "s.sql") == [DataLoss("z.t", 1, 0, "s.sql", 3, "DROP TABLE z.t_new")]


def test_rows_copied_aside_and_restored_are_kept() -> None:
    text = ("CREATE TABLE z.bak AS z.t;\nINSERT INTO z.bak SELECT * FROM z.t;\nDROP TABLE z.t;\n"
            "CREATE TABLE z.t (a String) ENGINE = Memory;\nINSERT INTO z.t SELECT * FROM z.bak;\nDROP TABLE z.bak;")
    base = Census({"z.t": (U1, 1)})
    checkpoints = _walk(text, [{"z.bak": (U2, 1)}, {"z.t": (U3, 1)}, {"z.t": (U3, 1)}])
    assert step_losses(base, checkpoints, "s.sql") == []


def test_a_table_dropped_then_restored_too_late_is_blamed_on_the_drop_it_never_recovered_from() -> None:
    text = "DROP TABLE z.t;\nCREATE TABLE z.t (a String) ENGINE = Memory;\nALTER TABLE z.t DELETE WHERE 1;"
    base = Census({"z.t": (U1, 2)})
    (loss,) = step_losses(base, _walk(text, [{}, {"z.t": (U2, 0)}, {"z.t": (U2, 0)}]), "s.sql")
    assert (loss.line, loss.statement, loss.before, loss.after) == (1, "DROP TABLE z.t", 2, 0)


def test_a_loss_no_statement_caused_has_no_line_and_no_statement() -> None:
    """Counted after every statement that may destroy rows: a loss seen only at the end is the engine's own."""
    base = Census({"z.t": (U1, 1)})
    (loss,) = step_losses(base, _walk("INSERT INTO z.t VALUES (1);", [{"z.t": (U1, 0)}]), "s.sql")
    assert (loss.line, loss.statement) == (None, "")


def test_tables_without_rows_before_the_step_cannot_lose_any() -> None:
    base = Census({"z.empty": (U1, 0)})
    assert step_losses(base, _walk("DROP TABLE z.empty;", [{}, {}]), "s.sql") == []


def test_the_zero_uuid_of_an_ordinary_database_follows_nothing() -> None:
    zero = "00000000-0000-0000-0000-000000000000"
    base = Census({"o.t": (zero, 1)})
    assert base.held("o.t", zero) == 1
    assert Census({"o.other": (zero, 5)}).held("o.t", zero) == 0


@pytest.mark.parametrize(
    ("text", "destroys"),
    [
        ("CREATE TABLE z.t (a String) ENGINE = Memory", False),
        ("CREATE TABLE z.t2 AS z.t", False),
        ("INSERT INTO z.t VALUES ('a')", False),
        ("CREATE OR REPLACE TABLE z.t (a String) ENGINE = Memory", True),
        ("REPLACE TABLE z.t (a String) ENGINE = Memory", True),
        ("DROP TABLE z.t", True),
        ("TRUNCATE TABLE z.t", True),
        ("ALTER TABLE z.t DELETE WHERE 1", True),
        ("DELETE FROM z.t WHERE 1", True),
        ("RENAME TABLE z.t TO z.u", True),
        ("EXCHANGE TABLES z.t AND z.u", True),
        ("OPTIMIZE TABLE z.t FINAL", True),
        ("DROP DATABASE z", True),
    ],
)
def test_which_statements_are_followed_by_a_count(text: str, destroys: bool) -> None:
    (stmt,) = split_statements(text)
    assert may_destroy(stmt) is destroys


@pytest.mark.parametrize(
    ("engine", "ok"),
    [("MergeTree", True), ("ReplacingMergeTree", True), ("ReplicatedReplacingMergeTree", True), ("Memory", True),
     ("Log", True), ("Kafka", False), ("Distributed", False), ("Null", False), ("URL", False)],
)
def test_only_plain_stored_tables_get_sentinel_rows(engine: str, ok: bool) -> None:
    assert (seedable(engine) is None) is ok


COLUMNS = [("id", "String", ""), ("day", "Date", ""), ("ts", "DateTime64(3, 'UTC')", "DEFAULT"),
           ("n", "UInt64", ""), ("small", "Int8", ""), ("price", "Decimal(9, 2)", ""),
           ("name", "LowCardinality(Nullable(String))", ""), ("code", "FixedString(2)", ""), ("u", "UUID", ""),
           ("kind", "Enum8('a' = 1, 'b' = 2)", ""), ("tags", "Array(String)", ""),
           ("m", "String", "MATERIALIZED"), ("al", "String", "ALIAS")]


def test_a_sentinel_has_future_dates_its_own_key_and_non_zero_numbers() -> None:
    got = dict(sentinel_values(COLUMNS, "MergeTree ORDER BY id", 7))
    assert got == {
        "id": "'chconform sentinel 7'", "day": "today() + 7", "ts": "now() + toIntervalDay(7)", "n": "7",
        "small": "8", "price": "8", "name": "'chconform sentinel 7'", "code": "left('7', 2)",
        "u": "generateUUIDv4(7)",
    }  # enums, arrays keep their defaults; MATERIALIZED and ALIAS columns cannot be written
    assert dict(sentinel_values(COLUMNS, "MergeTree ORDER BY id", 8))["id"] != got["id"]


@pytest.mark.parametrize(
    ("engine_full", "column", "value"),
    [
        ("CollapsingMergeTree(sign) ORDER BY id", "sign", "1"),
        ("VersionedCollapsingMergeTree(sign, ver) ORDER BY id", "sign", "1"),
        ("ReplicatedCollapsingMergeTree('/clickhouse/tables/{shard}/t', '{replica}', sign) ORDER BY id", "sign", "1"),
        ("ReplacingMergeTree(ver, is_deleted) ORDER BY id", "is_deleted", "0"),
        ("ReplacingMergeTree(ver, `is_deleted`) ORDER BY id", "is_deleted", "0"),
        ("ReplacingMergeTree(ver) ORDER BY id", "ver", "3"),
        ("ReplacingMergeTree ORDER BY (id, ver)", "ver", "3"),  # the ORDER BY tuple is no engine argument
        ("CollapsingMergeTree(sign) ORDER BY (id, sign)", "sign", "1"),
    ],
)
def test_a_sentinel_row_keeps_its_role_in_collapsing_and_replacing_engines(engine_full: str, column: str,
                                                                           value: str) -> None:
    columns = [("id", "String", ""), ("sign", "Int8", ""), ("ver", "UInt64", ""), ("is_deleted", "UInt8", "")]
    assert dict(sentinel_values(columns, engine_full, 3))[column] == value


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("RENAME TABLE a.t1 TO a.t2", [("a.t1", "a.t2")]),
        ("RENAME TABLE t1 TO t2, a.x TO b.y ON CLUSTER c", [("default.t1", "default.t2"), ("a.x", "b.y")]),
        ("EXCHANGE TABLES a.t AND a.t_new", [("a.t", "a.t_new"), ("a.t_new", "a.t")]),
        ("RENAME DICTIONARY a.d TO a.e", [("a.d", "a.e")]),
        ("RENAME DATABASE a TO b", []),
        ("DROP TABLE a.t", []),
    ],
)
def test_moves_of_rename_and_exchange(text: str, found: list[tuple[str, str]]) -> None:
    (stmt,) = split_statements(text)
    assert moves(stmt, "default") == found


def _table(**columns: str) -> Table:
    return Table("app", "t", "table", "MergeTree", columns=tuple(
        Column(name, i, type_) for i, (name, type_) in enumerate(columns.items(), 1)))


def _snap(*tables: Table) -> Snapshot:
    return Snapshot(("app",), tables)


STEP1 = _source("CREATE DATABASE app;\nCREATE TABLE app.t (id String) ENGINE = MergeTree ORDER BY id;", "001.sql")
STEP2 = _source("SELECT 1;\nALTER TABLE app.t\n    ADD COLUMN c Int32;\nALTER TABLE app.t ADD COLUMN other String;",
                "002.sql")
STEP3 = _source("CREATE TABLE app.t_new AS app.t;\nINSERT INTO app.t_new SELECT * FROM app.t;\n"
                "EXCHANGE TABLES app.t AND app.t_new;\nDROP TABLE app.t_new;", "003.sql")
CANON = _snap(_table(id="String", c="Int64", other="String"))
TYPE_DIFF = Difference("app.t", "column_type", "Int64", "Int32", "c")
NOTHING_FAILED = failed_statements([])


def test_blame_follows_a_column_through_a_rebuild_and_exchange_to_the_alter_that_added_it() -> None:
    stages = [(None, _snap()), (STEP1, _snap(_table(id="String"))),
              (STEP2, _snap(_table(id="String", c="Int32", other="String"))),
              (STEP3, _snap(_table(id="String", c="Int32", other="String")))]
    got = blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "003.sql")
    assert (got.source, got.line, got.check) == ("002.sql", 2, "path")


def test_blame_within_a_step_follows_exchange_and_create_as_back_to_the_alter_of_the_copy() -> None:
    step = _source("CREATE TABLE app.t_new AS app.t;\nALTER TABLE app.t_new MODIFY COLUMN c Int32;\n"
                   "EXCHANGE TABLES app.t AND app.t_new;", "003.sql")
    stages = [(None, _snap()), (STEP1, _snap(_table(id="String", c="Int64"))),
              (step, _snap(_table(id="String", c="Int32")))]
    got = blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "003.sql")
    assert (got.source, got.line) == ("003.sql", 2)


@pytest.mark.parametrize(
    "create",
    ["CREATE TABLE app.t_new AS app.t", "CREATE TABLE IF NOT EXISTS app.t_new ON CLUSTER c AS app.t",
     "CREATE TABLE app.t_new AS t"],
)
def test_blame_follows_create_as_of_any_spelling_to_the_alter_of_the_original(create: str) -> None:
    step = _source(f"USE app;\nALTER TABLE app.t MODIFY COLUMN c Int32;\n{create};\n"
                   "EXCHANGE TABLES app.t AND app.t_new;", "003.sql")
    stages = [(None, _snap()), (STEP1, _snap(_table(id="String", c="Int64"))),
              (step, _snap(_table(id="String", c="Int32")))]
    assert blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "003.sql").line == 2


def test_blame_of_a_rebuild_with_its_own_column_list_is_the_create_of_the_copy() -> None:
    step = _source("CREATE TABLE app.t_new (id String, c Int32) ENGINE = MergeTree ORDER BY id;\n"
                   "RENAME TABLE app.t TO app.t_old, app.t_new TO app.t;\nDROP TABLE app.t_old;", "003.sql")
    stages = [(None, _snap()), (STEP1, _snap(_table(id="String", c="Int64"))),
              (step, _snap(_table(id="String", c="Int32")))]
    assert blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "003.sql").line == 1


def test_an_alter_is_blamed_only_for_the_aspect_it_changes() -> None:
    step = _source("CREATE TABLE app.t (id String) ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = 64;\n"
                   "ALTER TABLE app.t MODIFY TTL now() + INTERVAL 1 DAY;\nALTER TABLE app.t ADD COLUMN x String;",
                   "001.sql")
    t = replace(_table(id="String", x="String"), settings="index_granularity = 64", ttl="now() + toIntervalDay(1)")
    stages = [(None, _snap()), (step, _snap(t))]
    settings = Difference("app.t", "settings", "index_granularity = 8192", "index_granularity = 64")
    ttl = Difference("app.t", "ttl", "", "now() + toIntervalDay(1)")
    extra = Difference("app.t", "column_extra", "absent", "x String", "x")
    assert [blame(d, CANON, stages, NOTHING_FAILED, "001.sql").line for d in (settings, ttl, extra)] == [1, 2, 3]


def test_blame_follows_a_table_moved_into_place_back_to_the_step_that_made_it() -> None:
    def other(**columns: str) -> Table:
        return replace(_table(**columns), name="t_next")

    step2 = _source("SELECT 1;\nCREATE TABLE app.t_next (id String, c Int32) ENGINE = MergeTree ORDER BY id;", "002.sql")
    step3 = _source("EXCHANGE TABLES app.t AND app.t_next;\nDROP TABLE app.t_next;", "003.sql")
    stages = [(None, _snap()), (STEP1, _snap(_table(id="String", c="Int64"))),
              (step2, _snap(_table(id="String", c="Int64"), other(id="String", c="Int32"))),
              (step3, _snap(_table(id="String", c="Int32")))]
    got = blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "003.sql")
    assert (got.source, got.line) == ("002.sql", 2)
    renamed = _source("RENAME TABLE app.t_next TO app.t;", "003.sql")  # the same through a RENAME
    stages[3] = (renamed, _snap(_table(id="String", c="Int32")))
    stages[1:3] = [(STEP1, _snap()), (step2, _snap(other(id="String", c="Int32")))]
    got = blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "003.sql")
    assert (got.source, got.line) == ("002.sql", 2)


def test_blame_follows_create_as_select_to_the_table_its_columns_came_from() -> None:
    step2 = _source("CREATE TABLE app.src (id String, c Int32) ENGINE = MergeTree ORDER BY id;", "002.sql")
    step3 = _source("CREATE TABLE app.t ENGINE = MergeTree ORDER BY id\nAS SELECT id, c FROM app.src;", "003.sql")
    src = replace(_table(id="String", c="Int32"), name="src")
    stages = [(None, _snap()), (step2, _snap(src)), (step3, _snap(src, _table(id="String", c="Int32")))]
    got = blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "003.sql")
    assert (got.source, got.line) == ("002.sql", 1)
    stages[1] = (step2, _snap(replace(_table(id="String", c="Int64"), name="src")))  # src differed: the CTAS made it
    assert blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "003.sql").source == "003.sql"


def test_a_statement_that_failed_is_never_blamed() -> None:
    step = _source("ALTER TABLE app.t MODIFY COLUMN c Int32;\nALTER TABLE app.t MODIFY COLUMN c Int64 CODEC(Nope);",
                   "002.sql")
    stages = [(None, _snap()), (step, _snap(_table(id="String", c="Int32")))]
    failed = failed_statements([StatementError(1, 2, 36, "UNKNOWN_CODEC", "no codec", "ALTER …", "002.sql")])
    assert blame(TYPE_DIFF, CANON, stages, failed, "002.sql").line == 1
    assert blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "002.sql").line == 2


def test_a_create_if_not_exists_that_found_its_table_changed_nothing_and_is_never_blamed() -> None:
    step = _source("CREATE TABLE app.t (id String, c Int32) ENGINE = MergeTree ORDER BY id;\n"
                   "CREATE TABLE IF NOT EXISTS app.t (id String, c Int64) ENGINE = MergeTree ORDER BY id;", "001.sql")
    stages = [(None, _snap()), (step, _snap(_table(id="String", c="Int32")))]
    assert blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "001.sql").line == 1


def test_a_create_if_not_exists_after_a_drop_made_the_table() -> None:
    step = _source("DROP TABLE app.t;\n"
                   "CREATE TABLE IF NOT EXISTS app.t (id String, c Int32) ENGINE = MergeTree ORDER BY id;", "002.sql")
    stages = [(None, _snap()), (STEP1, _snap(_table(id="String", c="Int64"))),
              (step, _snap(_table(id="String", c="Int32")))]
    assert blame(TYPE_DIFF, CANON, stages, NOTHING_FAILED, "002.sql").line == 2


def test_a_table_never_created_is_blamed_on_the_last_step_without_a_line() -> None:
    missing = Difference("app.t", "missing_table", "table", "absent")
    got = blame(missing, CANON, [(None, _snap()), (STEP2, _snap())], NOTHING_FAILED, "002.sql")
    assert (got.source, got.line) == ("002.sql", None)


def test_a_table_renamed_away_is_blamed_on_the_rename() -> None:
    step = _source("SELECT 1;\nRENAME TABLE app.t TO app.t_old;", "004.sql")
    missing = Difference("app.t", "missing_table", "table", "absent")
    stages = [(None, _snap()), (STEP1, _snap(_table(id="String"))), (step, _snap())]
    assert blame(missing, CANON, stages, NOTHING_FAILED, "004.sql").line == 2


def test_a_path_with_a_failed_statement_never_reaches_the_canon() -> None:
    """Issue 18: a step that fails must not pass because the schema happens to match."""
    err = StatementError(1, 3, 60, "UNKNOWN_TABLE", "no table", "ALTER TABLE app.t …", "002.sql")
    failing = PathResult("p", ("001.sql", "002.sql"), errors=(err,))
    assert not failing.reaches_canon and not failing.ok() and not failing.ok(accept_data_loss=True)


def test_data_loss_fails_a_path_unless_accepted() -> None:
    lost = PathResult("p", ("a.sql",), data_loss=(DataLoss("z.t", 1, 0, "a.sql", 1, "DROP TABLE z.t"),))
    assert lost.reaches_canon and not lost.ok() and lost.ok(accept_data_loss=True)
    assert PathResult("p", ("a.sql",)).ok()


def test_a_loss_line_names_its_statement_or_says_none_did_never_an_empty_pair_of_brackets() -> None:
    from chconform.commands.path import render_paths_text

    named = DataLoss("z.t", 1, 0, "002.sql", 4, "DROP TABLE z.t_old")
    unnamed = DataLoss("z.u", 1, 0, "002.sql")
    text = render_paths_text([PathResult("p", ("001.sql", "002.sql"), data_loss=(named, unnamed))], "embedded", "x",
                             "canon.sql", accept=False)
    assert "z.t: 1 → 0 rows (1 lost)  002.sql:4  [DROP TABLE z.t_old]" in text
    assert "z.u: 1 → 0 rows (1 lost)  002.sql  (no statement of it removed them" in text
    assert "[]" not in text


def test_a_sentinel_copy_is_recognised_by_its_text_or_its_day() -> None:
    cols = [("id", "UInt64", ""), ("name", "LowCardinality(String)", ""), ("day", "Nullable(Date)", ""),
            ("at", "DateTime64(3)", ""), ("m", "String", "MATERIALIZED")]
    assert marker_condition(cols, "chconform sentinel 4", "2027-01-05") == (
        "`name` = 'chconform sentinel 4' OR toDate(`day`) = toDate('2027-01-05') "
        "OR toDate(`at`) = toDate('2027-01-05')")
    assert marker_condition([("id", "UInt64", ""), ("tags", "Array(String)", "")], "x", "2027-01-05") is None


def test_a_table_swapped_for_another_that_was_never_a_copy_is_a_candidate_loss() -> None:
    """The name still counts a row, but it is the other table's: the walk then looks for the sentinel."""
    text = "EXCHANGE TABLES z.t AND z.t_v2;\nDROP TABLE z.t_v2;"
    base = Census({"z.t": (U1, 1), "z.t_v2": (U2, 1)})
    checkpoints = _walk(text, [{"z.t": (U2, 1), "z.t_v2": (U1, 1)}, {"z.t": (U2, 1)}, {"z.t": (U2, 1)}])
    assert step_losses(base, checkpoints, "s.sql") == []  # the counts alone see nothing
    assert replaced(base, checkpoints, "s.sql") == [DataLoss("z.t", 1, 0, "s.sql", 2, "DROP TABLE z.t_v2")]
    renamed = _walk("RENAME TABLE z.t TO z.t_old;", [{"z.t_old": (U1, 1)}, {"z.t_old": (U1, 1)}])
    assert replaced(Census({"z.t": (U1, 1)}), renamed, "s.sql") == []  # its own table lives on elsewhere


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ALTER TABLE a.t MODIFY COLUMN s Enum8('x' = 1, 'y' = 2) DEFAULT 'x' COMMENT 'state'",
         [("s", "Enum8('x' = 1, 'y' = 2)")]),
        ("ALTER TABLE a.t MODIFY COLUMN IF EXISTS n Nullable(UInt32), MODIFY COLUMN `d` Date AFTER n",
         [("n", "Nullable(UInt32)"), ("d", "Date")]),
        ("ALTER TABLE a.t MODIFY COLUMN s COMMENT 'only a comment'", []),
        ("ALTER TABLE a.t MODIFY COLUMN s REMOVE TTL", []),
        ("ALTER TABLE a.t ADD COLUMN s String", []),
        ("DROP TABLE a.t", []),
    ],
)
def test_retyped_columns(text: str, found: list[tuple[str, str]]) -> None:
    (stmt,) = split_statements(text)
    assert retyped_columns(stmt) == found


@pytest.mark.parametrize(
    ("old", "new", "value"),
    [
        ("String", "Enum8('x' = 1)", "toString(defaultValueOfTypeName('Enum8(\\'x\\' = 1)'))"),
        ("Nullable(String)", "Nullable(UInt32)", "toString(defaultValueOfTypeName('UInt32'))"),
        ("String", "Date", "toString(CAST(now() + toIntervalDay(1), 'Date'))"),  # not 1970: a TTL would delete it
        ("String", "FixedString(2)", "toString(defaultValueOfTypeName('FixedString(2)'))"),  # the text is too long
        ("String", "LowCardinality(String)", None),
        ("UInt32", "UInt64", None),
    ],
)
def test_a_sentinel_takes_a_value_of_the_type_its_string_column_becomes(old: str, new: str, value: str | None) -> None:
    assert retyped_value(old, new) == value
