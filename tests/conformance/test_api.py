"""The Python API on the real engine: `check` and `path` give the CLI's verdicts as values."""

from __future__ import annotations

from pathlib import Path

import pytest

import chconform

pytestmark = pytest.mark.engine

CANON = "CREATE TABLE IF NOT EXISTS app.t\n(\n    id UInt64,\n    name String\n)\nENGINE = MergeTree\nORDER BY id;\n"


def config(tmp_path: Path, copy: str, step: str) -> Path:
    (tmp_path / "schema.sql").write_text(CANON, encoding="utf-8")
    (tmp_path / "copy.sql").write_text(copy, encoding="utf-8")
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "001_t.sql").write_text(step, encoding="utf-8")
    (tmp_path / "chconform.toml").write_text(
        'root = "."\ncanonical = "schema.sql"\nprelude = ["CREATE DATABASE IF NOT EXISTS app"]\nkey_tables = ["app.t"]\n'
        '[[source]]\npath = "schema.sql"\nmust_define = "all"\n[[source]]\npath = "copy.sql"\nmust_define = "all"\n'
        '[[path]]\nname = "up"\nsteps = ["steps"]\n', encoding="utf-8")
    return tmp_path / "chconform.toml"


def test_check_and_path_return_verdicts(tmp_path: Path) -> None:
    drifted = CANON.replace("ORDER BY id", "ORDER BY (id, name)")
    conf = config(tmp_path, drifted, CANON)
    result = chconform.check(conf, jobs=1)
    verdicts = {s.path: s.ok for s in result.sources}
    assert verdicts == {"schema.sql": True, "copy.sql": False}
    copy = next(s for s in result.sources if s.path == "copy.sql")
    assert "sorting_key" in {d.aspect for d in copy.differences}
    [up] = chconform.path(conf, name="up")
    assert up.name == "up" and up.reaches_canon and not up.data_loss
