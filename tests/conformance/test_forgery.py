"""A source cannot forge its own verdict: chconform's own queries run where no `SET` of the source reaches.

Issue 11: `SET additional_table_filters = {'system.columns': 'name != ''evil'''}` at the end of a drifted
source hid the drifted column, `SET offset = 1000000` hid a table, and the source was judged identical.
The embedded worker now runs chconform's own queries (snapshot, row counts, describes) and the gate's
parses in a second session on the same engine (`Hardening.verdict_session`), which starts from the
profile's settings whatever the source set. chdb 3.x (ClickHouse 24.8, production's) has one session per
process, so there the second connection shares the source's settings; the worker puts every setting back
to the session's start before chconform's queries (and the source's back before its next statement).
Every test here runs on each release of the `release` fixture (conftest.py: the newest and 24.8).

Each case is one session setting that can change what a SELECT returns (enumerated from
`system.settings`: filters, limit/offset, every *_overflow_mode with its limit, output formats, joins,
consistency, time zone, compatibility, parser limits). The setting is the last statement of a drifted
source; with every other layer off (gate, privileges, constraints, Landlock) the drift is still reported
exactly as without it, the rows counted and the columns described are the same. With the verdict session
off the forgeries in FORGES do change what chconform sees: the attack is real and the session stops it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chconform.engines.embedded import EmbeddedBackend, EmbeddedInstance, Hardening
from chconform.model import Snapshot
from chconform.schema.compare import compare
from chconform.schema.snapshot import take_snapshot
from tests.reliability import record

pytestmark = pytest.mark.engine

CANONICAL = [
    "CREATE DATABASE IF NOT EXISTS zakaz",
    "CREATE TABLE IF NOT EXISTS zakaz.a (x UInt8, s String) ENGINE = MergeTree ORDER BY x",
    "CREATE TABLE IF NOT EXISTS zakaz.b (x UInt8) ENGINE = Memory",
    "CREATE TABLE IF NOT EXISTS zakaz.c (x UInt8) ENGINE = Memory",
]
# the drift the verdict must report: a column added to a, a type changed in b, table c missing
DRIFTED = [
    "CREATE DATABASE IF NOT EXISTS zakaz",
    "CREATE TABLE IF NOT EXISTS zakaz.a (x UInt8, s String) ENGINE = MergeTree ORDER BY x",
    "ALTER TABLE zakaz.a ADD COLUMN IF NOT EXISTS evil String",
    "CREATE TABLE IF NOT EXISTS zakaz.b (x UInt16) ENGINE = Memory",
    "INSERT INTO zakaz.a (x, s) SELECT number, toString(number) FROM numbers(1000)",
]
OWN_QUERIES = ["SELECT count() AS n FROM zakaz.a", "DESCRIBE TABLE zakaz.a"]

# setting name -> the source's statements that set it (a limit comes with the overflow mode that makes it cut)
SETTINGS: dict[str, list[str]] = {
    "additional_table_filters": ["SET additional_table_filters = {'system.columns': 'name != ''evil''', "
                                 "'system.tables': 'name != ''b''', 'zakaz.a': 'x < 10'}"],
    "additional_result_filter": ["SET additional_result_filter = 'name != ''evil'' AND name != ''b'''"],
    "limit": ["SET limit = 1"],
    "offset": ["SET offset = 1000000"],
    "max_result_rows": ["SET max_result_rows = 1", "SET result_overflow_mode = 'break'"],
    "max_result_bytes": ["SET max_result_bytes = 1", "SET result_overflow_mode = 'break'"],
    "max_rows_to_read": ["SET max_rows_to_read = 1", "SET read_overflow_mode = 'break'"],
    "max_bytes_to_read": ["SET max_bytes_to_read = 1", "SET read_overflow_mode = 'break'"],
    "max_rows_to_sort": ["SET max_rows_to_sort = 1", "SET sort_overflow_mode = 'break'"],
    "max_bytes_to_sort": ["SET max_bytes_to_sort = 1", "SET sort_overflow_mode = 'break'"],
    "max_rows_to_group_by": ["SET max_rows_to_group_by = 1", "SET group_by_overflow_mode = 'any'"],
    "max_rows_in_distinct": ["SET max_rows_in_distinct = 1", "SET distinct_overflow_mode = 'break'"],
    "max_rows_in_join": ["SET max_rows_in_join = 1", "SET join_overflow_mode = 'break'"],
    "max_rows_in_set": ["SET max_rows_in_set = 1", "SET set_overflow_mode = 'break'"],
    "max_query_size": ["SET max_query_size = 16"],
    "max_ast_elements": ["SET max_ast_elements = 2"],
    "readonly": ["SET readonly = 2", "SET max_threads = 1"],
    "join_use_nulls": ["SET join_use_nulls = 1"],
    "join_default_strictness": ["SET join_default_strictness = 'ANY'"],
    "select_sequential_consistency": ["SET select_sequential_consistency = 1"],
    "aggregate_functions_null_for_empty": ["SET aggregate_functions_null_for_empty = 1"],
    "empty_result_for_aggregation_by_empty_set": ["SET empty_result_for_aggregation_by_empty_set = 1"],
    "transform_null_in": ["SET transform_null_in = 1"],
    "final": ["SET final = 1"],
    "extremes": ["SET extremes = 1"],
    "output_format_json_quote_64bit_integers": ["SET output_format_json_quote_64bit_integers = 1"],
    "output_format_json_named_tuples_as_objects": ["SET output_format_json_named_tuples_as_objects = 0"],
    "output_format_json_escape_forward_slashes": ["SET output_format_json_escape_forward_slashes = 0"],
    "output_format_decimal_trailing_zeros": ["SET output_format_decimal_trailing_zeros = 1"],
    "date_time_output_format": ["SET date_time_output_format = 'unix_timestamp'"],
    "print_pretty_type_names": ["SET print_pretty_type_names = 0"],
    "describe_include_subcolumns": ["SET describe_include_subcolumns = 1"],
    "session_timezone": ["SET session_timezone = 'Asia/Kathmandu'"],
    "compatibility": ["SET compatibility = '20.3'"],
    "use_query_cache": ["SET use_query_cache = 1", "SET query_cache_min_query_runs = 0"],
}
# Those that, with the verdict session off, do change what chconform sees (the forgery works there).
# (A limit whose overflow mode is 'break' still returns the first block: a catalog this small fits in it.)
FORGES = {"additional_table_filters", "additional_result_filter", "limit", "offset", "max_query_size",
          "max_ast_elements"}

EVERY_OTHER_LAYER_OFF = dict(gate=False, privileges=False, constraints=False, landlock=False, drop_results=False)


# Where the session is shared, a source that makes every query too long to parse (`SET max_query_size = 16`)
# leaves none to undo it with: chconform's queries fail, the source is reported with that error, never OK.
NO_VERDICT_WHERE_SHARED = {"max_query_size"}

# What the verdict connection is on each release (measured: a SET in the source's connection read in the other).
SESSIONS = {"24.8": "shared", "25.8": "shared", "26.9": "own"}


@pytest.fixture(scope="module")
def backends(release: str) -> Iterator[dict[str, EmbeddedBackend]]:
    made = {"on": EmbeddedBackend(hardening=Hardening(**EVERY_OTHER_LAYER_OFF), spares=0, engine=release),
            "off": EmbeddedBackend(hardening=Hardening(**EVERY_OTHER_LAYER_OFF, verdict_session=False), spares=0,
                                   engine=release)}
    yield made
    for backend in made.values():
        backend.close()


def _seen(instance: EmbeddedInstance) -> tuple[Snapshot | str, list[object]]:
    """What chconform sees: the snapshot (or the error taking it) and its own count and describe."""
    try:
        snapshot: Snapshot | str = take_snapshot(lambda sql: instance.query(sql, timeout=60))
    except Exception as exc:  # noqa: BLE001 - an error is an outcome here, compared below
        snapshot = f"error: {exc}"
    own: list[object] = []
    for sql in OWN_QUERIES:
        try:
            own.append(instance.query(sql, timeout=60))
        except Exception as exc:  # noqa: BLE001
            own.append(f"error: {exc}")
    return snapshot, own


def _apply(backend: EmbeddedBackend, statements: list[str]) -> tuple[Snapshot | str, list[object]]:
    instance = backend.instance()
    try:
        errors = instance.execute_many(statements, timeout=60)
        assert errors == [None] * len(statements), errors  # every attack statement ran: the setting is set
        return _seen(instance)
    finally:
        instance.close()


@pytest.fixture(scope="module")
def reference(backends: dict[str, EmbeddedBackend]) -> dict[str, object]:
    canon, _ = _apply(backends["on"], CANONICAL)
    drifted, own = _apply(backends["on"], DRIFTED)
    assert isinstance(canon, Snapshot) and isinstance(drifted, Snapshot)
    diffs = compare(canon, drifted, missing=True)
    # the drift is there to be hidden: a column of a, a type of b, table c
    assert {d.object for d in diffs} >= {"zakaz.a", "zakaz.b", "zakaz.c"}, diffs
    assert own[0] == [{"n": 1000}], own
    return {"canon": canon, "diffs": diffs, "own": own}


def test_the_verdict_connection_is_what_the_release_gives(backends: dict[str, EmbeddedBackend], release: str) -> None:
    """On a release whose second connection shares the session, the worker knows it and puts the start back."""
    instance = backends["on"].instance()
    try:
        assert instance.worker.verdict == SESSIONS[release]
    finally:
        instance.close()
    instance = backends["off"].instance()
    try:
        assert instance.worker.verdict == "same"
    finally:
        instance.close()


def test_a_source_keeps_its_settings_across_chconform_queries(backends: dict[str, EmbeddedBackend]) -> None:
    """The source's SETs and USE hold for its next statements, as in a session of its own, after chconform's."""
    instance = backends["on"].instance()
    try:
        setup = ["CREATE DATABASE IF NOT EXISTS zakaz", "SET max_threads = 1", "SET join_use_nulls = 1",
                 "SET additional_table_filters = {'zakaz.n': 'x < 10'}", "USE zakaz",
                 "CREATE TABLE n (x UInt8) ENGINE = Memory", "INSERT INTO n SELECT number FROM numbers(100)"]
        assert instance.execute_many(setup, timeout=60) == [None] * len(setup)
        assert instance.query("SELECT count() AS c FROM zakaz.n", timeout=60) == [{"c": 100}]
        kept = ["CREATE TABLE seen ENGINE = Memory AS SELECT name, value FROM system.settings "
                "WHERE name IN ('max_threads', 'join_use_nulls')",
                "CREATE TABLE counted ENGINE = Memory AS SELECT count() AS c FROM n"]
        assert instance.execute_many(kept, timeout=60) == [None, None]
        seen = instance.query("SELECT name, value FROM zakaz.seen ORDER BY name", timeout=60)
        assert seen == [{"name": "join_use_nulls", "value": "1"}, {"name": "max_threads", "value": "1"}], seen
        assert instance.query("SELECT c FROM zakaz.counted", timeout=60) == [{"c": 10}]  # its filter held
    finally:
        instance.close()


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_a_source_setting_cannot_change_the_verdict(setting: str, backends: dict[str, EmbeddedBackend],
                                                    reference: dict[str, object], release: str) -> None:
    attack = DRIFTED + SETTINGS[setting]
    snapshot, own = _apply(backends["on"], attack)
    if SESSIONS[release] == "shared" and setting in NO_VERDICT_WHERE_SHARED:
        assert isinstance(snapshot, str) and "cannot be undone" in snapshot, snapshot
        assert all(isinstance(o, str) and o.startswith("error:") for o in own), own
        return
    assert isinstance(snapshot, Snapshot), snapshot
    assert compare(reference["canon"], snapshot, missing=True) == reference["diffs"]  # type: ignore[arg-type]
    assert own == reference["own"]
    record("forgery", setting, _what(setting),
           "verdict unchanged: the drift is reported; rows counted and columns described as without it")


@pytest.mark.parametrize("setting", sorted(FORGES))
def test_without_the_verdict_session_the_forgery_works(setting: str, backends: dict[str, EmbeddedBackend],
                                                       reference: dict[str, object]) -> None:
    snapshot, own = _apply(backends["off"], DRIFTED + SETTINGS[setting])
    changed = (not isinstance(snapshot, Snapshot)
               or compare(reference["canon"], snapshot, missing=True) != reference["diffs"]  # type: ignore[arg-type]
               or own != reference["own"])
    assert changed, f"{setting}: the source's setting did not reach chconform's own queries"


def test_the_issue_forgeries_are_reported_as_drift(tmp_path: object, release: str) -> None:
    """The issue's two lines, through `run_check` with the gate off: the drifted source still FAILs."""
    from pathlib import Path

    from chconform.checks.run import run_check
    from chconform.config import load_config

    root = Path(str(tmp_path))
    (root / "canonical.sql").write_text(";\n".join(CANONICAL) + ";\n", encoding="utf-8")
    forged = DRIFTED + ["SET additional_table_filters = {'system.columns': 'name != ''evil'''}",
                        "SET offset = 1000000"]
    (root / "forged.sql").write_text(";\n".join(forged) + ";\n", encoding="utf-8")
    (root / "chconform.toml").write_text('root = "."\ncanonical = "canonical.sql"\n[[source]]\npath = "canonical.sql"\n'
                                         '[[source]]\npath = "forged.sql"\n', encoding="utf-8")
    config = load_config(root / "chconform.toml")
    for hardening, forged_ok in ((Hardening(gate=False), False), (Hardening(gate=False, verdict_session=False), True)):
        backend = EmbeddedBackend(hardening=hardening, spares=0, engine=release)
        try:
            result = run_check(config, backend, jobs=2)
        finally:
            backend.close()
        by_path = {s.path: s for s in result.sources}
        assert by_path["canonical.sql"].ok
        evil = [d for d in by_path["forged.sql"].differences if "evil" in f"{d.column} {d.actual} {d.canonical}"]
        assert (evil == []) is forged_ok, (hardening, by_path["forged.sql"])


def reliability_rows() -> dict[tuple[str, str], str]:
    """The rows of docs/RELIABILITY.md these tests observe (tests/reliability.py)."""
    return {("forgery", name): _what(name) for name in SETTINGS}


def _what(setting: str) -> str:
    return "; ".join(SETTINGS[setting]) + " at the end of a drifted source, every other layer off"
