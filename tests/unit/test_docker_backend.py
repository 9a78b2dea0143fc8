"""The docker backend's container configuration, with testcontainers' real classes and no engine.

docker-py is given an explicit API version so that building the client does
not ask a daemon for one: nothing here needs a Docker engine.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from testcontainers.community.clickhouse import ClickHouseContainer
from testcontainers.core.wait_strategies import HttpWaitStrategy

from chconform.engines import get_backend
from chconform.engines.docker import (
    HARNESS_USER,
    ContainerPlan,
    Inventory,
    build_container,
    config_files,
    env_names,
    plan_container,
    reset_statements,
    startup_error,
    take_inventory,
)
from chconform.cli import run
from chconform.errors import ConfigError, EnvironmentUnusable

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "infra" / "clickhouse"
NO_ENGINE = {"version": "1.44"}  # docker-py then builds its client without contacting a daemon


def _counter() -> object:
    values = iter(f"secret-{i}" for i in range(100))
    return lambda: next(values)


@pytest.fixture
def plan() -> ContainerPlan:
    return plan_container("clickhouse/clickhouse-server:24.8", ROOT, 90, secret=_counter())  # type: ignore[arg-type]


def test_repository_config_files_are_mounted_one_by_one_beside_the_entrypoints(plan: ContainerPlan) -> None:
    assert plan.mounts == (
        (str(ROOT / "users.d" / "users.xml"), "/etc/clickhouse-server/users.d/chconform-users.xml", "ro"),
        (str(ROOT / "config.d" / "zakaz.xml"), "/etc/clickhouse-server/config.d/chconform-zakaz.xml", "ro"),
    )


def test_every_from_env_password_gets_a_throwaway_value(plan: ContainerPlan) -> None:
    env = dict(plan.env)
    assert env.pop("CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT") == "1"
    assert env == {
        "ETL_WRITER_PASSWORD": "secret-0",
        "DATALENS_READER_PASSWORD": "secret-1",
        "BACKUP_USER_PASSWORD": "secret-2",
        "ADMIN_MIN_PASSWORD": "secret-3",
    }
    assert plan.password == "secret-4" and plan.username == HARNESS_USER
    assert "secret" not in repr(plan)  # passwords never reach a log or a report


def test_real_random_secrets_differ() -> None:
    a, b = plan_container("img", ROOT), plan_container("img", ROOT)
    assert a.password != b.password and len(a.password) >= 20
    assert dict(a.env)["ETL_WRITER_PASSWORD"] != dict(b.env)["ETL_WRITER_PASSWORD"]


def test_the_container_is_testcontainers_clickhouse_configured_from_the_plan(plan: ContainerPlan) -> None:
    container = build_container(plan, docker_client_kw=NO_ENGINE)
    assert isinstance(container, ClickHouseContainer)
    assert container.image == "clickhouse/clickhouse-server:24.8"
    assert container.ports == {"8123": None}  # HTTP only: clickhouse-connect
    assert container.volumes == {
        host: {"bind": inside, "mode": "ro"} for host, inside, _ in plan.mounts
    }
    container._configure()  # the hook start() runs first: it sets the entrypoint's user variables
    assert container.env["CLICKHOUSE_USER"] == HARNESS_USER
    assert container.env["CLICKHOUSE_PASSWORD"] == plan.password
    assert container.env["CLICKHOUSE_DB"] == ""  # no init server, no extra database in every snapshot
    assert container.env["CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"] == "1"
    assert container.env["ETL_WRITER_PASSWORD"] == "secret-0"
    (ulimit,) = container._kwargs["ulimits"]
    assert (ulimit["Name"], ulimit["Soft"], ulimit["Hard"]) == ("nofile", 262144, 262144)


def test_wait_strategy_is_http_ping_with_the_configured_timeout(plan: ContainerPlan) -> None:
    strategy = build_container(plan, docker_client_kw=NO_ENGINE)._wait_strategy
    assert isinstance(strategy, HttpWaitStrategy)
    assert (strategy._port, strategy._path, strategy._startup_timeout) == (8123, "/ping", 90.0)
    assert strategy._response_predicate is not None
    assert strategy._response_predicate("Ok.\n") and not strategy._response_predicate("")


def test_no_repository_config_means_no_mounts_and_no_extra_env() -> None:
    plan = plan_container("img", None)
    assert plan.mounts == () and dict(plan.env) == {"CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT": "1"}


def test_broken_xml_is_one_line_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "users.d").mkdir()
    bad = tmp_path / "users.d" / "users.xml"
    bad.write_text("<clickhouse><users>", encoding="utf-8")
    assert [f for f, _ in config_files(tmp_path)] == [bad.resolve()]
    with pytest.raises(ConfigError, match=r"users\.xml: not valid XML .*clickhouse-server would not start"):
        env_names([bad])


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point docker-py and testcontainers at a socket that does not exist, whatever this machine has."""
    where = f"unix://{tmp_path}/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", where)
    return where


def test_without_an_engine_the_backend_is_unusable_with_the_reason(no_engine: str) -> None:
    with pytest.raises(EnvironmentUnusable) as caught:
        get_backend("docker", image="clickhouse/clickhouse-server:24.8", timeout_s=5, unknown_option=True)
    assert str(caught.value).startswith(f"no Docker engine reachable at {no_engine}: No such file or directory")


def test_check_with_docker_and_no_engine_exits_2_with_one_line(no_engine: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--backend", "docker", "--config", str(REPO / "pyproject.toml")], out, err)
    assert code == 2 and out.getvalue() == ""
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith(f"chconform: no Docker engine reachable at {no_engine}: ")


def test_startup_failure_carries_the_last_log_lines_and_a_hint(plan: ContainerPlan) -> None:
    text = startup_error(plan, TimeoutError("HTTP endpoint not ready within 90 seconds."),
                         "Code: 36. DB::Exception: bad listen_host | Application: shutting down")
    assert text.startswith("ClickHouse container clickhouse/clickhouse-server:24.8 did not become ready within 90s: "
                           "HTTP endpoint not ready within 90 seconds.;")
    assert "last log lines: Code: 36. DB::Exception: bad listen_host | Application: shutting down." in text
    assert "Hint: check the image tag" in text and "CHCONFORM_DOCKER_STARTUP_TIMEOUT" in text
    assert "\n" not in text


BASE = Inventory(
    databases=("default",),
    users=("chconform", "etl_writer"),
    settings_profiles=("default", "readonly"),
    quotas=("default",),
)


def test_reset_drops_only_what_was_created_after_start() -> None:
    now = Inventory(
        databases=("default", "zakaz"),
        tables=(("default", "t", "MergeTree"), ("default", "mv", "MaterializedView"),
                ("default", ".inner_id.123", "ReplacingMergeTree"), ("default", "d", "Dictionary")),
        users=("chconform", "etl_writer", "app"),
        roles=("role_bi_reader",),
        row_policies=(("p", "zakaz", "t"),),
        quotas=("default", "q"),
        settings_profiles=("default", "readonly", "prof"),
        functions=("f",),
    )
    assert reset_statements(BASE, now) == [
        "DROP TABLE IF EXISTS `default`.`mv` SYNC",  # views and dictionaries before the tables they read
        "DROP DICTIONARY IF EXISTS `default`.`d` SYNC",
        "DROP TABLE IF EXISTS `default`.`t` SYNC",
        "DROP DATABASE IF EXISTS `zakaz` SYNC",
        "DROP ROW POLICY IF EXISTS `p` ON `zakaz`.`t`",
        "DROP QUOTA IF EXISTS `q`",
        "DROP SETTINGS PROFILE IF EXISTS `prof`",
        "DROP ROLE IF EXISTS `role_bi_reader`",
        "DROP USER IF EXISTS `app`",
        "DROP FUNCTION IF EXISTS `f`",
    ]


def test_reset_of_an_untouched_instance_does_nothing_and_quotes_names() -> None:
    assert reset_statements(BASE, BASE) == []
    odd = Inventory(databases=("default", "we`ird"))
    assert reset_statements(BASE, odd) == ["DROP DATABASE IF EXISTS `we\\`ird` SYNC"]


def test_inventory_is_built_from_catalog_rows() -> None:
    rows = {
        "system.databases": [{"name": "default"}],
        "system.tables": [{"database": "default", "name": "t", "engine": "Memory"}],
        "system.users": [{"name": "b"}, {"name": "a"}],
        "system.row_policies": [{"short_name": "p", "database": "d", "table": "t"}],
    }
    inv = take_inventory(lambda sql: next((v for k, v in rows.items() if f"FROM {k}" in sql), []))
    assert inv == Inventory(databases=("default",), tables=(("default", "t", "Memory"),), users=("a", "b"),
                            row_policies=(("p", "d", "t"),))
