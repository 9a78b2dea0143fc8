"""`chconform bootstrap` on a persistent embedded target (a chDB data directory in tmp): twice, and when it must refuse."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from chconform.evidence.bootstrap import load_target, open_target
from chconform.cli import run
from chconform.config import load_config
from chconform.schema.snapshot import take_snapshot

from .repo_copy import copy_sources, replace_once

pytestmark = pytest.mark.engine

DIM_EVENTS = "CREATE TABLE IF NOT EXISTS zakaz.dim_events\n"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(config, env file) of a copy of infra/clickhouse whose target is a data directory in tmp."""
    for key in ("CHCONFORM_TARGET", "CHCONFORM_DATA_DIR"):
        monkeypatch.delenv(key, raising=False)
    config = copy_sources(tmp_path / "copy")
    env = tmp_path / "test.env"
    env.write_text(f"CHCONFORM_TARGET=embedded\nCHCONFORM_DATA_DIR={tmp_path / 'data'}\n", encoding="utf-8")
    return config, env


def bootstrap(config: Path, env: Path, *extra: str) -> tuple[int, str, str]:
    return cli("bootstrap", "--config", str(config), "--env-file", str(env), *extra)


def on_target(config: Path, env: Path, *sql: str) -> list[list[dict[str, object]]]:
    session = open_target(load_target(load_config(config), env), start=False)
    try:
        out = []
        for statement in sql:
            if statement.lstrip().upper().startswith(("SELECT", "DESCRIBE")):
                out.append(session.query(statement))
            else:
                session.execute(statement)
                out.append([])
        return out
    finally:
        session.close()


def snapshot(config: Path, env: Path):  # type: ignore[no-untyped-def]
    session = open_target(load_target(load_config(config), env), start=False)
    try:
        return take_snapshot(session.query)
    finally:
        session.close()


def test_twice_on_the_same_data_directory_succeeds_and_changes_nothing(copy: tuple[Path, Path]) -> None:
    config, env = copy
    code, first, err = bootstrap(config, env)
    assert code == 0, first + err
    assert "bootstrap_schema.sql:" in first and " OK " in first
    skipped = [line for line in first.splitlines() if " SKIPPED " in line]
    assert skipped and all(line.startswith("bootstrap_all.sql:") for line in skipped)  # roles and grants, listed
    assert "access control needs a server" in skipped[0]
    assert first.rstrip().endswith("=> OK")
    before = snapshot(config, env)
    on_target(config, env, "INSERT INTO zakaz.dim_events (event_id, event_name, city, _ver) VALUES ('e1', 'n', 'c', 1)")
    code, second, err = bootstrap(config, env)
    assert code == 0, second + err
    assert snapshot(config, env) == before
    assert on_target(config, env, "SELECT count() AS n FROM zakaz.dim_events")[0][0]["n"] in (1, "1")


def test_a_non_idempotent_statement_fails_the_second_run_naming_file_and_line(copy: tuple[Path, Path]) -> None:
    config, env = copy
    canon = config.parent / "bootstrap_schema.sql"
    canon.write_text(canon.read_text(encoding="utf-8")
                     + "\nCREATE TABLE zakaz.probe (a String) ENGINE = MergeTree ORDER BY a;\n", encoding="utf-8")
    line = canon.read_text(encoding="utf-8").splitlines().index("CREATE TABLE zakaz.probe (a String) ENGINE = MergeTree ORDER BY a;") + 1
    assert bootstrap(config, env)[0] == 0
    code, out, _ = bootstrap(config, env)
    assert code == 1
    failed = [ln for ln in out.splitlines() if " FAILED " in ln]
    assert len(failed) == 1 and failed[0].startswith(f"bootstrap_schema.sql:{line} ")
    assert "TABLE_ALREADY_EXISTS" in failed[0]
    assert out.rstrip().endswith("=> FAILED")


def test_a_drop_of_a_table_holding_rows_is_refused_and_the_rows_stay(copy: tuple[Path, Path]) -> None:
    config, env = copy
    replace_once(config.parent / "bootstrap_schema.sql", DIM_EVENTS, "DROP TABLE IF EXISTS zakaz.dim_events;\n" + DIM_EVENTS)
    code, first, _ = bootstrap(config, env)
    assert code == 0, first  # the table did not exist yet: nothing to lose
    assert "drop_in_dump" in first  # but the dump rule is called out
    on_target(config, env, "INSERT INTO zakaz.dim_events (event_id, event_name, city, _ver) VALUES ('e1', 'n', 'c', 1)")
    code, second, _ = bootstrap(config, env)
    assert code == 1
    refused = [ln for ln in second.splitlines() if " REFUSED " in ln]
    assert len(refused) == 1 and "zakaz.dim_events (1 row)" in refused[0] and "--allow-destructive" in refused[0]
    assert on_target(config, env, "SELECT count() AS n FROM zakaz.dim_events")[0][0]["n"] in (1, "1")
    code, third, _ = bootstrap(config, env, "--allow-destructive")
    assert code == 0, third  # the user asked for it
    assert on_target(config, env, "SELECT count() AS n FROM zakaz.dim_events")[0][0]["n"] in (0, "0")


def test_a_truncate_of_a_table_holding_rows_is_refused(copy: tuple[Path, Path]) -> None:
    config, env = copy
    assert bootstrap(config, env)[0] == 0
    canon = config.parent / "bootstrap_schema.sql"
    canon.write_text(canon.read_text(encoding="utf-8") + "\nTRUNCATE TABLE zakaz.meta_job_runs;\n", encoding="utf-8")
    on_target(config, env, "INSERT INTO zakaz.meta_job_runs (job, started_at, finished_at, status) "
                           "VALUES ('j', now(), now(), 'ok'), ('j', now(), now(), 'ok')")
    code, out, _ = bootstrap(config, env)
    assert code == 1 and "zakaz.meta_job_runs (2 rows)" in out
    assert on_target(config, env, "SELECT count() AS n FROM zakaz.meta_job_runs")[0][0]["n"] in (2, "2")


def test_bad_env_file_is_one_line(copy: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = copy
    bad = tmp_path / "bad.env"
    bad.write_text("CHCONFORM_TARGET=production\n", encoding="utf-8")
    code, out, err = bootstrap(config, bad)
    assert code == 2 and out == "" and err.count("\n") == 1 and "use embedded or compose" in err


def test_compose_without_a_docker_engine_is_one_line(copy: tuple[Path, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    config, _ = copy
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    (fake / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    env = tmp_path / "compose.env"
    env.write_text("CHCONFORM_TARGET=compose\nCLICKHOUSE_PASSWORD=x\n", encoding="utf-8")
    code, _, err = bootstrap(config, env)
    assert code == 2 and err.count("\n") == 1
    assert "no Docker engine reachable (Cannot connect to the Docker daemon)" in err


def test_the_default_data_directory_in_a_git_repository_stays_out_of_git_status(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    for key in ("CHCONFORM_TARGET", "CHCONFORM_DATA_DIR"):
        monkeypatch.delenv(key, raising=False)
    repo = tmp_path / "user-repo"
    config = copy_sources(repo / "db")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)
    code, out, err = cli("bootstrap", "--config", str(config))
    assert code == 0, out + err
    assert (repo / "db" / "data").is_dir() and any((repo / "db" / "data").iterdir())  # the engine wrote its files
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    assert status == ""


def test_a_second_bootstrap_on_a_held_data_directory_is_one_line(copy: tuple[Path, Path], tmp_path: Path) -> None:
    from chconform.evidence.runtime import hold

    config, env = copy
    with hold((tmp_path / "data").resolve(), "chconform evidence"):
        code, out, err = bootstrap(config, env)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "in use by chconform evidence (pid" in err and "--wait SECONDS" in err
    code, out, err = bootstrap(config, env)  # released: the next run gets it
    assert code == 0, out + err
