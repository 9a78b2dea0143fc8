"""The static validator and the live engine reach the same verdict on the same tables.

Every golden drift case, every spelling pair of tests/unit/test_static.py, the
repository and drifted copies of it run through both; where the static layer cannot
decide, it must say so (an undecidable note) instead of guessing.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from chconform.engines.embedded import EmbeddedBackend
from chconform.engines.releases import NEWEST
from chconform.cli import run
from chconform.config import Config, load_config
from chconform.errors import EngineError
from chconform.reports.render import render_source
from chconform.checks.run import SourceResult, check_source, load_source, run_check
from chconform.schema.snapshot import take_snapshot
from chconform.checks.static import StaticSource, check_sources, read_sources, validate
from chconform.schema.static import canonical_type
from chconform.commands.validate import copy_sources

from ..unit import test_static as unit
from .golden import case_config, case_names, expected

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]
EQUIVALENT = REPO / "tests" / "data" / "equivalent"

# The golden cases the static layer cannot decide, and why (their expected.json says the same).
UNDECIDABLE = {
    "alter_in_migration": "an ALTER changes the table after its CREATE; the static layer does not apply ALTERs",
    "create_as_other": "CREATE TABLE ... AS <table> copies that table's columns, which only the engine resolves",
    "untyped_column": "a column without a type gets the type of its default expression, which only the engine infers",
}


@pytest.fixture(scope="module")
def backend():  # type: ignore[no-untyped-def]
    b = EmbeddedBackend(engine=NEWEST)  # the static layer models the newest release (a CI shard may pick another)
    yield b
    b.close()


def live_objects(result: SourceResult, config: Config) -> set[str]:
    """Objects the live check faults: differences, missing tables, and the statements that failed."""
    source = load_source(config.source(result.path))
    failed = {s.target for e in result.errors for s in source.statements if s.line == e.line and s.target}
    return {d.object for d in result.differences} | set(result.missing_tables) | failed


def static_objects(result: StaticSource) -> set[str]:
    return {d.object for d in result.differences} | set(result.missing_tables)


def agree(live: SourceResult, static: StaticSource, config: Config) -> None:
    """Same verdict on the same objects; what static leaves out, it must have called undecidable."""
    faulted, found = live_objects(live, config), static_objects(static)
    undecided = {n.object for n in static.notes}
    shown = "\n".join(["live:", *render_source(live), "static:",
                       *(f"{d.where()}  {d.object}.{d.column}  {d.aspect}" for d in static.differences),
                       *(n.text() for n in static.notes)])
    assert found <= faulted, f"{live.path}: static finds what the engine does not\n{shown}"
    assert faulted - found <= undecided, f"{live.path}: the engine finds what static misses silently\n{shown}"
    if not undecided:
        assert live.ok == static.ok, shown


# --- golden drift cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", case_names())
def test_golden_case_static_and_live_agree(name: str, backend: EmbeddedBackend, tmp_path: Path) -> None:
    config = case_config(name, tmp_path)
    _, canon = check_source(backend, config, config.canonical_source, None)
    live, _ = check_source(backend, config, config.source("drifted.sql"), canon)
    report = check_sources(config, read_sources(config))
    canonical, drifted = report.sources
    assert canonical.ok and not canonical.notes, f"{name}: the static layer faults the case's canonical file"
    agree(live, drifted, config)
    if expected(name)["static"] == "same":
        assert not drifted.notes and static_objects(drifted) == live_objects(live, config)
    else:
        assert drifted.notes, f"{name}: expected.json says undecidable, but the static layer decided it"


def test_which_golden_cases_are_undecidable_statically() -> None:
    """The list above is the truth about every case, and each expected.json says the same."""
    said = {n: expected(n)["static"] for n in case_names()}
    assert {n for n, s in said.items() if s != "same"} == set(UNDECIDABLE)
    for name, why in UNDECIDABLE.items():
        assert said[name] == f"undecidable: {why}"
    assert all(s == "same" or s.startswith("undecidable: ") for s in said.values())


@pytest.mark.parametrize("name", sorted(p.name for p in EQUIVALENT.iterdir()) if EQUIVALENT.is_dir() else [])
def test_equivalent_spellings_conform_statically(name: str, tmp_path: Path) -> None:
    (tmp_path / "chconform.toml").write_text(
        f'root = "{EQUIVALENT / name}"\ncanonical = "canonical.sql"\n'
        '[[source]]\npath = "canonical.sql"\n[[source]]\npath = "variant.sql"\n', encoding="utf-8")
    report = validate(load_config(tmp_path / "chconform.toml"))
    assert report.ok and not report.notes and not report.variants


# --- spelling pairs: the engine is the referee ----------------------------------------------------------

# Pairs ClickHouse builds the same that the static layer calls different (it is never laxer):
# literal spellings, case-insensitive function names and codec defaults are compared as written.
STRICTER = [
    ("b UInt32 DEFAULT 0", "b UInt32 DEFAULT 00"),
    ("b DateTime DEFAULT now()", "b DateTime DEFAULT NOW()"),
    ("b UInt32 CODEC(ZSTD(1))", "b UInt32 CODEC(ZSTD)"),
    ("b UInt32 DEFAULT 1 + 2 * 3", "b UInt32 DEFAULT 1 + (2 * 3)"),
]


def _build_pairs(backend: EmbeddedBackend, pairs: list[tuple[str, str]]) -> list[bool | None]:
    """For each pair: does the engine build the two the same (None: it refuses one)?"""
    from chconform.schema.compare import compare_tables

    instance = backend.instance()
    try:
        built: list[tuple[str, str] | None] = []
        for k, (a, b) in enumerate(pairs):
            names = []
            for side, sql in (("a", a), ("b", b)):
                db = f"p{k}{side}"
                instance.execute(f"CREATE DATABASE {db}")
                try:
                    instance.execute(sql.replace("x.t", f"{db}.t"))
                    names.append(db)
                except EngineError:
                    break
            built.append((names[0], names[1]) if len(names) == 2 else None)
        snap = take_snapshot(lambda q: instance.query(q))
    finally:
        instance.close()
    out: list[bool | None] = []
    for names in built:
        if names is None:
            out.append(None)
            continue
        ta, tb = snap.table(f"{names[0]}.t"), snap.table(f"{names[1]}.t")
        assert ta is not None and tb is not None
        out.append(not compare_tables(replace(ta, database="x"), replace(tb, database="x")))
    return out


def test_every_spelling_pair_gets_the_engines_verdict(backend: EmbeddedBackend) -> None:
    from chconform.schema.static import compare_definitions

    same = [(unit._table(a), unit._table(b)) for a, b in unit.SAME]
    same += [(unit._table("ORDER BY a", a), unit._table("ORDER BY a", b)) for a, b in unit.SAME_COLUMNS]
    different = [(unit._table(a), unit._table(b)) for a, b in unit.DIFFERENT]
    different += [(unit._table("ORDER BY a", a), unit._table("ORDER BY a", b)) for a, b in unit.DIFFERENT_COLUMNS]
    stricter = [(unit._table("ORDER BY a", a), unit._table("ORDER BY a", b)) for a, b in STRICTER]
    engine = _build_pairs(backend, same + different + stricter)
    static = [not compare_definitions(unit.definition(a), unit.definition(b)) for a, b in same + different + stricter]
    refused = [pair[1] for pair, verdict in zip(same + different + stricter, engine) if verdict is None]
    # PARTITION BY rand(): the engine refuses both, and so does the static layer (nondeterministic_partition_key)
    assert len(refused) == 1 and "rand" in refused[0], refused
    for pair, e, s in zip(same + different, engine, static):
        if e is not None:
            assert e == s, f"engine says {'same' if e else 'different'}, static the opposite: {pair}"
    for pair, e, s in zip(stricter, engine[len(same) + len(different):], static[len(same) + len(different):]):
        assert e is True and s is False, f"no longer a known strictness of the static layer: {pair}"


TYPES = ["String", "TEXT", "VARCHAR(255)", "FixedString(32)", "UInt8", "UInt256", "Int128", "INT", "INTEGER",
         "BIGINT UNSIGNED", "TINYINT", "Float32", "DOUBLE PRECISION", "REAL", "BFloat16", "Decimal", "Decimal(12,2)",
         "Decimal(20)", "Decimal32(2)", "Decimal64(2)", "Decimal256(2)", "NUMERIC(10,2)", "Bool", "BOOLEAN", "Date",
         "Date32", "DATE", "DATETIME", "DateTime('UTC')", "DateTime64", "DateTime64(6, 'UTC')", "TIMESTAMP", "UUID",
         "IPv6", "Nullable(Date)", "LowCardinality(String)", "LowCardinality(Nullable(String))", "Array(Date)",
         "Array(Nullable(UInt8))", "Map(LowCardinality(String), Array(Date))", "Tuple(UInt8, String)",
         "Tuple(a Date, b Nullable(String))", "Enum8('a' = 1, 'b' = 2)", "Enum('a', 'b')", "Enum('a' = 1, 'b' = 300)",
         "AggregateFunction(argMax, String, DateTime)", "SimpleAggregateFunction(max, Date)", "Variant(String, UInt8)",
         "Point", "Time", "Time64(3)", "BLOB", "BINARY(16)", "JSON", "Int(11)"]


def test_static_type_names_are_the_engines(backend: EmbeddedBackend) -> None:
    instance = backend.instance()
    try:
        for i, spelling in enumerate(TYPES):
            instance.execute(f"CREATE TABLE t{i} (c {spelling}) ENGINE = Memory")
        rows = instance.query("SELECT table, type FROM system.columns WHERE database = currentDatabase()")
    finally:
        instance.close()
    engine = {r["table"]: r["type"] for r in rows}
    mismatched = [(t, engine[f"t{i}"], canonical_type(t)) for i, t in enumerate(TYPES) if engine[f"t{i}"] != canonical_type(t)]
    assert mismatched == []


# --- the repository and drifted copies of it -------------------------------------------------------------

MUTATIONS = {
    "init_dim_city": ("init.sql", "    city LowCardinality(String),\n    start_date", "    city String,\n    start_date"),
    "sales_date_type": ("bootstrap_all.sql", "    sales_date Date,\n", "    sales_date DateTime,\n"),
    "inventory_raw_order": ("migrations/2025-qtickets-api.sql", "ORDER BY (event_id, city, snapshot_ts)", "ORDER BY _dedup_key"),
    "inventory_latest_nullable": ("init_qtickets_sheets.sql", "    tickets_total Nullable(UInt32),\n", "    tickets_total UInt32,\n"),
}


def _mutated_copy(tmp_path: Path, mutation: tuple[str, str, str] | None) -> Config:
    toml = copy_sources(load_config(REPO / "pyproject.toml"), tmp_path)
    if mutation is not None:
        file, old, new = mutation
        text = (tmp_path / file).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {file}"
        (tmp_path / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_config(toml)


@pytest.mark.parametrize("mutation", [None, *MUTATIONS], ids=["repository", *MUTATIONS])
def test_repository_and_drifted_copies_agree(mutation: str | None, backend: EmbeddedBackend, tmp_path: Path) -> None:
    config = _mutated_copy(tmp_path, MUTATIONS[mutation] if mutation else None)
    live = run_check(config, backend, jobs=2)
    static = validate(config)
    assert live.ok == (mutation is None) and static.ok == (mutation is None)
    for live_source, static_source in zip(live.sources, static.sources):
        assert live_source.path == static_source.path
        agree(live_source, static_source, config)
    if mutation:
        file = MUTATIONS[mutation][0]
        assert {s.path for s in static.sources if not s.ok} == {s.path for s in live.sources if not s.ok} == {file}


def test_after_sync_write_validate_and_check_pass(backend: EmbeddedBackend, tmp_path: Path) -> None:
    config = _mutated_copy(tmp_path, MUTATIONS["init_dim_city"])
    file = tmp_path / "migrations" / "2025-qtickets-api-final.sql"
    file.write_text(file.read_text(encoding="utf-8").replace("_dedup_key FixedString(32)", "_dedup_key String"),
                    encoding="utf-8")
    assert not run_check(config, backend, jobs=2).ok
    out, err = io.StringIO(), io.StringIO()
    assert run(["sync", "--write", "--config", str(config.config_file)], out, err) == 0, out.getvalue() + err.getvalue()
    assert validate(config).ok
    result = run_check(config, backend, jobs=2)
    assert result.ok, "\n".join(line for s in result.sources for line in render_source(s))
    assert run(["sync", "--check", "--config", str(config.config_file)], io.StringIO(), io.StringIO()) == 0


def test_another_repository_agrees(backend: EmbeddedBackend) -> None:
    """tests/data/other_repo: a drifted CREATE followed by a non-idempotent ALTER."""
    config = load_config(REPO / "tests" / "data" / "other_repo" / "chconform.toml")
    live, static = run_check(config, backend, jobs=2), validate(config)
    assert not live.ok and not static.ok
    for live_source, static_source in zip(live.sources, static.sources):
        agree(live_source, static_source, config)


NONDETERMINISTIC_CALLS = [
    "now()", "now64()", "nowInBlock()", "today()", "yesterday()", "UTC_timestamp()", "uptime()", "rowNumberInBlock()",
    "rowNumberInAllBlocks()", "blockNumber()", "hostName()", "FQDN()", "serverUUID()", "rand()", "rand32()", "rand64()",
    "randConstant()", "randomString(3)", "generateUUIDv4()", "generateUUIDv7()", "generateSnowflakeID()",
    "currentDatabase()", "version()", "timezone()", "NOW()",
]


def test_every_partition_key_static_calls_nondeterministic_is_refused_by_the_engine(backend: EmbeddedBackend) -> None:
    from chconform.sql.source import split_statements
    from chconform.schema.static import parse_definition

    instance = backend.instance()
    try:
        for k, call in enumerate(NONDETERMINISTIC_CALLS):
            sql = f"CREATE TABLE t{k} (d Date) ENGINE = MergeTree PARTITION BY ({call}, d) ORDER BY d"
            assert parse_definition(split_statements(sql)[0]).nondeterministic, call
            with pytest.raises(EngineError, match="must be deterministic"):
                instance.execute(sql)
        instance.execute("CREATE TABLE ok (d Date) ENGINE = MergeTree PARTITION BY (toYYYYMM(d), d) ORDER BY d")
    finally:
        instance.close()
