"""The static validator without an engine: each check fails on a broken input and passes on the repository."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chconform.cli import run
from chconform.config import Config, load_config
from chconform.sql.source import split_statements
from chconform.checks.static import validate
from chconform.schema.static import (
    Definition,
    canonical_type,
    column_types,
    compare_definitions,
    parse_definition,
    string_value,
)

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "data" / "cases"

DIM = """CREATE TABLE IF NOT EXISTS zakaz.dim_events
(
    event_id String,
    event_name String,
    city LowCardinality(String),
    start_date Nullable(Date),
    _ver UInt64,
    _loaded_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(_ver)
PARTITION BY tuple()
ORDER BY event_id
SETTINGS index_granularity = 8192"""
DB = "CREATE DATABASE IF NOT EXISTS zakaz;\n\n"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return run(list(argv), out, err), out.getvalue(), err.getvalue()


def make_config(tmp_path: Path, files: dict[str, str], roles: dict[str, str] | None = None,
                must: dict[str, list[str]] | None = None, key_tables: tuple[str, ...] = ("zakaz.dim_events",)) -> Config:
    """A chconform.toml in tmp_path whose first file is the canonical source."""
    lines = ['root = "."', f"canonical = {json.dumps(next(iter(files)))}", f"key_tables = {json.dumps(list(key_tables))}"]
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
        lines += ["[[source]]", f"path = {json.dumps(name)}", f"role = {json.dumps((roles or {}).get(name, 'dump'))}",
                  f"must_define = {json.dumps((must or {}).get(name, []))}"]
    (tmp_path / "chconform.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(tmp_path / "chconform.toml")


def findings(config: Config, path: str) -> set[tuple[str, str, str | None]]:
    source = next(s for s in validate(config).sources if s.path == path)
    return {(d.aspect, d.object, d.column) for d in source.differences}


def definition(sql: str) -> Definition:
    return parse_definition(split_statements(sql)[0])


# --- the repository ---------------------------------------------------------------------------


def test_the_repository_passes() -> None:
    code, out, err = cli("validate", "--config", str(REPO / "pyproject.toml"))
    assert (code, err) == (0, ""), out
    assert out.strip().splitlines()[-1] == "Schema validation passed."


def test_the_wrapper_script_passes_and_lists_the_configured_sources() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "validate_clickhouse_schema.py")],
                          check=False, capture_output=True, text=True, cwd="/", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "Schema validation passed."
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import validate_clickhouse_schema as script
    finally:
        sys.path.pop(0)
    config = load_config(REPO / "pyproject.toml")
    assert script.DDL_FILES == tuple(f"infra/clickhouse/{s.path}" for s in config.sources)
    assert "infra/clickhouse/migrations/2025-qtickets-api.sql" in script.DDL_FILES


def test_json_has_the_difference_fields_of_check(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "other.sql": DB + DIM.replace(
        "city LowCardinality(String)", "city String") + ";\n"})
    code, out, _ = cli("validate", "--config", str(config.config_file), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    other = data["sources"][1]
    assert other["differences"] == [{"object": "zakaz.dim_events", "aspect": "column_type", "column": "city",
                                     "canonical": "LowCardinality(String)", "actual": "String", "line": 7,
                                     "check": "static", "rule": "column_type", "severity": "error",
                                     "hint": "Use the canonical type (`chconform plan` prints the ALTER)."}]
    assert data["schema_version"] == 2
    assert other["tables"] == {"zakaz.dim_events": "differs"}
    assert [v["places"] for v in data["variants"]["zakaz.dim_events"]] == [["canon.sql:3"], ["other.sql:3"]]


# --- drift between files: CRITICAL with every variant and every file:line -------------------------


def test_critical_lists_each_variant_with_every_file_and_line(tmp_path: Path) -> None:
    stale = DIM.replace("city LowCardinality(String)", "city String")
    config = make_config(tmp_path, {
        "canon.sql": DB + DIM + ";\n",
        "same.sql": "-- a comment\n" + DB + DIM.lower().replace("replacingmergetree", "ReplacingMergeTree")
                    .replace("lowcardinality", "LowCardinality").replace("nullable(date)", "Nullable(Date)")
                    .replace("string", "String").replace("uint64", "UInt64").replace("datetime", "DateTime") + ";\n",
        "stale1.sql": DB + stale + ";\n",
        "stale2.sql": DB + "\n\n" + stale + ";\n",
    })
    code, out, _ = cli("validate", "--config", str(config.config_file))
    assert code == 1
    assert "CRITICAL: zakaz.dim_events has 2 distinct definitions:" in out
    assert "  variant A (canonical): canon.sql:3, same.sql:4\n" in out
    assert "  variant B: stale1.sql:3, stale2.sql:5\n" in out
    assert "stale2.sql:9  zakaz.dim_events.city  column_type: LowCardinality(String) → String" in out
    assert "FAIL  same.sql" not in out
    assert out.strip().splitlines()[-1] == "Schema validation FAILED: 2 findings in 2 of 4 sources: stale1.sql, stale2.sql"


@pytest.mark.parametrize(("change", "aspect", "column"), [
    (("city LowCardinality(String)", "city String"), "column_type", "city"),
    (("start_date Nullable(Date)", "start_date Date"), "column_type", "start_date"),
    (("    _loaded_at DateTime DEFAULT now()\n", "    _loaded_at DateTime DEFAULT now(),\n    event_date Date\n"),
     "column_extra", "event_date"),
    ((",\n    _loaded_at DateTime DEFAULT now()", ""), "column_missing", "_loaded_at"),
    (("_loaded_at DateTime DEFAULT now()", "_loaded_at DateTime DEFAULT today()"), "column_default", "_loaded_at"),
    (("_loaded_at DateTime DEFAULT now()", "_loaded_at DateTime MATERIALIZED now()"), "column_default", "_loaded_at"),
    (("event_name String,", "event_name String COMMENT 'name',"), "column_comment", "event_name"),
    (("event_name String,", "event_name String CODEC(ZSTD(3)),"), "column_codec", "event_name"),
    (("event_name String,", "event_name String TTL _loaded_at + INTERVAL 1 DAY,"), "column_ttl", "event_name"),
    (("    event_id String,\n    event_name String,", "    event_name String,\n    event_id String,"), "column_order", None),
    (("ReplacingMergeTree(_ver)", "MergeTree"), "engine", None),
    (("PARTITION BY tuple()", "PARTITION BY toYYYYMM(_loaded_at)"), "partition_key", None),
    (("ORDER BY event_id", "ORDER BY (event_id, city)"), "sorting_key", None),
    (("ORDER BY event_id", "PRIMARY KEY event_id ORDER BY (event_id, city)"), "sorting_key", None),
    (("ORDER BY event_id", "ORDER BY event_id SAMPLE BY event_id"), "sampling_key", None),
    (("ORDER BY event_id", "ORDER BY event_id TTL _loaded_at + INTERVAL 1 YEAR"), "ttl", None),
    (("index_granularity = 8192", "index_granularity = 4096"), "settings", None),
    (("SETTINGS index_granularity = 8192", "SETTINGS index_granularity = 8192 COMMENT 'x'"), "table_comment", None),
    (("    _loaded_at DateTime DEFAULT now()\n", "    _loaded_at DateTime DEFAULT now(),\n    INDEX ix city TYPE set(100) GRANULARITY 4\n"),
     "indices", None),
])
def test_each_aspect_of_a_definition_is_compared(tmp_path: Path, change: tuple[str, str], aspect: str,
                                                 column: str | None) -> None:
    old, new = change
    assert old in DIM
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "drifted.sql": DB + DIM.replace(old, new) + ";\n"})
    assert (aspect, "zakaz.dim_events", column) in findings(config, "drifted.sql")
    assert findings(config, "canon.sql") == set()


# --- spellings ClickHouse builds the same (each one checked against the engine in test_agreement) ---

SAME = [
    ("ORDER BY a", "order by (a)"),
    ("ORDER BY (a, b)", "ORDER BY tuple(a, b)"),
    ("ORDER BY (a, b)", "ORDER BY ((a), (b))"),
    ("ORDER BY a", "ORDER BY (a,)"),
    ("ORDER BY tuple()", "ORDER BY ()"),
    ("ENGINE = ReplacingMergeTree ORDER BY a", "ENGINE = ReplacingMergeTree() ORDER BY a"),
    ("ORDER BY a", "ORDER BY a SETTINGS index_granularity = 8192"),
    ("ORDER BY a", "ORDER BY a PRIMARY KEY a"),
    ("ORDER BY (a, b)", "PRIMARY KEY (a, b)"),
    ("PARTITION BY toYYYYMM(d) ORDER BY a", "ORDER BY a PARTITION BY (toYYYYMM(d))"),
    ("ORDER BY a TTL d + INTERVAL 1 DAY", "ORDER BY a TTL d + toIntervalDay(1) DELETE"),
    ("ORDER BY a", "ORDER   BY\n  a -- a comment\n"),
    ("ORDER BY a COMMENT 'it''s'", "ORDER BY a COMMENT 'it\\'s'"),
]
SAME_COLUMNS = [
    ("b UInt32", "`b` UInt32"), ("b Nullable(UInt32)", "b UInt32 NULL"), ("b Int32", "b INT"), ("b Int32", "b INT(11)"),
    ("b String", "b TEXT"), ("b String", "b VARCHAR(255)"), ("b Float64", "b DOUBLE"), ("b Bool", "b BOOLEAN"),
    ("b Decimal(10, 0)", "b Decimal"), ("b Decimal(18, 2)", "b Decimal64(2)"), ("b DateTime64(3)", "b DateTime64"),
    ("b Enum8('x' = 1, 'y' = 2)", "b Enum('x', 'y')"), ("b FixedString(16)", "b BINARY(16)"),
    ("b DateTime DEFAULT now()", "b DateTime default now( )"), ("b String", "b String NOT NULL"),
    ("b UInt32 DEFAULT 0 COMMENT 'x' CODEC(ZSTD(1))", "b UInt32 DEFAULT 0 CODEC(ZSTD(1)) COMMENT 'x'"),
]
DIFFERENT = [
    ("ORDER BY a", "ORDER BY a PARTITION BY tuple()"),
    ("ORDER BY a SETTINGS index_granularity = 8192, min_bytes_for_wide_part = 0",
     "ORDER BY a SETTINGS min_bytes_for_wide_part = 0, index_granularity = 8192"),
    ("ORDER BY a SETTINGS index_granularity = 8192", "ORDER BY a SETTINGS index_granularity = '8192'"),
    ("ORDER BY a TTL d + INTERVAL 1 DAY", "ORDER BY a TTL d + INTERVAL '1' DAY"),
    ("ORDER BY a TTL d + INTERVAL 1 DAY", "ORDER BY a TTL d + INTERVAL 24 HOUR"),
    ("ENGINE = ReplacingMergeTree ORDER BY a", "ENGINE = ReplacingMergeTree(b) ORDER BY a"),
    ("PARTITION BY rand() ORDER BY a", "PARTITION BY randCanonical() ORDER BY a"),
    ("PARTITION BY toStartOfDay(d) ORDER BY a", "PARTITION BY dateTrunc('DAY', d) ORDER BY a"),
]
DIFFERENT_COLUMNS = [
    ("b UInt8", "b Bool"), ("b Float64", "b FLOAT"), ("b DateTime('UTC')", "b DateTime"), ("b Decimal(12, 2)", "b Decimal64(2)"),
    ("b String DEFAULT ''", "b String"), ("b UInt8 MATERIALIZED 1", "b UInt8 DEFAULT 1"), ("b UInt32 DEFAULT 0", "b UInt32 DEFAULT (0)"),
    ("b UInt32 CODEC(LZ4)", "b UInt32"), ("b Array(String)", "b Array(LowCardinality(String))"),
]


def _table(clauses: str, column: str = "b UInt32") -> str:
    engine = "" if "ENGINE" in clauses else "ENGINE = MergeTree "
    return f"CREATE TABLE x.t (a String, d DateTime, {column}) {engine}{clauses}"


@pytest.mark.parametrize(("a", "b"), SAME, ids=[b for _, b in SAME])
def test_spellings_clickhouse_builds_the_same_are_the_same(a: str, b: str) -> None:
    assert compare_definitions(definition(_table(a)), definition(_table(b))) == []


@pytest.mark.parametrize(("a", "b"), SAME_COLUMNS, ids=[b for _, b in SAME_COLUMNS])
def test_column_spellings_clickhouse_builds_the_same_are_the_same(a: str, b: str) -> None:
    assert compare_definitions(definition(_table("ORDER BY a", a)), definition(_table("ORDER BY a", b))) == []


@pytest.mark.parametrize(("a", "b"), DIFFERENT, ids=[b for _, b in DIFFERENT])
def test_what_clickhouse_builds_differently_is_different(a: str, b: str) -> None:
    assert compare_definitions(definition(_table(a)), definition(_table(b)))


@pytest.mark.parametrize(("a", "b"), DIFFERENT_COLUMNS, ids=[b for _, b in DIFFERENT_COLUMNS])
def test_column_spellings_clickhouse_builds_differently_are_different(a: str, b: str) -> None:
    assert compare_definitions(definition(_table("ORDER BY a", a)), definition(_table("ORDER BY a", b)))


@pytest.mark.parametrize(("spelling", "expected"), [
    ("INT", "Int32"), ("BIGINT UNSIGNED", "UInt64"), ("TEXT", "String"), ("DOUBLE", "Float64"), ("FLOAT", "Float32"),
    ("Date", "Date"), ("TIMESTAMP", "DateTime"), ("Decimal", "Decimal(10, 0)"), ("Decimal32(4)", "Decimal(9, 4)"),
    ("Nullable(Date)", "Nullable(Date)"), ("LowCardinality(Nullable(String))", "LowCardinality(Nullable(String))"),
    ("Array(Nullable(UInt8))", "Array(Nullable(UInt8))"), ("Tuple(a Date, b String)", "Tuple(a Date, b String)"),
    ("Map(String, Array(Date))", "Map(String, Array(Date))"), ("Enum('a' = 1, 'b' = 300)", "Enum16('a' = 1, 'b' = 300)"),
    ("Variant(String, UInt8)", "Variant(String, UInt8)"), ("BFloat16", "BFloat16"),
])
def test_canonical_type_is_the_name_clickhouse_reports(spelling: str, expected: str) -> None:
    assert canonical_type(spelling) == expected


def test_string_literals_compare_by_value() -> None:
    assert string_value("'it''s'") == string_value("'it\\'s'") == "it's"
    assert string_value("'a\\nb'") == "a\nb"


# --- the original validator's checks: view columns and non-deterministic PARTITION BY -------------

BASE = DB + DIM + ";\n\n"


@pytest.mark.parametrize("view", [
    "SELECT e.event_date FROM zakaz.dim_events AS e",
    "SELECT event_date FROM zakaz.dim_events",
    "SELECT dim_events.event_date FROM zakaz.dim_events",
    "SELECT x.event_date FROM (SELECT event_id, event_date FROM zakaz.dim_events) AS x",
    "WITH src AS (SELECT event_id FROM zakaz.dim_events) SELECT src.event_date FROM src",
    "WITH src AS (SELECT event_id FROM zakaz.dim_events) SELECT event_date FROM src",
    "SELECT e.event_id, s.event_date FROM zakaz.dim_events AS e LEFT JOIN zakaz.dim_events AS s ON s.event_id = e.event_id",
    "SELECT e.event_id FROM zakaz.dim_events AS e WHERE e.event_date > today()",
    "SELECT event_id FROM zakaz.dim_events UNION ALL SELECT event_date FROM zakaz.dim_events",
    "SELECT event_id FROM zakaz.dim_events WHERE event_id IN (SELECT event_date FROM zakaz.dim_events)",
])
def test_a_view_reading_a_column_its_source_lacks_is_found(tmp_path: Path, view: str) -> None:
    config = make_config(tmp_path, {"canon.sql": BASE + f"CREATE VIEW IF NOT EXISTS zakaz.v AS {view};\n"})
    assert ("unknown_column", "zakaz.v", "event_date") in findings(config, "canon.sql")


@pytest.mark.parametrize("view", [
    "SELECT e.start_date AS event_date, e.city FROM zakaz.dim_events AS e FINAL",
    "SELECT event_id, city, start_date FROM zakaz.dim_events",
    "SELECT x.event_id FROM (SELECT event_id, city AS c FROM zakaz.dim_events) AS x WHERE x.c != ''",
    "WITH src AS (SELECT event_id, city FROM zakaz.dim_events) SELECT src.city FROM src",
    "SELECT event_id, _ver AS v, v + 1 AS w FROM zakaz.dim_events WHERE w > 0",
    "SELECT arrayMap(x -> x + 1, [1, 2]) AS a, event_id FROM zakaz.dim_events",
    ("SELECT e.event_id, s.city FROM zakaz.dim_events AS e LEFT JOIN (SELECT event_id, city FROM zakaz.dim_events) AS s "
     "ON s.event_id = e.event_id"),
    "SELECT event_id FROM zakaz.dim_events UNION ALL SELECT city FROM zakaz.dim_events",
    "SELECT count() AS n FROM zakaz.dim_events",
])
def test_a_view_reading_existing_columns_passes(tmp_path: Path, view: str) -> None:
    config = make_config(tmp_path, {"canon.sql": BASE + f"CREATE VIEW IF NOT EXISTS zakaz.v AS {view};\n"})
    report = validate(config)
    assert report.ok, [d for s in report.sources for d in s.differences]


def test_a_view_before_its_table_is_an_unknown_table_in_round_one(tmp_path: Path) -> None:
    text = DB + "CREATE VIEW IF NOT EXISTS zakaz.v AS SELECT event_id FROM zakaz.dim_events;\n\n" + DIM + ";\n"
    config = make_config(tmp_path, {"canon.sql": text})
    assert findings(config, "canon.sql") == {("unknown_table", "zakaz.v", None), ("round2_extra_table", "zakaz.v", None)}


@pytest.mark.parametrize("partition", ["now()", "toYYYYMM(now())", "today()", "rand() % 10", "rand64()",
                                       "randCanonical()", "generateUUIDv4()", "toDate(NOW())"])
def test_a_nondeterministic_partition_key_is_found(tmp_path: Path, partition: str) -> None:
    config = make_config(tmp_path, {"canon.sql": BASE.replace("PARTITION BY tuple()", f"PARTITION BY {partition}")})
    assert ("nondeterministic_partition_key", "zakaz.dim_events", None) in findings(config, "canon.sql")


def test_a_deterministic_partition_key_passes(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": BASE.replace("PARTITION BY tuple()", "PARTITION BY toYYYYMM(_loaded_at)")})
    assert findings(config, "canon.sql") == set()


# --- one file: duplicates, idempotency, roles, must_define ----------------------------------------


def test_a_table_defined_twice_in_one_file_differently_is_found(tmp_path: Path) -> None:
    text = BASE + DIM.replace("city LowCardinality(String)", "city String") + ";\n"
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "drifted.sql": text})
    assert findings(config, "drifted.sql") == {("duplicate_column_type", "zakaz.dim_events", "city")}


def test_the_same_table_twice_identically_is_not_a_finding(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": BASE + DIM + ";\n"})
    assert findings(config, "canon.sql") == set()


def test_a_create_without_if_not_exists_fails_the_second_round(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": DB + DIM.replace(" IF NOT EXISTS", "") + ";\n"})
    assert findings(config, "canon.sql") == {("not_idempotent", "zakaz.dim_events", None)}


def test_drop_then_create_is_idempotent(tmp_path: Path) -> None:
    text = DB + "DROP TABLE IF EXISTS zakaz.dim_events;\n" + DIM.replace(" IF NOT EXISTS", "") + ";\n"
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "m.sql": text}, roles={"m.sql": "migration"})
    assert findings(config, "m.sql") == set()


def test_drop_in_a_dump_is_found(tmp_path: Path) -> None:
    text = DB + "DROP TABLE IF EXISTS zakaz.dim_events;\n" + DIM + ";\n"
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "dump.sql": text})
    assert findings(config, "dump.sql") == {("drop_in_dump", "zakaz.dim_events", None)}


def test_a_drop_not_followed_by_its_create_is_found_in_a_migration(tmp_path: Path) -> None:
    text = DB + DIM + ";\nDROP TABLE IF EXISTS zakaz.old;\n"
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "m.sql": text}, roles={"m.sql": "migration"})
    assert findings(config, "m.sql") == {("drop_not_recreated", "zakaz.old", None)}


def test_must_define_names_a_missing_key_table(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "other.sql": DB},
                         must={"other.sql": ["zakaz.dim_events"]})
    code, out, _ = cli("validate", "--config", str(config.config_file))
    assert code == 1 and "other.sql  zakaz.dim_events  missing_table" in out


def test_a_table_in_an_unknown_database_is_found(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": DIM + ";\n"})
    assert findings(config, "canon.sql") == {("unknown_database", "zakaz.dim_events", None)}


def test_a_view_column_type_follows_its_table(tmp_path: Path) -> None:
    view = "CREATE VIEW IF NOT EXISTS zakaz.v AS SELECT e.city AS city, count() AS n FROM zakaz.dim_events AS e GROUP BY e.city;\n"
    drifted = DB + DIM.replace("city LowCardinality(String)", "city String") + ";\n" + view
    config = make_config(tmp_path, {"canon.sql": BASE + view, "drifted.sql": drifted})
    assert findings(config, "drifted.sql") == {("column_type", "zakaz.dim_events", "city"),
                                               ("view_columns", "zakaz.v", "city")}


# --- the inventory -------------------------------------------------------------------------------


def test_an_unconfigured_sql_file_that_creates_a_table_is_critical(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n"})
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "stray.sql").write_text("create table zakaz.x (a String) engine = Memory;\n", encoding="utf-8")
    (tmp_path / "notes.sql").write_text("-- CREATE TABLE in a comment only\nSELECT 'CREATE TABLE';\n", encoding="utf-8")
    code, out, _ = cli("validate", "--config", str(config.config_file))
    assert code == 1
    assert "CRITICAL: extra/stray.sql creates a table but is not a configured source" in out
    assert "notes.sql" not in out


# --- undecidable, never guessed --------------------------------------------------------------------


@pytest.mark.parametrize(("statement", "why"), [
    ("CREATE TABLE IF NOT EXISTS zakaz.dim_events AS zakaz.template", "zakaz.template"),
    ("CREATE TABLE IF NOT EXISTS zakaz.dim_events ENGINE = Memory AS SELECT 1 AS event_id", "a query"),
    ("CREATE TABLE IF NOT EXISTS zakaz.dim_events (event_id String, n DEFAULT 0) ENGINE = Memory", "no type"),
])
def test_what_only_the_engine_resolves_is_undecidable(tmp_path: Path, statement: str, why: str) -> None:
    template = DIM.replace("zakaz.dim_events", "zakaz.template") + ";\n"
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "other.sql": DB + template + statement + ";\n"})
    report = validate(config)
    other = report.sources[1]
    assert other.ok and [n.object for n in other.notes] == ["zakaz.dim_events"]
    assert why in other.notes[0].why
    code, out, _ = cli("validate", "--config", str(config.config_file))
    assert code == 0 and "Schema validation passed." not in out
    assert "undecidable statically" in out and out.strip().endswith("(see the notes; `chconform check` decides them).")


def test_an_alter_makes_the_table_undecidable(tmp_path: Path) -> None:
    text = DB + DIM + ";\nALTER TABLE zakaz.dim_events MODIFY COLUMN city String;\n"
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "m.sql": text}, roles={"m.sql": "migration"})
    other = validate(config).sources[1]
    assert other.ok and other.notes and "ALTER TABLE" in other.notes[0].why


def test_a_view_over_a_system_table_is_undecidable_not_an_error(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": BASE + "CREATE OR REPLACE VIEW zakaz.v AS SELECT name FROM system.tables;\n"})
    source = validate(config).sources[0]
    assert source.ok and "system table" in source.notes[0].why


# --- unreadable input: one line, exit 2 ------------------------------------------------------------


@pytest.mark.parametrize(("data", "what"), [
    (b"CREATE TABLE t (a String) ENGINE = Memory COMMENT 'unterminated;\n", "unterminated string"),
    (b"\x00\x01binary", "binary file"),
])
def test_unreadable_input_is_one_line_and_exit_2(tmp_path: Path, data: bytes, what: str) -> None:
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "bad.sql": ""})
    (tmp_path / "bad.sql").write_bytes(data)
    code, out, err = cli("validate", "--config", str(config.config_file))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "bad.sql" in err and what in err


def test_a_missing_config_is_one_line(tmp_path: Path) -> None:
    code, _, err = cli("validate", "--config", str(tmp_path / "none.toml"))
    assert code == 2 and err.count("\n") == 1


# --- the mutation proof ------------------------------------------------------------------------------


def test_one_changed_column_type_fails_naming_file_and_table_and_the_original_passes(tmp_path: Path) -> None:
    from chconform.commands.validate import copy_sources

    config = load_config(REPO / "pyproject.toml")
    toml = copy_sources(config, tmp_path / "copy")
    file = tmp_path / "copy" / "init_qtickets_sheets.sql"
    stmt = next(s for s in split_statements(file.read_text(encoding="utf-8"))
                if s.kind == "create_table" and s.target == "zakaz.fact_qtickets_inventory_latest")
    _, start, end = next(c for c in column_types(stmt) if c[0] == "tickets_left")
    text = file.read_text(encoding="utf-8")
    file.write_text(text[: stmt.start + start] + "UInt32" + text[stmt.start + end :], encoding="utf-8")
    code, out, _ = cli("validate", "--config", str(toml))
    assert code == 1
    # the column's own line: the CREATE's line plus the seven lines above `tickets_left`
    assert f"init_qtickets_sheets.sql:{stmt.line + 7}  zakaz.fact_qtickets_inventory_latest.tickets_left  column_type: " \
           "Nullable(UInt32) → UInt32" in out
    assert {ln.split()[1] for ln in out.splitlines() if ln.startswith("FAIL")} == {"init_qtickets_sheets.sql"}
    file.write_text(text, encoding="utf-8")
    code, out, _ = cli("validate", "--config", str(toml))
    assert (code, out) == (0, "Schema validation passed.\n")


def test_prove_mode_reports_both_expectations() -> None:
    code, out, err = cli("validate", "--config", str(REPO / "pyproject.toml"), "--prove")
    assert (code, err) == (0, ""), out
    assert "validate on the mutated copy: exit 1; names " in out and ": OK" in out
    assert "validate on the unmodified copy: exit 0; Schema validation passed.: OK" in out


def test_prove_mode_fails_when_the_sources_do_not_pass(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "other.sql": DB + DIM.replace(
        "city LowCardinality(String)", "city String") + ";\n"})
    code, out, _ = cli("validate", "--config", str(config.config_file), "--prove")
    assert code == 1 and "validate on the unmodified copy: exit 1" in out and "FAILED" in out


def test_prove_mode_says_so_when_only_the_canon_holds_key_tables(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "other.sql": DB})
    code, out, _ = cli("validate", "--config", str(config.config_file), "--prove")
    assert code == 2 and "nothing to mutate" in out


NO_COLUMNS = "it has no column list"
FROM_QUERY = "its columns come from a query, which only the engine resolves"
NO_VIEW_QUERY = "sqlglot cannot parse the view's query (No expression was parsed from '')"
TOO_DEEP = "sqlglot cannot parse the view's query (nested too deeply)"


@pytest.mark.parametrize(("statement", "name", "note"), [
    ("CREATE TABLE zakaz.t (", "zakaz.t", NO_COLUMNS),
    ("CREATE TABLE zakaz.t AS", "zakaz.t", FROM_QUERY),
    ("CREATE TABLE zakaz.t (a String DEFAULT) ENGINE = Memory", "zakaz.t", None),
    ("CREATE TABLE zakaz.t (a Enum8('a' = 1, 'b')) ENGINE = Memory", "zakaz.t", None),
    ("CREATE TABLE zakaz.t (a String) ENGINE = MergeTree ORDER BY ))", "zakaz.t", None),
    ("CREATE MATERIALIZED VIEW zakaz.mv TO", "zakaz.mv", NO_VIEW_QUERY),
    ("CREATE TABLE zakaz.t (a String) ENGINE = MergeTree SETTINGS = 1", "zakaz.t", None),
    ("CREATE VIEW zakaz.v AS SELECT " + "(" * 3000 + "1" + ")" * 3000, "zakaz.v", TOO_DEEP),
], ids=lambda v: v[:40] if isinstance(v, str) else "")
def test_half_written_or_hostile_statements_give_a_verdict_not_a_traceback(tmp_path: Path, statement: str, name: str,
                                                                           note: str | None) -> None:
    """Each is written without IF NOT EXISTS: the verdict names that at its line, and what it cannot decide."""
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "odd.sql": DB + statement + ";\n"})
    code, out, err = cli("validate", "--config", str(config.config_file))
    assert (code, err) == (1, ""), out + err
    assert out.splitlines() == [
        "FAIL  odd.sql",
        f"      odd.sql:3  {name}  not_idempotent: CREATE ... IF NOT EXISTS (or a DROP first) → round 2: {name} "
        "already exists (TABLE_ALREADY_EXISTS)",
        *([f"note: odd.sql:3  {name}  undecidable statically: {note}"] if note else []),
        "Schema validation FAILED: 1 finding in 1 of 2 sources: odd.sql",
    ], out
    code, out, err = cli("sync", "--check", "--config", str(config.config_file))
    assert (code, out.splitlines()[-1], err) == (0, "sync: 0 files would change", ""), out + err


def test_a_view_too_deep_for_the_parser_is_undecidable(tmp_path: Path) -> None:
    view = "CREATE OR REPLACE VIEW zakaz.v AS SELECT " + "(" * 3000 + "1" + ")" * 3000 + " AS x"
    config = make_config(tmp_path, {"canon.sql": BASE + view + ";\n"})
    source = validate(config).sources[0]
    assert source.ok and "nested too deeply" in source.notes[0].why


def test_a_table_the_canon_lacks_is_still_one_definition_everywhere(tmp_path: Path) -> None:
    extra = "CREATE TABLE IF NOT EXISTS zakaz.extra (a String) ENGINE = Memory"
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "a.sql": DB + extra + ";\n",
                                    "b.sql": DB + extra.replace("a String", "a UInt8") + ";\n"})
    code, out, _ = cli("validate", "--config", str(config.config_file))
    assert code == 1 and "CRITICAL: zakaz.extra has 2 distinct definitions:" in out
    assert "b.sql:3  zakaz.extra.a  column_type: String → UInt8" in out and "FAIL  a.sql" not in out


def test_a_differing_create_followed_by_an_alter_is_still_a_difference(tmp_path: Path) -> None:
    text = DB + DIM.replace("city LowCardinality(String)", "city String") + ";\n" \
        "ALTER TABLE zakaz.dim_events ADD COLUMN extra String;\n"
    config = make_config(tmp_path, {"canon.sql": DB + DIM + ";\n", "m.sql": text}, roles={"m.sql": "migration"})
    other = validate(config).sources[1]
    assert {(d.aspect, d.column) for d in other.differences} == {("column_type", "city")}
    assert "ALTER TABLE" in other.notes[0].why
