"""A reused or pre-started worker snapshots exactly as a fresh one does; one request equals one by one.

The embedded backend keeps workers pre-started and hosts up to
`sessions_per_worker` sessions in one worker, one after another (a new worker
costs a chDB import). These tests pin that nothing a source leaves behind
reaches the next session, and that a worker that timed out is never reused.
A source's statements go to the engine in one request (`execute_many`): the
errors, skips and the point where a timeout stops the round are the same as
statement by statement. Under pytest-xdist a source is applied once per run
(RunStore) and read by the other workers.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chconform.engines.embedded import EmbeddedBackend, EmbeddedInstance, Worker
from chconform.engines.releases import NEWEST  # reuse is the newest release's (24.8 hosts one session per worker)
from chconform.config import Config, load_config
from chconform.errors import EngineError, EngineTimeout
from chconform.pytest_plugin import ConformanceSession, RunStore
from chconform.checks.run import SourceResult, apply_statements, check_source
from chconform.sql.source import split_statements

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]
# What a source might leave behind in its session: objects, settings, a function, a dictionary.
LITTER = [
    "CREATE DATABASE IF NOT EXISTS litter",
    "CREATE TABLE litter.t (a Int32, s String) ENGINE = MergeTree ORDER BY a",
    "INSERT INTO litter.t VALUES (1, 'x')",
    "CREATE VIEW litter.v AS SELECT a FROM litter.t",
    "CREATE TABLE default.left_behind (a Int32) ENGINE = Log",
    "CREATE FUNCTION litter_fn AS (x) -> x + 1",
    "CREATE DICTIONARY litter.d (a Int32, s String) PRIMARY KEY a SOURCE(CLICKHOUSE(TABLE 't' DB 'litter')) "
    "LAYOUT(FLAT()) LIFETIME(0)",
    "SET max_threads = 1",
]


# A statement's rows never leave the worker, so the source's session is asked with an error or its absence.
_SETTING_IS = "SELECT throwIf(getSetting('max_threads') {op} 1, 'max_threads {op} 1')"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(ROOT / "pyproject.toml")


def _fresh(config: Config, path: str) -> tuple[SourceResult, object]:
    """The reference: a backend that starts a new worker for every instance."""
    backend = EmbeddedBackend(prestart=False, timeout_s=config.timeout_s, engine=NEWEST)
    try:
        return check_source(backend, config, config.source(path), None)
    finally:
        backend.close()


def _same(a: SourceResult, b: SourceResult) -> bool:
    return replace(a, duration_s=0.0) == replace(b, duration_s=0.0)


@pytest.fixture
def reusing(config: Config) -> Iterator[EmbeddedBackend]:
    """One worker, no spare: every instance after the first is a reused worker."""
    backend = EmbeddedBackend(timeout_s=config.timeout_s, spares=0, sessions_per_worker=50, engine=NEWEST)
    yield backend
    backend.close()


def _litter(backend: EmbeddedBackend) -> int:
    """Leave everything LITTER makes in one session; return the worker's pid."""
    instance = backend.instance()
    try:
        for sql in LITTER:
            instance.execute(sql, timeout=30)
        assert instance.query("SELECT (SELECT count() FROM litter.t) AS rows, litter_fn(1) AS f, "
                              "(SELECT count() FROM system.dictionaries) AS d") == [{"rows": 1, "f": 2, "d": 1}]
        # the SET holds in the source's session (chconform's own queries run in a session of their own)
        instance.execute(_SETTING_IS.format(op="!="), timeout=30)
        with pytest.raises(EngineError, match="max_threads"):
            instance.execute(_SETTING_IS.format(op="="), timeout=30)
        pid = instance.worker.proc.pid
    finally:
        instance.close()
    return pid


def test_reused_worker_snapshots_as_a_fresh_one(config: Config, reusing: EmbeddedBackend) -> None:
    path = config.canonical
    expected, expected_snapshot = _fresh(config, path)
    pid = _litter(reusing)
    result, snapshot = check_source(reusing, config, config.source(path), None)
    instance = reusing.instance()
    try:
        assert instance.worker.proc.pid == pid, "the test must run on a reused worker"
        assert instance.worker.sessions >= 3
    finally:
        instance.close()
    assert _same(result, expected)
    assert snapshot == expected_snapshot


def test_nothing_carries_over_to_the_next_session(reusing: EmbeddedBackend) -> None:
    pid = _litter(reusing)
    instance = reusing.instance()
    try:
        assert instance.worker.proc.pid == pid
        databases = {r["name"] for r in instance.query("SELECT name FROM system.databases")}
        assert "litter" not in databases
        assert instance.query("SELECT name FROM system.tables WHERE database = 'default'") == []
        assert instance.query("SELECT name FROM system.functions WHERE name = 'litter_fn'") == []
        assert instance.query("SELECT name FROM system.dictionaries") == []
        instance.execute(_SETTING_IS.format(op="="), timeout=30)  # the next source's session: not 1
        instance.execute("CREATE FUNCTION litter_fn AS (x) -> x + 1", timeout=30)  # no 'already exists'
    finally:
        instance.close()


def test_pre_started_worker_snapshots_as_a_fresh_one(config: Config) -> None:
    path = "migrations/2025-qtickets-api.sql"
    expected, expected_snapshot = _fresh(config, path)
    backend = EmbeddedBackend(timeout_s=config.timeout_s, spares=2, engine=NEWEST)
    try:
        backend.reserve(2)
        result, snapshot = check_source(backend, config, config.source(path), None)
    finally:
        backend.close()
    assert _same(result, expected)
    assert snapshot == expected_snapshot


def test_a_worker_that_timed_out_is_replaced(reusing: EmbeddedBackend) -> None:
    instance = reusing.instance()
    pid = instance.worker.proc.pid
    try:
        with pytest.raises(EngineTimeout):
            instance.execute("SELECT sleep(2)", timeout=0.3)
    finally:
        instance.close()
    instance = reusing.instance()
    try:
        assert instance.worker.proc.pid != pid
        assert instance.query("SELECT 1 AS x") == [{"x": 1}]
    finally:
        instance.close()


def test_a_worker_is_retired_after_its_sessions(config: Config) -> None:
    backend = EmbeddedBackend(timeout_s=config.timeout_s, spares=0, sessions_per_worker=2, engine=NEWEST)
    try:
        pids = []
        for _ in range(3):
            instance = backend.instance()
            pids.append(instance.worker.proc.pid)
            instance.close()
    finally:
        backend.close()
    assert pids[0] == pids[1] != pids[2]


def test_a_session_that_is_not_fresh_is_refused() -> None:
    """The probe compares every later session with the worker's first; a difference stops the worker's reuse."""
    worker = Worker()
    try:
        worker.wait_ready()
        worker.open_session()
        worker.end_session()
        worker.fresh = worker.fresh.replace("default", "leftover")  # as if a database had survived
        with pytest.raises(EngineError, match="NOT_FRESH|not fresh"):
            worker.open_session()
    finally:
        worker.kill()


def test_backend_replaces_a_worker_whose_session_is_not_fresh(reusing: EmbeddedBackend) -> None:
    first = reusing.instance()
    pid = first.worker.proc.pid
    first.worker.fresh = "something else"  # its next session will not match
    first.close()
    second = reusing.instance()
    try:
        assert second.worker.proc.pid != pid
        assert second.query("SELECT count() AS n FROM system.tables WHERE database = 'default'") == [{"n": 0}]
    finally:
        second.close()


class OneByOne:
    """The same instance without `execute_many`: apply_statements falls back to one request per statement."""

    def __init__(self, inner: EmbeddedInstance) -> None:
        self.inner = inner

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self.inner.execute(sql, timeout)

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        return self.inner.query(sql, timeout)

    def close(self) -> None:
        self.inner.close()


MIXED = """CREATE DATABASE IF NOT EXISTS zakaz;
CREATE VIEW zakaz.v AS SELECT a FROM zakaz.t;
CREATE TABLE zakaz.t (a Int32) ENGINE = MergeTree ORDER BY a;
CREATE USER nobody;
SELECT file('/etc/hostname') AS f;
CREATE TABLE zakaz.t (a Int32) ENGINE = MergeTree ORDER BY a;
CREATE TABLE zakaz.broken (a Int32 ENGINE = MergeTree ORDER BY a;
CREATE TABLE IF NOT EXISTS zakaz.u (a Int32) ENGINE = Log;
"""
SLOW = ("SELECT sleepEachRow(0.5) FROM numbers(100) SETTINGS max_block_size = 1;\n"
        "CREATE TABLE zakaz.after (a Int32) ENGINE = Log;\n")


def _apply(backend: EmbeddedBackend, text: str, budget: float, one_by_one: bool) -> tuple[Any, ...]:
    instance: Any = backend.instance()
    if one_by_one:
        instance = OneByOne(instance)
    try:
        errors, skipped, alive = apply_statements(instance, split_statements(text), 1, time.monotonic() + budget,
                                                  False, "mixed.sql")
        tables = instance.query("SELECT name FROM system.tables WHERE database = 'zakaz' ORDER BY name")
    except EngineError:
        tables = None  # the engine was killed with the round
    finally:
        instance.close()
    return [(e.line, e.name, e.code) for e in errors], skipped, alive, tables


@pytest.mark.parametrize("text", [MIXED, MIXED + SLOW], ids=["errors_skips_refusals", "timeout_stops_the_round"])
def test_one_request_equals_one_by_one(reusing: EmbeddedBackend, text: str) -> None:
    batched = _apply(reusing, text, 3.0, one_by_one=False)
    single = _apply(reusing, text, 3.0, one_by_one=True)
    assert batched == single
    names = [name for _, name, _ in batched[0]]
    assert "UNKNOWN_TABLE" in names and "REFUSED" in names and "TABLE_ALREADY_EXISTS" in names
    assert [s.line for s in batched[1]] == [4]  # CREATE USER: skipped, not passed
    if text.endswith(SLOW):
        assert names[-1] == "TIMEOUT" and batched[2] is False  # the statement after the slow one never ran
    else:
        assert batched[2] is True and batched[3] == [{"name": "t"}, {"name": "u"}]


def _without_time(result: SourceResult) -> SourceResult:
    return replace(result, duration_s=0.0)


def test_xdist_workers_share_each_applied_source(config: Config, tmp_path: Path) -> None:
    """What one worker applied, another reads from the run's store: same results, no second engine."""
    first = ConformanceSession(config, "embedded", RunStore(tmp_path, config, "embedded"))
    second = ConformanceSession(config, "embedded", RunStore(tmp_path, config, "embedded"))
    alone = ConformanceSession(config, "embedded")
    try:
        paths = [s.path for s in config.sources]
        built = [first.result(p) for p in paths]
        read = [second.result(p) for p in paths]
        assert second._backend is None  # nothing was applied twice
        assert [_without_time(r) for r in read] == [_without_time(r) for r in built]
        assert [_without_time(alone.result(p)) for p in paths] == [_without_time(r) for r in built]
    finally:
        for session in (first, second, alone):
            session.close()


def test_a_waiting_worker_applies_the_next_sources_meanwhile(config: Config, tmp_path: Path) -> None:
    store = RunStore(tmp_path, config, "embedded")
    assert store.claim(config.canonical)  # "another worker" (alive: this process) is building the canon
    waiting = ConformanceSession(config, "embedded", RunStore(tmp_path, config, "embedded"))
    builder = ConformanceSession(config, "embedded")

    def build_the_canon_later() -> None:
        """Save the canon once the waiting session has applied another source (an event, not a delay)."""
        ends = time.monotonic() + 300  # generous: past it the canon is saved anyway and `ahead` below fails
        while time.monotonic() < ends and not set(waiting._applied.copy()) - {"init.sql", config.canonical}:
            time.sleep(0.05)  # polling the condition; nothing is asserted after a delay
        store.save(config.canonical, builder.applied(config.canonical))

    thread = threading.Thread(target=build_the_canon_later)
    thread.start()
    try:
        result = waiting.result("init.sql")
    finally:
        thread.join()
        waiting.close()
        builder.close()
    assert result.ok, result
    ahead = set(waiting._applied) - {"init.sql", config.canonical}
    assert ahead, "while it waited for the canon it applied no other source"
    for path in ahead:
        assert store.load(path) is not None  # shared with the others


def test_a_claim_whose_worker_died_is_taken_over(config: Config, tmp_path: Path) -> None:
    store = RunStore(tmp_path, config, "embedded")
    claim = ("from pathlib import Path; from chconform.config import load_config; "
             "from chconform.pytest_plugin import RunStore; import sys; "
             "assert RunStore(Path(sys.argv[1]), load_config(sys.argv[2]), 'embedded').claim(sys.argv[3])")
    subprocess.run([sys.executable, "-c", claim, str(tmp_path), str(config.config_file), config.canonical], check=True)
    assert not store.claim(config.canonical)  # claimed by a worker that has exited since
    assert store.abandoned(config.canonical)
    session = ConformanceSession(config, "embedded", store)
    try:
        assert session.result(config.canonical).ok
    finally:
        session.close()
    assert store.load(config.canonical) is not None


HOSTILE = [
    "SELECT * FROM file('/etc/hostname', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')",
    "CREATE DICTIONARY z.dx (k UInt64, v String) PRIMARY KEY k SOURCE(EXECUTABLE(COMMAND 'touch /tmp/x' "
    "FORMAT TabSeparated)) LAYOUT(FLAT()) LIFETIME(0)",
    "ATTACH TABLE z.moved FROM '/tmp' (s String) ENGINE = MergeTree ORDER BY s",
    "SELECT * FROM Python(chconform_caller_secret)",
    "INSERT INTO FUNCTION file('/tmp/w.tsv', 'TSV', 'a String') VALUES ('x')",
    "SELECT 'a\\tb\\\\c\\'d', 'юникод' AS x",
]
BROKEN = "CREATE TABLE zakaz.broken (a Int32 ENGINE = MergeTree ORDER BY a"


def test_gate_verdicts_in_one_request_equal_one_by_one(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """The texts of a batch are parsed in one query (one by one when one of them does not parse);
    every verdict is the one a lone parse gives."""
    import chconform.engines.embedded as embedded
    from chconform.checks.run import load_source

    texts = [s.text for spec in config.sources for s in load_source(spec).statements] + HOSTILE
    worker = Worker()
    try:
        worker.wait_ready()
        worker.open_session()
        judged = []
        for batch in (texts, [*texts, BROKEN]):
            monkeypatch.setattr(embedded, "_VERDICTS", {})
            judged.append(worker._judge_many(batch, time.monotonic() + 60, "parsing"))
        monkeypatch.setattr(embedded, "_VERDICTS", {})
        alone = [worker._judge(text, 60, "parsing") for text in [*texts, BROKEN]]
    finally:
        worker.kill()
    assert judged[0] == alone[:-1]
    assert judged[1] == alone
    assert sum(v.action == "refuse" for v in alone) >= 6


def test_a_worker_owing_a_reply_is_not_reused(reusing: EmbeddedBackend) -> None:
    """A caller interrupted between request and reply leaves the reply in the pipe: that worker is retired."""
    first = reusing.instance()
    pid = first.worker.proc.pid
    first.worker._send({"sql": "SELECT 1", "fmt": "TabSeparated"}, "running a statement")
    first.close()
    second = reusing.instance()
    try:
        assert second.worker.proc.pid != pid
        assert second.query("SELECT 2 AS x") == [{"x": 2}]
    finally:
        second.close()


def test_a_reply_out_of_step_stops_the_engine_instead_of_answering_another_request() -> None:
    """Every reply names its request: one read for the wrong request is a crash, never a wrong result."""
    worker = Worker()
    try:
        worker.wait_ready()
        worker.open_session()
        worker._send({"sql": "SELECT 'stale' AS x", "fmt": "JSONEachRow"}, "running a query")
        worker._due.clear()  # as if the parent had lost track of that reply
        with pytest.raises(EngineError, match="out of step"):
            worker.call({"sql": "SELECT name FROM system.databases", "fmt": "JSONEachRow"}, 30, "running a query")
        assert worker.proc.poll() is not None
    finally:
        worker.kill()
