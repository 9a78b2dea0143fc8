"""Pure parts of `chconform bootstrap`: the env file, the target, the plan, destructive statements (no engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chconform.evidence.bootstrap import (
    BootstrapResult,
    StepOutcome,
    bootstrap_plan,
    compose_health,
    destructive_reason,
    load_target,
    parse_env,
    sql_ident,
    sql_string,
)
from chconform.config import load_config
from chconform.errors import ConfigError
from chconform.sql.source import split_statements

REPO = Path(__file__).resolve().parents[2]


def test_parse_env_reads_what_docker_compose_reads() -> None:
    text = "# comment\n\nA=1\nexport B = two\nC=\"quoted # not a comment\"\nD='x'\nE=value # trailing comment\nF=\n"
    assert parse_env(text, ".env") == {"A": "1", "B": "two", "C": "quoted # not a comment", "D": "x", "E": "value",
                                       "F": ""}


def test_parse_env_bad_line_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"^\.env:2: expected KEY=VALUE"):
        parse_env("A=1\nnot a setting\n", ".env")


TEST_PASSWORD = "test-only-" + "value"  # a throwaway value, never a real password


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for key in ("CHCONFORM_TARGET", "CHCONFORM_DATA_DIR", "CLICKHOUSE_PASSWORD", "CLICKHOUSE_USER"):
        monkeypatch.delenv(key, raising=False)
    return load_config(REPO / "pyproject.toml")


def test_default_target_is_embedded_in_the_repo_data_dir(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "e.env"
    env.write_text(f"CLICKHOUSE_PASSWORD={TEST_PASSWORD}\n")
    target = load_target(config, env)
    assert target.kind == "embedded"
    assert target.data_dir == (REPO / "infra" / "clickhouse" / "data").resolve()
    assert target.label() == f"embedded ClickHouse {config.engine} (chDB data directory infra/clickhouse/data)"
    assert TEST_PASSWORD not in repr(target)  # the password never reaches a log through repr


def test_env_file_names_target_and_data_dir(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "e.env"
    env.write_text("CHCONFORM_TARGET=compose\nCHCONFORM_DATA_DIR=somewhere/else\n")
    target = load_target(config, env)
    assert target.kind == "compose" and target.data_dir == (REPO / "somewhere" / "else").resolve()
    assert target.label().startswith("compose (infra/clickhouse/docker-compose.yml")


def test_unknown_target_and_missing_env_file_are_one_line_errors(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "e.env"
    env.write_text("CHCONFORM_TARGET=prod\n")
    with pytest.raises(ConfigError, match="CHCONFORM_TARGET='prod'; use embedded or compose"):
        load_target(config, env)
    with pytest.raises(ConfigError, match="env file not found"):
        load_target(config, tmp_path / "none.env")


def test_plan_is_the_canonical_ddl_then_only_the_access_statements(config) -> None:  # type: ignore[no-untyped-def]
    plan, notes = bootstrap_plan(config)
    files = [source.path for source, _ in plan]
    assert files[0] == "bootstrap_schema.sql" and files[-1] == "bootstrap_all.sql"
    assert files == sorted(files, key=lambda f: f != "bootstrap_schema.sql")  # all canonical statements first
    access = [stmt for source, stmt in plan if source.path == "bootstrap_all.sql"]
    assert access and all(stmt.kind == "access" for stmt in access)
    assert notes == []  # the canonical dump has no DROP


@pytest.mark.parametrize(
    ("sql", "destructive"),
    [
        ("DROP TABLE IF EXISTS zakaz.t", True),
        ("TRUNCATE TABLE zakaz.t", True),
        ("DROP DATABASE zakaz", True),
        ("CREATE OR REPLACE TABLE zakaz.t (a String) ENGINE = Memory", True),
        ("ALTER TABLE zakaz.t DROP COLUMN a", True),
        ("ALTER TABLE zakaz.t MODIFY COLUMN a UInt8", True),
        ("ALTER TABLE zakaz.t ADD COLUMN IF NOT EXISTS b String", False),
        ("CREATE TABLE IF NOT EXISTS zakaz.t (a String) ENGINE = Memory", False),
        ("CREATE OR REPLACE VIEW zakaz.v AS SELECT 1", False),
        ("GRANT SELECT ON zakaz.* TO r", False),
    ],
    ids=lambda v: str(v),
)
def test_destructive_statements_are_recognised(sql: str, destructive: bool) -> None:
    (stmt,) = split_statements(sql)
    assert (destructive_reason(stmt) is not None) is destructive


def test_result_is_ok_only_when_every_statement_ran_or_was_skipped() -> None:
    ok = StepOutcome("a.sql", 1, "CREATE …", "ok")
    skipped = StepOutcome("b.sql", 2, "GRANT …", "skipped", "access control needs a server")
    refused = StepOutcome("a.sql", 3, "DROP …", "refused", "would destroy data")
    assert BootstrapResult("t", "v", (ok, skipped)).ok
    assert not BootstrapResult("t", "v", (ok, refused)).ok
    assert not BootstrapResult("t", "v", ()).ok
    summary = BootstrapResult("t", "v", (ok, skipped, refused)).summary()
    assert summary == ("bootstrap: 3 statements: 1 ok, 0 failed, 1 refused, 1 skipped: "
                       "access control needs a server => FAILED")
    assert refused.log_line(6).startswith("a.sql:3  REFUSED")


def test_compose_health_reads_both_output_shapes() -> None:
    line = json.dumps({"Service": "ch-zakaz", "State": "running", "Health": "starting"})
    assert compose_health(line) == {"ch-zakaz": "starting"}
    assert compose_health(json.dumps([{"Service": "ch-zakaz", "Health": "healthy"}])) == {"ch-zakaz": "healthy"}
    assert compose_health("") == {}


def test_sql_quoting() -> None:
    assert sql_string("it's a \\ path") == "'it\\'s a \\\\ path'"
    assert sql_ident("zakaz.odd`name") == "`zakaz`.`odd``name`"
