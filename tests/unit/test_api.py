"""The Python API: the CLI's verdicts as values (no engine here: the static one, and its bad-input errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

import chconform
from chconform.config import load_config
from chconform.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
CANON = "CREATE TABLE IF NOT EXISTS app.t\n(\n    id UInt64,\n    name String\n)\nENGINE = MergeTree\nORDER BY id;\n"


def tiny(tmp_path: Path, other: str) -> Path:
    (tmp_path / "schema.sql").write_text(CANON, encoding="utf-8")
    (tmp_path / "copy.sql").write_text(other, encoding="utf-8")
    (tmp_path / "chconform.toml").write_text(
        'root = "."\ncanonical = "schema.sql"\nprelude = ["CREATE DATABASE IF NOT EXISTS app"]\nkey_tables = ["app.t"]\n'
        '[[source]]\npath = "schema.sql"\nmust_define = "all"\n[[source]]\npath = "copy.sql"\nmust_define = "all"\n',
        encoding="utf-8")
    return tmp_path / "chconform.toml"


def test_validate_returns_the_static_report_of_this_repository() -> None:
    report = chconform.validate(REPO / "pyproject.toml")
    assert report.ok and {s.path for s in report.sources} >= {"bootstrap_schema.sql", "init.sql"}


def test_validate_reports_a_drift_as_a_value_not_an_exception(tmp_path: Path) -> None:
    config = tiny(tmp_path, CANON.replace("name String", "name LowCardinality(String)"))
    report = chconform.validate(str(config))
    assert not report.ok
    drifted = next(s for s in report.sources if s.path == "copy.sql")
    assert [(d.object, d.aspect, d.column) for d in drifted.differences] == [("app.t", "column_type", "name")]
    assert chconform.validate(load_config(config)) == report  # a loaded Config is accepted as well


def test_bad_input_raises_the_clis_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        chconform.validate(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="no upgrade path nope configured"):
        chconform.path(tiny(tmp_path, CANON), name="nope")
    with pytest.raises(ConfigError, match="no source 'other.sql'"):
        chconform.check(tiny(tmp_path, CANON), sources=["other.sql"])


def test_the_package_exposes_exactly_the_api_and_nothing_else() -> None:
    assert {"check", "path", "validate"} <= set(chconform.__all__)
    with pytest.raises(AttributeError):
        chconform.compare  # noqa: B018  (not part of the API)
