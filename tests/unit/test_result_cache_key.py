"""Every input of a source's cache key invalidates it: engine (backend, release, image, hardening, server profile),
chconform's code, the config file ([variables], [settings], [macros], timeout), the prelude and the source's bytes;
and the CLI's cached path computes the very key a started backend would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from chconform.checks import cached as cached_module
from chconform.checks.cache import ResultCache
from chconform.checks.cached import backend_identity, engine_identity, final_key, source_key
from chconform.config import Config, load_config

CANON = "CREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = MergeTree ORDER BY a;\n"
CACHE = ResultCache(Path("/nonexistent"))


@dataclass(frozen=True)
class _Release:
    requirement: str


@dataclass(frozen=True)
class _Hardening:
    landlock: bool = True


@dataclass
class _Backend:
    name: str = "embedded"
    release: _Release = _Release("chdb==3.3.0")
    hardening: _Hardening = _Hardening()
    server: str = "profile"


def _config(tmp_path: Path, prelude: str = "CREATE DATABASE IF NOT EXISTS db", extra: str = "") -> Config:
    (tmp_path / "canon.sql").write_text(CANON, encoding="utf-8")
    (tmp_path / "other.sql").write_text(CANON, encoding="utf-8")
    (tmp_path / "chconform.toml").write_text(
        f'root = "."\ncanonical = "canon.sql"\nprelude = ["{prelude}"]\n{extra}\n'
        '[[source]]\npath = "canon.sql"\nrole = "dump"\n\n[[source]]\npath = "other.sql"\nrole = "init"\n',
        encoding="utf-8")
    return load_config(tmp_path / "chconform.toml")


def _key(config: Config, backend: _Backend | None = None, path: str = "other.sql") -> str | None:
    return source_key(CACHE, config, backend_identity(backend or _Backend(), config), config.source(path))


def test_the_same_inputs_give_the_same_key(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert _key(config) == _key(_config(tmp_path)) is not None


def test_source_bytes(tmp_path: Path) -> None:
    config = _config(tmp_path)
    before = _key(config)
    (tmp_path / "other.sql").write_text(CANON.replace("UInt8", "Int8"), encoding="utf-8")
    assert _key(config) != before
    assert _key(config, path="canon.sql") == _key(_config(tmp_path), path="canon.sql")  # the others' stay


def test_engine_release_backend_hardening_and_server_profile(tmp_path: Path) -> None:
    config = _config(tmp_path)
    backends = (_Backend(), _Backend(release=_Release("chdb-core==26.9.0")), _Backend(release=_Release("chdb==3.7.2")),
                _Backend(name="docker"), _Backend(hardening=_Hardening(landlock=False)), _Backend(server="another"))
    assert len({_key(config, b) for b in backends}) == len(backends)


def test_default_hardening_is_named_once(tmp_path: Path) -> None:
    """A backend with every layer on (the CLI's) and a cached path that never built one agree."""
    config = _config(tmp_path)
    assert backend_identity(_Backend(), config) == engine_identity("embedded", "chdb==3.3.0", config.image, "",
                                                                     repr("profile"))


def test_image(tmp_path: Path) -> None:
    assert _key(_config(tmp_path, extra='image = "clickhouse/clickhouse-server:25.3"')) != _key(_config(tmp_path))


def test_chconforms_own_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    before = _key(config)
    monkeypatch.setattr(cached_module, "code_digest", lambda: "another build of chconform")
    assert _key(config) != before


@pytest.mark.parametrize("extra", [
    "timeout_s = 7",
    "max_source_mb = 3",
    '[variables]\nDB = "db"',
    '[settings]\nmax_block_size = 1000',
    '[macros]\nshard = "02"',
    '[rules]\nengine = "warning"',
])
def test_every_config_table(tmp_path: Path, extra: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    base = _key(_config(tmp_path / "a"))
    assert _key(_config(tmp_path / "b", extra=extra)) != base


def test_a_variables_value(tmp_path: Path) -> None:
    one = _key(_config(tmp_path, extra='[variables]\nDB = "db"'))
    assert _key(_config(tmp_path, extra='[variables]\nDB = "db2"')) != one


def test_prelude(tmp_path: Path) -> None:
    base = _key(_config(tmp_path))
    assert _key(_config(tmp_path, prelude="CREATE DATABASE IF NOT EXISTS db2")) != base


def test_a_prelude_file_changing(tmp_path: Path) -> None:
    (tmp_path / "pre.sql").write_text("CREATE DATABASE IF NOT EXISTS db;\n", encoding="utf-8")
    base = _key(_config(tmp_path, prelude="pre.sql"))
    (tmp_path / "pre.sql").write_text("CREATE DATABASE IF NOT EXISTS db ENGINE = Atomic;\n", encoding="utf-8")
    assert _key(_config(tmp_path, prelude="pre.sql")) != base


def test_the_compared_result_follows_the_canon(tmp_path: Path) -> None:
    config = _config(tmp_path)
    keys = {p: _key(config, path=p) for p in ("canon.sql", "other.sql")}
    before = final_key(CACHE, keys, "other.sql", "canon.sql")
    (tmp_path / "canon.sql").write_text(CANON.replace("UInt8", "Int8"), encoding="utf-8")
    changed = {p: _key(config, path=p) for p in ("canon.sql", "other.sql")}
    assert changed["other.sql"] == keys["other.sql"]  # the other source's build stays cached
    assert final_key(CACHE, changed, "other.sql", "canon.sql") != before  # its comparison does not


def test_an_unreadable_source_is_not_cached(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (tmp_path / "other.sql").unlink()
    assert _key(config) is None
    assert final_key(CACHE, {"other.sql": None, "canon.sql": "k"}, "other.sql", "canon.sql") is None


def test_the_cli_cached_path_keys_as_the_started_backend(tmp_path: Path) -> None:
    """The CLI computes the embedded backend's identity before starting it; it must equal the started one's."""
    from chconform.engines.embedded import EmbeddedBackend
    from chconform.engines.releases import NEWEST, get_release
    from chconform.engines.server_defaults import profile_for

    config = _config(tmp_path, extra='[macros]\nshard = "07"')
    server = profile_for(config)
    backend = EmbeddedBackend(prestart=False, engine=NEWEST, server=server, timeout_s=config.timeout_s)
    try:
        expected = engine_identity("embedded", get_release(NEWEST).requirement, config.image, "", repr(server))
        assert backend_identity(backend, config) == expected
    finally:
        backend.close()
