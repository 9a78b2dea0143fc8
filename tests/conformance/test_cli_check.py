"""`chconform check` end to end on the repository and on drifted copies of it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chconform.cli import run

from .repo_copy import REPO, copy_sources, replace_once

pytestmark = pytest.mark.engine

INVENTORY = "CREATE TABLE IF NOT EXISTS zakaz.fact_qtickets_inventory\n(\n    event_id String,\n    city LowCardinality(String),"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run([*argv, "--backend", "embedded"] if argv[:1] == ("check",) else list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_repository_conforms() -> None:
    code, out, err = cli("check", "--config", str(REPO / "pyproject.toml"))
    assert code == 0, out + err
    assert "conforms" in out
    for table in ("zakaz.dim_events", "zakaz.fact_qtickets_sales_daily"):
        row = next(line for line in out.splitlines() if line.startswith(table))
        assert "differs" not in row and "identical" in row


def test_changed_column_type_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = copy_sources(tmp_path / "copy")
    monkeypatch.chdir(config.parent)  # no git checkout around the copy: paths are relative to the current folder
    replace_once(config.parent / "migrations/2025-qtickets-api.sql", INVENTORY, INVENTORY.replace("LowCardinality(String)", "String"))
    code, out, _ = cli("check", "--config", str(config))
    assert code == 1
    # the column's own line (62), not its table's CREATE (59)
    assert ("migrations/2025-qtickets-api.sql:62  zakaz.fact_qtickets_inventory.city  "
            "column_type: LowCardinality(String) → String") in out
    code, out, _ = cli("check", "--config", str(config), "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    bad = [s for s in report["sources"] if not s["ok"]]
    assert [s["path"] for s in bad] == ["migrations/2025-qtickets-api.sql"]
    assert bad[0]["differences"] == [
        {"object": "zakaz.fact_qtickets_inventory", "aspect": "column_type", "column": "city",
         "canonical": "LowCardinality(String)", "actual": "String", "line": 62, "check": "canonical",
         "rule": "column_type", "severity": "error",
         "hint": "Use the canonical type (`chconform plan` prints the ALTER)."}
    ]
    assert report["schema_version"] == 2 and report["tool"]["name"] == "chconform"
    assert bad[0]["tables"]["zakaz.fact_qtickets_inventory"] == "differs"


def test_changed_order_by_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = copy_sources(tmp_path / "copy")
    monkeypatch.chdir(config.parent)
    replace_once(config.parent / "init.sql", "ORDER BY event_id\n", "ORDER BY (event_id, city)\n")
    code, out, _ = cli("check", "--config", str(config), "--format", "json")
    assert code == 1
    bad = [s for s in json.loads(out)["sources"] if not s["ok"]]
    assert [s["path"] for s in bad] == ["init.sql"]
    aspects = {(d["object"], d["aspect"]) for d in bad[0]["differences"]}
    assert aspects == {("zakaz.dim_events", "sorting_key")}  # the implicit PRIMARY KEY is not a second finding


def test_failing_statement_reports_file_line_and_clickhouse_message(tmp_path: Path) -> None:
    config = copy_sources(tmp_path / "copy")
    replace_once(config.parent / "init_integrations.sql", "spend Float64", "spend Floatt64")
    code, out, _ = cli("check", "--config", str(config))
    assert code == 1
    lines = [l.strip() for l in out.splitlines() if "UNKNOWN_TYPE" in l]
    # the statement's own line (the CREATE of zakaz.stg_vk_ads_daily starts at line 23), its round and the engine's
    # own error, written out: nothing here is read back from the output it checks
    assert lines == ["init_integrations.sql:23  round 1  error 50 UNKNOWN_TYPE: Unknown data type family: Floatt64. "
                     "Maybe you meant: ['Float64','Float32'].  [CREATE TABLE IF NOT EXISTS zakaz.stg_vk_ads_daily]"], out


def test_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "chconform.toml"
    bad.write_text('root = "."\ncanonical = "x.sql"\nbogus = 1\n', encoding="utf-8")
    code, out, err = cli("check", "--config", str(bad))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "unknown key 'bogus'" in err


def test_inventory_catches_an_unconfigured_file(tmp_path: Path) -> None:
    from chconform.config import load_config
    from chconform.checks.inventory import unconfigured_sources

    config = copy_sources(tmp_path / "copy")
    assert unconfigured_sources(load_config(config)) == []
    (config.parent / "migrations" / "2026-new.sql").write_text(
        "-- CREATE TABLE in a comment does not count\ncreate table if not exists zakaz.t (a String) ENGINE = Memory;\n")
    (config.parent / "notes.sql").write_text("-- CREATE TABLE zakaz.x\nSELECT 'CREATE TABLE';\n")
    assert unconfigured_sources(load_config(config)) == ["migrations/2026-new.sql"]
