"""`chconform diff` end to end, with the embedded engine standing in for the live server.

The server side is a real ClickHouse (chDB) built from the canonical source and
then drifted by hand; only the HTTP transport is swapped for it (the catalog
queries and the comparison are the same). The HTTP path itself runs in CI
against a container (tests/conformance/test_docker_backend.py).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chconform.commands import diff as drift_cli
from chconform.engines.embedded import EmbeddedBackend
from chconform.cli import run
from chconform.config import load_config
from chconform.checks.run import apply_statements, load_source
from chconform.sql.source import split_statements

from .docker_engine import skip_only_without_docker

pytestmark = pytest.mark.engine

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


class StandIn:
    """An embedded instance holding the "server" schema; `close` is a no-op so one build serves several runs."""

    def __init__(self, instance: Any) -> None:
        self.instance = instance

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        return self.instance.query(sql, timeout)  # type: ignore[no-any-return]

    def close(self) -> None:
        pass


def _server(drift_sql: list[str]) -> Iterator[StandIn]:
    config = load_config(PYPROJECT)
    backend = EmbeddedBackend(prestart=False)
    instance = backend.instance()
    try:
        statements = [s for text in config.prelude for s in split_statements(text)]
        statements += list(load_source(config.canonical_source).statements)
        errors, _, alive = apply_statements(instance, statements, 1, time.monotonic() + 120, False)
        assert alive and not errors, errors
        for sql in drift_sql:
            instance.execute(sql)
        yield StandIn(instance)
    finally:
        instance.close()
        backend.close()


@pytest.fixture(scope="module")
def same_server() -> Iterator[StandIn]:
    yield from _server([])


@pytest.fixture(scope="module")
def drifted_server() -> Iterator[StandIn]:
    yield from _server([
        "ALTER TABLE zakaz.fact_qtickets_sales_daily MODIFY COLUMN city String",
        "ALTER TABLE zakaz.dim_events ADD COLUMN event_date Date",
        "DROP TABLE zakaz.stg_vk_ads_daily",
        "CREATE TABLE zakaz.tmp_backup (a String) ENGINE = MergeTree ORDER BY a",
        "CREATE DATABASE scratch",
        "CREATE TABLE scratch.t (a String) ENGINE = Memory",
    ])


def _diff(monkeypatch: pytest.MonkeyPatch, server: StandIn, *args: str) -> tuple[int, str, str]:
    seen: dict[str, Any] = {}

    def connect_live(address: Any, user: str | None, password: str, timeout_s: float) -> StandIn:
        seen.update(address=address, user=user, password=password)
        return server

    monkeypatch.setattr(drift_cli, "connect_live", connect_live)
    monkeypatch.setenv("CH_DRIFT_PW", "s3cret")
    out, err = io.StringIO(), io.StringIO()
    code = run(["diff", "--config", str(PYPROJECT), "--url", "http://prod.example:8123", "--user", "ro",
                "--password-env", "CH_DRIFT_PW", *args], out, err)
    if code == 2 and "no Docker engine reachable" in err.getvalue():  # the canon's backend (CHCONFORM_BACKEND)
        skip_only_without_docker(err.getvalue().strip())
    assert (seen["user"], seen["password"], seen["address"].shown) == ("ro", "s3cret", "http://prod.example:8123")
    assert "s3cret" not in out.getvalue() + err.getvalue()
    return code, out.getvalue(), err.getvalue()


def test_a_server_built_from_the_canon_has_not_drifted(monkeypatch: pytest.MonkeyPatch, same_server: StandIn) -> None:
    code, out, err = _diff(monkeypatch, same_server)
    assert code == 0, out + err
    assert "OK    http://prod.example:8123" in out
    assert "conforms" in out


def test_every_drift_is_reported_in_the_check_json_shape(monkeypatch: pytest.MonkeyPatch,
                                                        drifted_server: StandIn) -> None:
    code, out, err = _diff(monkeypatch, drifted_server, "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert set(report) >= {"ok", "backend", "clickhouse_version", "canonical", "sources"}
    assert (report["ok"], report["backend"], report["canonical"]) == (False, "server", "bootstrap_schema.sql")
    (server,) = report["sources"]
    assert server["path"] == "http://prod.example:8123"
    found = {(d["object"], d["aspect"], d["column"]) for d in server["differences"]}
    assert found == {
        ("zakaz.fact_qtickets_sales_daily", "column_type", "city"),
        ("zakaz.dim_events", "column_extra", "event_date"),
        ("zakaz.stg_vk_ads_daily", "missing_table", None),
        ("zakaz.tmp_backup", "extra_table", None),
    }  # the scratch database is not the canon's: left alone
    assert server["tables"]["zakaz.stg_vk_ads_daily"] == "absent"
    assert server["tables"]["zakaz.dim_events"] == "differs"
    assert server["tables"]["zakaz.stg_qtickets_api_orders_raw"] == "identical"
    # chDB, like a readonly user without SHOW USERS, may not read system.users: said, not hidden
    assert any("users, roles and grants not compared" in w for w in server["warnings"])


def test_text_form_names_the_drift(monkeypatch: pytest.MonkeyPatch, drifted_server: StandIn) -> None:
    code, out, _ = _diff(monkeypatch, drifted_server)
    assert code == 1
    assert "zakaz.fact_qtickets_sales_daily.city  column_type: LowCardinality(String) → String" in out
    assert "DIFFERS: 1 of 1 sources: http://prod.example:8123" in out


def test_database_option_widens_the_comparison(monkeypatch: pytest.MonkeyPatch, drifted_server: StandIn) -> None:
    code, out, _ = _diff(monkeypatch, drifted_server, "--format", "json", "--database", "scratch")
    assert code == 1
    (server,) = json.loads(out)["sources"]
    assert {(d["object"], d["aspect"]) for d in server["differences"]} == {("scratch.t", "extra_table")}


CLIENT_SCRIPT = r"""
import dataclasses, json, sys, tempfile
import clickhouse_connect
from chconform.engines.server import HttpInstance
from chconform.config import load_config
from chconform.errors import EngineError
from chconform.checks.run import load_source
from chconform.schema.snapshot import take_snapshot

config = load_config(sys.argv[1])
with tempfile.TemporaryDirectory() as scratch:
    client = clickhouse_connect.get_client(interface="chdb", path=scratch)
    writer = HttpInstance(client, "chdb", read_only=False)
    for text in config.prelude:
        writer.execute(text)
    for statement in load_source(config.canonical_source).statements:
        writer.execute(statement.text)
    snap = take_snapshot(HttpInstance(client, "chdb").query)  # read-only, as `diff` reads a server
    try:
        writer.execute("SELECT * FROM zakaz.no_such_table")
        error = None
    except EngineError as exc:
        error = [exc.code, exc.name]
    client.close()
print(json.dumps({"tables": [dataclasses.asdict(t) for t in snap.tables], "error": error}))
"""


def test_the_server_instance_reads_the_same_snapshot_through_clickhouse_connect(same_server: StandIn) -> None:
    """HttpInstance over a real clickhouse-connect client (its chDB interface, in a child process): same snapshot.

    Everything of the server path except the HTTP transport itself: statements, JSONEachRow rows, the
    read-only gate letting the catalog queries through, and ClickHouse's error code and name.
    """
    import dataclasses
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, str(PYPROJECT)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    from chconform.schema.snapshot import take_snapshot

    want = take_snapshot(same_server.query)
    assert got["tables"] == json.loads(json.dumps([dataclasses.asdict(t) for t in want.tables]))
    assert len(got["tables"]) >= 7
    assert got["error"] == [60, "UNKNOWN_TABLE"]
