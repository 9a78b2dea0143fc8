"""Pointed at another repository's SQL with a config file: real differences with file attribution."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chconform.cli import run

pytestmark = pytest.mark.engine

CONFIG = Path(__file__).resolve().parents[1] / "data" / "other_repo" / "chconform.toml"


def test_other_repository_differences_and_failures() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", "--config", str(CONFIG), "--format", "json", "--backend", "embedded"], out, err) == 1, err.getvalue()
    report = json.loads(out.getvalue())
    # paths as the repository names them, so an editor or a CI annotation opens them
    migrate = next(s for s in report["sources"] if s["path"] == "tests/data/other_repo/sql/migrate.sql")
    found = {(d["object"], d["column"], d["aspect"], d["canonical"], d["actual"], d["line"]) for d in migrate["differences"]}
    assert found == {
        ("default.events", "ts", "column_type", "DateTime", "DateTime64(3)", 1),
        ("default.events", "kind", "column_type", "LowCardinality(String)", "String", 1),
        ("default.events", "extra", "column_extra", "absent", "extra String", 2),  # added by the ALTER on line 2
    }
    (error,) = migrate["errors"]
    assert (error["round"], error["line"], error["name"]) == (2, 2, "DUPLICATE_COLUMN")
    assert "Cannot add column `extra`" in error["message"]
    assert [s["ok"] for s in report["sources"]] == [True, False]
