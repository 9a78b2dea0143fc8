"""The engine matrix on the real engines: 24.8 (chdb 3.3.0 from the engine cache) beside 26.9 (chdb-core).

First use installs 24.8 into the engine cache (a few seconds from PyPI; tests/unit/test_releases.py covers
the cache without a network). Every test here runs real ClickHouse.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chconform.checks.matrix import run_matrix
from chconform.cli import run
from chconform.config import load_config
from chconform.engines.embedded import EmbeddedBackend, Hardening, Worker
from chconform.engines.releases import RELEASES, installation
from chconform.errors import EngineError, EnvironmentUnusable
from chconform.schema import snapshot as snapshot_module
from chconform.schema.compare import compare
from chconform.schema.snapshot import take_snapshot
from chconform.sql.source import read_source

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("engine-matrix")]

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "matrix"
AGGREGATING = DATA / "aggregating" / "chconform.toml"


def _build(release: str, path: Path) -> tuple[list[tuple[int, EngineError]], object]:
    """Apply one file on a fresh engine of `release`: its errors (line, error) and its snapshot."""
    source = read_source(path, path.name)
    backend = EmbeddedBackend(prestart=False, engine=release)
    instance = backend.instance()
    try:
        outcomes = instance.execute_many([s.text for s in source.statements])
        errors = [(s.line, e) for s, e in zip(source.statements, outcomes) if e is not None]
        return errors, take_snapshot(lambda sql: instance.query(sql, timeout=60), access=False)
    finally:
        instance.close()
        backend.close()


def test_each_release_runs_its_own_engine_in_the_sandbox() -> None:
    for name in ("24.8", "26.9"):
        backend = EmbeddedBackend(prestart=False, engine=name)
        try:
            assert backend.version().startswith(RELEASES[name].clickhouse)
            assert backend.sandbox in ("landlock", "none") and backend.sandbox_detail
            instance = backend.instance()
            try:
                assert instance.query("SELECT version() AS v")[0]["v"] == RELEASES[name].clickhouse
            finally:
                instance.close()
        finally:
            backend.close()


def test_the_gate_parses_with_the_newest_engine_for_an_older_release() -> None:
    """24.8 has no parseQueryToJSON: its workers' statements are parsed by one shared 26.9 worker."""
    backend = EmbeddedBackend(prestart=False, engine="24.8")
    instance = backend.instance()
    try:
        assert instance.worker.parse_service is not None
        created, read = instance.execute_many(["CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a",
                                               "SELECT * FROM file('/etc/passwd')"])
        assert created is None and read is not None and read.name == "REFUSED"
        assert instance.query("SELECT name FROM system.tables WHERE database = 'default'") == [{"name": "t"}]
        with instance.worker.parse_service.lease() as parser:
            assert parser.version.startswith(RELEASES["26.9"].clickhouse)
    finally:
        instance.close()
        backend.close()


def test_without_the_shared_parser_a_24_8_worker_cannot_parse_for_its_gate() -> None:
    """The routing is needed: 24.8's own engine has no parseQueryToJSON (the gate would get no tree)."""
    worker = Worker(release=RELEASES["24.8"], release_path=installation(RELEASES["24.8"]),
                    hardening=Hardening(gate=False))
    try:
        worker.wait_ready()
        worker.call({"op": "open"}, 60, "opening")
        with pytest.raises(EngineError) as caught:
            worker.call({"op": "parse", "sql": "SELECT 1"}, 60, "parsing")
        assert "parseQueryToJSON" in caught.value.message  # chdb 3.3.0 takes no bound parameters either
    finally:
        worker.close()


def test_a_broken_installation_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder for 24.8 that holds another engine: the worker's version check stops it."""
    real = Path(installation(RELEASES["25.8"]) or "")
    fake = tmp_path / "cache" / "24.8"
    fake.mkdir(parents=True)
    (fake / "chdb").symlink_to(real / "chdb")
    (fake / "chdb-3.3.0.dist-info").mkdir()
    (fake / "chdb-3.3.0.dist-info" / "RECORD").write_text("")
    shutil.copy(real / "chconform-settings.txt", fake / "chconform-settings.txt")
    monkeypatch.setenv("CHCONFORM_ENGINE_CACHE", str(tmp_path / "cache"))
    backend = EmbeddedBackend(prestart=False, engine="24.8", hardening=Hardening(landlock=False))
    try:
        with pytest.raises(EnvironmentUnusable) as caught:
            backend.instance()
        text = str(caught.value)
        assert "\n" not in text and "runs ClickHouse 25.8.2.1, not 24.8.4.1" in text
    finally:
        backend.close()


def test_an_unknown_release_on_the_command_line_is_exit_2_in_one_line() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", "--config", str(AGGREGATING), "--engine", "19.1"], out, err) == 2
    assert err.getvalue().count("\n") == 1 and "unknown ClickHouse release '19.1'" in err.getvalue()


def test_a_schema_only_26_refuses_builds_on_24_8_and_the_matrix_names_the_statement() -> None:
    config = load_config(AGGREGATING)
    assert config.engines == ("24.8",)
    matrix = run_matrix(config, ["24.8", "26.9"], lambda release: EmbeddedBackend(engine=release), jobs=2)
    old, new = matrix.runs
    assert old.result.ok and old.result.clickhouse_version == RELEASES["24.8"].clickhouse
    assert not new.result.ok and new.result.clickhouse_version == RELEASES["26.9"].clickhouse
    schema = next(s for s in new.result.sources if s.path == "schema.sql")
    assert [(e.round, e.line, e.name) for e in schema.errors][0] == (1, 13, "BAD_ARGUMENTS")
    risks = {(d.source, d.line, d.round): d for d in matrix.divergences}
    risk = risks[("schema.sql", 13, 1)]
    assert risk.statement.startswith("CREATE TABLE IF NOT EXISTS metrics.daily_rollup")
    assert risk.summary.startswith("applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS): Column(s) country")
    assert risks[("migration.sql", 14, 1)].summary.startswith("applies on 24.8; fails on 26.9 with Code 36")


def test_check_with_two_engines_prints_the_matrix_and_the_upgrade_risk() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--config", str(AGGREGATING), "--engine", "24.8", "--engine", "26.9"], out, err)
    text = out.getvalue()
    assert code == 1, text + err.getvalue()
    assert text.startswith("chconform matrix: 2 sources on ClickHouse 24.8 (24.8.4.1), 26.9 (26.9.2.1)")
    assert "schema.sql:13  CREATE TABLE IF NOT EXISTS metrics.daily_rollup" in text
    assert "applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS)" in text
    assert text.rstrip().endswith("Verdict: 24.8 PASS, 26.9 FAIL")
    out = io.StringIO()
    run(["check", "--config", str(AGGREGATING), "--engine", "24.8", "--engine", "26.9", "--format", "json"], out, err)
    data = json.loads(out.getvalue())
    assert [(r["engine"], r["ok"]) for r in data["releases"]] == [("24.8", True), ("26.9", False)]


def test_check_on_the_configured_release_names_it() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", "--config", str(AGGREGATING), "--format", "json"], out, err) == 0, out.getvalue()
    assert json.loads(out.getvalue())["clickhouse_version"] == RELEASES["24.8"].clickhouse


def test_the_same_ddl_builds_the_same_schema_on_24_8_and_26_9() -> None:
    """A broad corpus (every engine family, column property, table element, view, dictionary, function)."""
    old_errors, old = _build("24.8", DATA / "corpus.sql")
    new_errors, new = _build("26.9", DATA / "corpus.sql")
    assert old_errors == [] and new_errors == []
    assert compare(old, new) == []  # type: ignore[arg-type]


def test_without_normalisation_the_releases_differ_in_form_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """26.x quotes an engine named like a keyword (`Null`) and prints the width Gorilla takes from a Float64
    (`Gorilla(8)`; 24.8: `Gorilla`): the normalisation above is what makes them equal."""
    monkeypatch.setattr(snapshot_module, "_engine_name", lambda engine: engine)
    monkeypatch.setattr(snapshot_module, "_codec", lambda codec, column_type: codec)
    _, old = _build("24.8", DATA / "corpus.sql")
    _, new = _build("26.9", DATA / "corpus.sql")
    found = [(d.object, d.column, d.aspect, d.canonical, d.actual) for d in compare(old, new)]  # type: ignore[arg-type]
    assert sorted(found) == [("shop.codecs", "temp", "column_codec", "CODEC(Gorilla)", "CODEC(Gorilla(8))"),
                             ("shop.sink", None, "engine", "Null", "`Null`")]


def test_a_text_that_means_something_else_on_another_release_differs() -> None:
    """toTime() returns DateTime on 24.8 and Time on 26.x: the same view has another column type."""
    _, old = _build("24.8", DATA / "meaning.sql")
    _, new = _build("26.9", DATA / "meaning.sql")
    found = [(d.object, d.column, d.aspect, d.canonical, d.actual) for d in compare(old, new)]  # type: ignore[arg-type]
    assert ("clock.now_parts", "time_of_day", "view_columns", "DateTime", "Time") in found


def test_this_repositorys_sources_build_the_same_schema_on_both_releases() -> None:
    config = load_config(REPO / "pyproject.toml")
    only = [config.canonical, "migrations/2025-qtickets-api-final.sql"]
    matrix = run_matrix(config, ["24.8", "26.9"], lambda release: EmbeddedBackend(engine=release, spares=0),
                        jobs=2, only=only)
    assert matrix.ok, [(r.release, [s.errors or s.differences for s in r.result.sources]) for r in matrix.runs]
    assert matrix.divergences == () and matrix.build_divergences == ()
    assert all(snap is not None for run in matrix.runs for _, snap in run.snapshots)


def test_an_insert_on_24_8_reads_no_request_of_the_protocol() -> None:
    """chdb 3.3.0 reads an INSERT's data from stdin; the worker's stdin is /dev/null, its requests come elsewhere."""
    backend = EmbeddedBackend(prestart=False, engine="24.8", timeout_s=20)
    instance = backend.instance()
    try:
        outcomes = instance.execute_many(["CREATE TABLE vf (s String) ENGINE = Memory", "INSERT INTO vf VALUES ('a')",
                                          "INSERT INTO vf VALUES (concat('b', 'c'))"], timeout=20)
        assert outcomes == [None, None, None]
        assert instance.query("SELECT s FROM vf ORDER BY s") == [{"s": "a"}, {"s": "bc"}]
    finally:
        instance.close()
        backend.close()


def test_without_its_own_pipes_24_8_would_read_the_requests_as_insert_data() -> None:
    """The defence off: chdb 3.3.0 with a pipe on stdin takes the pipe's bytes as the INSERT's rows."""
    code = ("from chdb import _chdb\n"
            "c = _chdb.connect(':memory:')\n"
            "c.query('CREATE TABLE vf (s String) ENGINE = Memory')\n"
            "try:\n"
            "    c.query(\"INSERT INTO vf VALUES ('a')\")\n"
            "except Exception as exc:\n"
            "    print(exc)\n")
    env = {"PYTHONPATH": installation(RELEASES["24.8"]) or "", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    done = subprocess.run([sys.executable, "-c", code], input=b"NEXT-REQUEST-FRAME", capture_output=True, env=env,
                          timeout=120)
    assert b"Cannot parse input" in done.stdout and b"NEXT-REQUEST" in done.stdout, done.stdout + done.stderr


_MV_AGAIN = ["CREATE DATABASE IF NOT EXISTS m", "CREATE TABLE IF NOT EXISTS m.src (a Int32, v UInt64) ENGINE = MergeTree ORDER BY a",
             "DROP TABLE IF EXISTS m.mv",
             "CREATE MATERIALIZED VIEW IF NOT EXISTS m.mv ENGINE = ReplacingMergeTree(top) ORDER BY a "
             "AS SELECT a, max(v) AS top FROM m.src GROUP BY a"]


def _two_rounds(backend: EmbeddedBackend) -> tuple[list[EngineError | None], int]:
    """Apply the statements twice on one instance, a snapshot between (as a check does; the second DROP drops a
    materialized view): the outcomes, and the worker's pid."""
    instance = backend.instance()
    try:
        first = instance.execute_many(_MV_AGAIN, timeout=8)
        take_snapshot(lambda sql: instance.query(sql, timeout=8), access=False)
        return first + instance.execute_many(_MV_AGAIN, timeout=8), instance.worker.proc.pid
    finally:
        instance.close()


def test_24_8_hosts_one_session_per_worker() -> None:
    """chdb 3.3.0 cannot drop a materialized view in a process's second session: each instance gets a new worker."""
    backend = EmbeddedBackend(engine="24.8", spares=0, sessions_per_worker=20, timeout_s=8)
    try:
        assert backend.sessions_per_worker == 1
        first, pid1 = _two_rounds(backend)
        second, pid2 = _two_rounds(backend)
        assert first == second == [None] * 8 and pid1 != pid2
    finally:
        backend.close()


def test_with_sessions_reused_24_8_hangs_dropping_a_materialized_view() -> None:
    """The defence off: a 24.8 worker's later session waits for ever (or crashes) on DROP of a materialized view
    (measured under load: a later session fails about three times in four; on an idle machine less often, so up
    to 40 sessions are tried: the ones that do not hang take a fraction of a second)."""
    backend = EmbeddedBackend(engine="24.8", spares=0, timeout_s=8)
    backend.sessions_per_worker = 40
    try:
        first, pid = _two_rounds(backend)
        assert first == [None] * 8
        hung: list[EngineError | None] = []
        for _ in range(39):
            outcomes, same_pid = _two_rounds(backend)
            assert same_pid == pid  # a later session of the same worker
            if len(outcomes) < 8:
                hung = outcomes
                break
        assert len(hung) == 7 and isinstance(hung[6], EngineError), hung  # stopped at the second DROP:
        assert hung[6].name in ("TIMEOUT", "ENGINE_CRASHED"), hung  # it waits for ever, or the engine segfaults
    finally:
        backend.close()


_SEGV = ("import os, signal, time\n"
         "from chdb import _chdb\n"
         "connection = _chdb.connect(':memory:')\n"
         "{reset}\n"
         "os.kill(os.getpid(), signal.SIGSEGV)\n"
         "time.sleep(60)\n")


def _segfault_24_8(reset: str) -> int | None:
    """A chdb 3.3.0 process given SIGSEGV: its exit code, or None if it still runs 20 s later."""
    env = {"PYTHONPATH": os.pathsep.join([installation(RELEASES["24.8"]) or "", str(REPO / "src")]),
           "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    try:
        return subprocess.run([sys.executable, "-c", _SEGV.format(reset=reset)], env=env, capture_output=True,
                              timeout=20).returncode
    except subprocess.TimeoutExpired:
        return None


def test_a_segfault_ends_a_24_8_worker_and_without_the_reset_it_would_not() -> None:
    """chdb 3.3.0 cannot turn its crash handlers off: the worker puts the default action back on fatal signals."""
    reset = "from chconform.engines._worker import fatal_signals_default; fatal_signals_default()"
    assert _segfault_24_8(reset) == -signal.SIGSEGV
    assert _segfault_24_8("") != -signal.SIGSEGV  # the engine's handler swallows it (the process hangs or exits)
