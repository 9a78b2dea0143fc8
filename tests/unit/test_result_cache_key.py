"""Every input of a source's cache key invalidates it: engine release, chconform's code, config, prelude, bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from chconform.checks import run as run_module
from chconform.checks.cache import ResultCache
from chconform.config import load_config

CANON = "CREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = MergeTree ORDER BY a;\n"


@dataclass(frozen=True)
class _Release:
    requirement: str


@dataclass
class _Backend:
    name: str = "embedded"
    release: _Release = _Release("chdb==3.3.0")
    hardening: str = "all"


def _config(tmp_path: Path, prelude: str = "CREATE DATABASE IF NOT EXISTS db", extra: str = ""):
    (tmp_path / "canon.sql").write_text(CANON, encoding="utf-8")
    (tmp_path / "other.sql").write_text(CANON, encoding="utf-8")
    (tmp_path / "chconform.toml").write_text(
        f'root = "."\ncanonical = "canon.sql"\nprelude = ["{prelude}"]\n{extra}\n'
        '[[source]]\npath = "canon.sql"\nrole = "dump"\n\n[[source]]\npath = "other.sql"\nrole = "init"\n',
        encoding="utf-8")
    return load_config(tmp_path / "chconform.toml")


def _key(config, backend=None, path: str = "other.sql") -> str | None:
    return run_module._source_key(ResultCache(Path("/nonexistent")), config, backend or _Backend(), config.source(path))


def test_the_same_inputs_give_the_same_key(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert _key(config) == _key(_config(tmp_path)) is not None


def test_source_bytes(tmp_path: Path) -> None:
    config = _config(tmp_path)
    before = _key(config)
    (tmp_path / "other.sql").write_text(CANON.replace("UInt8", "Int8"), encoding="utf-8")
    assert _key(config) != before
    assert _key(config, path="canon.sql") == _key(_config(tmp_path), path="canon.sql")


def test_engine_release_backend_and_hardening(tmp_path: Path) -> None:
    config = _config(tmp_path)
    keys = {_key(config, b) for b in (_Backend(), _Backend(release=_Release("chdb-core==26.9.0")),
                                      _Backend(name="docker"), _Backend(hardening="none"))}
    assert len(keys) == 4


def test_chconforms_own_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    before = _key(config)
    monkeypatch.setattr(run_module, "code_digest", lambda: "another build of chconform")
    assert _key(config) != before


def test_config_and_prelude(tmp_path: Path) -> None:
    base = _key(_config(tmp_path))
    assert _key(_config(tmp_path, extra="timeout_s = 7")) != base
    assert _key(_config(tmp_path, prelude="CREATE DATABASE IF NOT EXISTS db2")) != base


def test_an_unreadable_source_is_not_cached(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (tmp_path / "other.sql").unlink()
    assert _key(config) is None
