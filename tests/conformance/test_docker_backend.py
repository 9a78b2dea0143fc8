"""The docker backend against a real clickhouse-server container (hosted CI; skipped without a Docker engine).

Without a reachable engine every test here is skipped with the reason
("no Docker engine reachable at ..."), never reported as passed.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chconform.engines.docker import DockerBackend, take_inventory
from chconform.cli import run
from chconform.config import Config, load_config
from chconform.errors import EnvironmentUnusable
from chconform.checks.run import apply_statements, check_source, load_source
from chconform.schema.snapshot import take_snapshot
from chconform.sql.source import split_statements

from .docker_engine import skip_only_without_docker

pytestmark = [pytest.mark.docker, pytest.mark.engine]

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(PYPROJECT)


def _backend(config: Config, **options: object) -> DockerBackend:
    settings: dict[str, object] = {"image": config.image, "timeout_s": config.timeout_s, "root": config.root, **options}
    try:
        return DockerBackend(**settings)  # type: ignore[arg-type]
    except EnvironmentUnusable as exc:  # skipped only when no engine answers; a failed pull or start fails
        skip_only_without_docker(str(exc))
        raise


@pytest.fixture(scope="module")
def backend(config: Config) -> Iterator[DockerBackend]:
    backend = _backend(config, reuse=False)  # a container per instance, whatever CHCONFORM_DOCKER_REUSE says
    yield backend
    backend.close()


def _apply(instance: object, config: Config, *texts: str, source: str | None = None) -> None:
    statements = [s for text in config.prelude for s in split_statements(text)]
    if source:
        statements += list(load_source(config.source(source)).statements)
    statements += [s for text in texts for s in split_statements(text)]
    errors, skipped, alive = apply_statements(instance, statements, 1, time.monotonic() + 120, True)  # type: ignore[arg-type]
    assert alive and not errors and not skipped, (errors, skipped)


def test_users_roles_and_grants_run_for_real(backend: DockerBackend, config: Config) -> None:
    result, snap = check_source(backend, config, config.source("bootstrap_all.sql"), None)
    assert result.errors == () and result.skipped == (), result  # no access statement is skipped here
    assert snap is not None
    assert ("role", "role:role_bi_reader", "") in snap.grants
    assert ("grant", "role:role_bi_reader", "GRANT SELECT ON zakaz.*") in snap.grants
    assert ("grant", "role:role_etl_writer", "GRANT INSERT ON zakaz.*") in snap.grants
    # users.d/users.xml is mounted: its users and their XML grants are part of the snapshot
    assert ("grant", "user:etl_writer", "GRANT INSERT ON zakaz.*") in snap.grants
    assert not any(grantee == "user:chconform" for _, grantee, _ in snap.grants)  # the harness's own login


def test_the_repository_conforms_on_a_real_server(config: Config) -> None:
    image = _backend(config, reuse=False).image  # skips here without an engine; CHCONFORM_IMAGE may override config
    out, err = io.StringIO(), io.StringIO()
    argv = ["check", "--backend", "docker", "--config", str(PYPROJECT), "--format", "json", "--jobs", "2"]
    code = run(argv, out, err)
    report = json.loads(out.getvalue())
    assert code == 0, out.getvalue() + err.getvalue()
    assert report["backend"] == "docker"
    tag = image.rsplit(":", 1)[-1]
    if tag[:1].isdigit():
        assert report["clickhouse_version"].startswith(tag + ".")
    assert all(s["skipped"] == [] for s in report["sources"])


def test_a_reset_instance_snapshots_the_same_as_a_fresh_one(config: Config) -> None:
    reused = _backend(config, reuse=True)
    dirty = reused.instance()
    _apply(dirty, config,
           "CREATE USER IF NOT EXISTS tmp_user IDENTIFIED WITH no_password",
           "CREATE SETTINGS PROFILE IF NOT EXISTS tmp_profile SETTINGS max_threads = 2",
           "CREATE QUOTA IF NOT EXISTS tmp_quota FOR INTERVAL 1 hour MAX queries = 100 TO tmp_user",
           "CREATE ROW POLICY IF NOT EXISTS tmp_policy ON zakaz.dim_events USING 1 TO tmp_user",
           "CREATE FUNCTION tmp_inc AS (x) -> x + 1",
           "CREATE TABLE default.tmp_t (a String) ENGINE = MergeTree ORDER BY a",
           source="bootstrap_all.sql")
    dirty_snap = take_snapshot(dirty.query, access=True)
    dirty.close()  # resets the container

    again = reused.instance()
    try:
        reset_snap, reset_inv = take_snapshot(again.query, access=True), take_inventory(again.query)
    finally:
        again.close()
    fresh_backend = _backend(config, reuse=False)
    fresh = fresh_backend.instance()
    try:
        fresh_snap, fresh_inv = take_snapshot(fresh.query, access=True), take_inventory(fresh.query)
    finally:
        fresh.close()
    assert dirty_snap != fresh_snap  # the test has teeth: the sources left plenty behind
    assert reset_snap == fresh_snap
    assert reset_inv == fresh_inv


def test_drift_over_http_with_a_readonly_user(backend: DockerBackend, config: Config,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    instance = backend.instance()
    try:
        _apply(instance, config,
               "CREATE USER drift_ro IDENTIFIED WITH sha256_password BY 'drift-ro-pw' SETTINGS readonly = 1",
               "GRANT SELECT ON zakaz.* TO drift_ro", "GRANT SELECT ON meta.* TO drift_ro",
               "GRANT SELECT ON bi.* TO drift_ro",
               source=config.canonical)
        host = instance.container.get_container_host_ip()  # type: ignore[union-attr]
        port = instance.container.get_exposed_port(8123)  # type: ignore[union-attr]
        monkeypatch.setenv("CH_DRIFT_RO", "drift-ro-pw")
        argv = ["diff", "--config", str(PYPROJECT), "--url", f"http://{host}:{port}", "--user", "drift_ro",
                "--password-env", "CH_DRIFT_RO", "--format", "json"]
        out, err = io.StringIO(), io.StringIO()
        assert run(argv, out, err) == 0, out.getvalue() + err.getvalue()
        (server,) = json.loads(out.getvalue())["sources"]
        assert server["differences"] == []
        instance.execute("ALTER TABLE zakaz.fact_qtickets_sales_daily ADD COLUMN note String")
        out, err = io.StringIO(), io.StringIO()
        assert run(argv, out, err) == 1, err.getvalue()
        (server,) = json.loads(out.getvalue())["sources"]
        assert [(d["object"], d["aspect"], d["column"]) for d in server["differences"]] == [
            ("zakaz.fact_qtickets_sales_daily", "column_extra", "note")]
    finally:
        instance.close()


def test_a_server_that_does_not_start_is_one_line_with_its_last_log_lines(config: Config, tmp_path: Path) -> None:
    (tmp_path / "config.d").mkdir()
    (tmp_path / "config.d" / "broken.xml").write_text(
        "<clickhouse><http_port>not-a-port</http_port></clickhouse>", encoding="utf-8")
    broken = _backend(config, root=tmp_path, startup_timeout_s=30, reuse=False)
    with pytest.raises(EnvironmentUnusable) as caught:
        broken.instance()
    text = str(caught.value)
    assert text.startswith(f"ClickHouse container {broken.image} did not become ready within 30s: ")
    assert "last log lines: " in text and "last log lines: (none)" not in text
    assert "Hint: " in text and "\n" not in text
