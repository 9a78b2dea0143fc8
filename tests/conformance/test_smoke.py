"""`chconform smoke` on a bootstrapped persistent target: the dry run writes nothing and still catches breakage."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from chconform.evidence.bootstrap import load_target, open_target
from chconform.cli import run
from chconform.config import load_config

from .repo_copy import REPO, copy_sources

pytestmark = pytest.mark.engine

PAYLOADS = REPO / "tests" / "data" / "qtickets"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(config, env file) of a copy of infra/clickhouse, bootstrapped once into a data directory in tmp."""
    for key in ("CHCONFORM_TARGET", "CHCONFORM_DATA_DIR"):
        monkeypatch.delenv(key, raising=False)
    config = copy_sources(tmp_path / "copy")
    env = tmp_path / "test.env"
    env.write_text(f"CHCONFORM_DATA_DIR={tmp_path / 'data'}\n", encoding="utf-8")
    code, out, err = cli("bootstrap", "--config", str(config), "--env-file", str(env))
    assert code == 0, out + err
    return config, env


def smoke(config: Path, env: Path, *extra: str, payloads: Path = PAYLOADS) -> tuple[int, str, str]:
    return cli("smoke", "--config", str(config), "--env-file", str(env), "--payloads", str(payloads), *extra)


def on_target(config: Path, env: Path, sql: str) -> list[dict[str, object]]:
    session = open_target(load_target(load_config(config), env), start=False)
    try:
        if sql.startswith("SELECT"):
            return session.query(sql)
        session.execute(sql)
        return []
    finally:
        session.close()


def count(config: Path, env: Path, table: str) -> int:
    return int(on_target(config, env, f"SELECT count() AS n FROM {table}")[0]["n"])  # type: ignore[call-overload]


def test_dry_run_passes_logs_both_counts_and_writes_nothing(target: tuple[Path, Path]) -> None:
    config, env = target
    on_target(config, env, "INSERT INTO zakaz.meta_job_runs (job, started_at, finished_at, status) VALUES ('etl', now(), now(), 'ok')")
    code, out, err = smoke(config, env, "--dry-run")
    assert code == 0, out + err
    assert "zakaz.meta_job_runs count before: 1" in out and "zakaz.meta_job_runs count after: 1 (unchanged: yes)" in out
    for name in ("zakaz.dim_events", "zakaz.fact_qtickets_inventory_latest", "zakaz.v_qtickets_inventory",
                 "zakaz.v_qtickets_sales_dashboard", "zakaz.v_qtickets_freshness", "zakaz.mv_qtickets_sales_latest"):
        assert f"OK    {name}: SELECT * LIMIT 0" in out and f"OK    {name}: SELECT * LIMIT 1" in out
    assert re.search(r"OK    payload .*orders\.json as zakaz\.stg_qtickets_api_orders_raw: 3 rows parse", out)
    assert count(config, env, "zakaz.stg_qtickets_api_orders_raw") == 0
    assert count(config, env, "zakaz.meta_job_runs") == 1


def test_without_dry_run_rows_are_written_and_the_materialized_view_sees_them(target: tuple[Path, Path]) -> None:
    config, env = target
    code, out, err = smoke(config, env)
    assert code == 0, out + err
    assert "OK    zakaz.mv_qtickets_sales_latest saw the rows written to zakaz.stg_qtickets_api_orders_raw" in out
    assert count(config, env, "zakaz.meta_job_runs") == 1
    assert count(config, env, "zakaz.stg_qtickets_api_orders_raw") == 3
    assert count(config, env, "zakaz.mv_qtickets_sales_latest") > 0


def test_a_view_reading_a_missing_column_fails_the_dry_run(target: tuple[Path, Path]) -> None:
    config, env = target
    on_target(config, env, "ALTER TABLE zakaz.fact_qtickets_inventory_latest DROP COLUMN tickets_left")
    code, out, _ = smoke(config, env, "--dry-run")
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert any("zakaz.v_qtickets_inventory" in line and "tickets_left" in line for line in failed)
    assert out.rstrip().endswith("=> FAILED")


def test_a_drifted_live_type_fails_the_payload_validation(target: tuple[Path, Path], tmp_path: Path) -> None:
    config, env = target
    on_target(config, env, "ALTER TABLE zakaz.stg_qtickets_api_orders_raw MODIFY COLUMN tickets_sold UInt8")
    big = json.loads((PAYLOADS / "orders.json").read_text(encoding="utf-8"))
    big["rows"][0]["tickets_sold"] = 300  # fits the canonical UInt32, not the drifted UInt8
    folder = tmp_path / "payloads"
    folder.mkdir()
    (folder / "orders.json").write_text(json.dumps(big), encoding="utf-8")
    code, out, _ = smoke(config, env, "--dry-run", payloads=folder)
    assert code == 1
    line = next(ln for ln in out.splitlines() if ln.startswith("FAIL") and "orders.json" in ln)
    assert "tickets_sold" in line and "300" in line


def test_a_missing_table_fails_and_a_missing_job_table_fails_the_count(target: tuple[Path, Path]) -> None:
    config, env = target
    on_target(config, env, "DROP TABLE zakaz.meta_job_runs")
    code, out, _ = smoke(config, env, "--dry-run")
    assert code == 1
    assert "FAIL  zakaz.meta_job_runs: absent on the target" in out


def test_missing_payload_folder_is_one_line(target: tuple[Path, Path], tmp_path: Path) -> None:
    config, env = target
    code, out, err = smoke(config, env, "--dry-run", payloads=tmp_path / "none")
    assert code == 2 and out == "" and err.count("\n") == 1 and "payload folder not found" in err


def test_a_repository_that_configures_nothing_gets_the_generic_smoke(tmp_path: Path) -> None:
    """No job table, no payloads: every key table and view is read, no row count may change, nothing else."""
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.sql").write_text(
        "CREATE DATABASE IF NOT EXISTS shop;\n"
        "CREATE TABLE IF NOT EXISTS shop.orders (id UInt64, total Float64) ENGINE = MergeTree ORDER BY id;\n"
        "CREATE VIEW IF NOT EXISTS shop.v_total AS SELECT sum(total) AS total FROM shop.orders;\n", encoding="utf-8")
    config = tmp_path / "chconform.toml"
    config.write_text('root = "db"\ncanonical = "schema.sql"\nkey_tables = ["shop.orders"]\n'
                      '[[source]]\npath = "schema.sql"\n', encoding="utf-8")
    env = tmp_path / "t.env"
    env.write_text(f"CHCONFORM_DATA_DIR={tmp_path / 'data'}\n", encoding="utf-8")
    assert cli("bootstrap", "--config", str(config), "--env-file", str(env))[0] == 0
    code, out, err = cli("smoke", "--config", str(config), "--env-file", str(env), "--dry-run")
    assert code == 0, out + err
    assert "OK    shop.orders: SELECT * LIMIT 1" in out and "OK    shop.v_total: SELECT * LIMIT 1" in out
    assert "no payload folder" in out and "meta_job_runs" not in out
    assert out.rstrip().endswith("=> OK") and " count " not in out.splitlines()[-1]
    on_target(config, env, "ALTER TABLE shop.orders DROP COLUMN total")  # the view now reads a missing column
    code, out, _ = cli("smoke", "--config", str(config), "--env-file", str(env), "--dry-run")
    assert code == 1 and "FAIL  shop.v_total" in out
