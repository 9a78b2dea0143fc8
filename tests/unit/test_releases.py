"""The release registry and the engine cache: choosing, installing once, offline, failing in one line.

pip and the engine are stood in for by a small script (a fake interpreter), so these tests need no network;
tests/conformance/test_engine_matrix.py installs and runs the real packages.
"""

from __future__ import annotations

import json
import stat
import sys
import threading
from pathlib import Path

import pytest

from chconform.engines import releases
from chconform.engines.embedded import Hardening, engine_files
from chconform.engines.releases import NEWEST, RELEASES, get_release, installation, known_settings, resolve_engines
from chconform.errors import ConfigError, EnvironmentUnusable

# A stand-in interpreter: `-m pip install ... --target DIR REQ` writes a package named like REQ into DIR
# (and logs the call); `-c PROBE` prints the version and settings that $FAKE_VERSION says.
_FAKE = """#!{python}
import json, os, sys, time
args = sys.argv[1:]
log = os.environ["FAKE_LOG"]
if args[:3] == ["-m", "pip", "install"]:
    with open(log, "a") as fh:
        fh.write(" ".join(args) + "\\n")
    if os.environ.get("FAKE_FAIL"):
        sys.stderr.write("ERROR: Could not find a version that satisfies the requirement\\n")
        sys.exit(1)
    time.sleep(float(os.environ.get("FAKE_SLOW", "0")))
    target = args[args.index("--target") + 1]
    package, version = args[-1].split("==")
    os.makedirs(os.path.join(target, "chdb"))
    open(os.path.join(target, "chdb", "__init__.py"), "w").close()
    dist = os.path.join(target, package.replace("-", "_") + "-" + version + ".dist-info")
    os.makedirs(dist)
    open(os.path.join(dist, "RECORD"), "w").close()
    sys.exit(0)
if args[:1] == ["-c"]:
    sys.stdout.write(json.dumps([os.environ["FAKE_VERSION"], ["max_memory_usage", "readonly"]]))
    sys.exit(0)
sys.exit(3)
"""


@pytest.fixture
def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake-python"
    script.write_text(_FAKE.format(python=sys.executable), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "pip.log"))
    monkeypatch.setenv("FAKE_VERSION", RELEASES["24.8"].clickhouse)
    return script


def _pip_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "pip.log"
    return log.read_text().splitlines() if log.exists() else []


def test_registry_names_the_packages_of_each_release() -> None:
    assert RELEASES["24.8"].requirement == "chdb==3.3.0"
    assert RELEASES["25.8"].requirement == "chdb==3.7.2"
    assert RELEASES["26.9"].requirement == "chdb-core==26.9.0"
    assert NEWEST == "26.9" and RELEASES[NEWEST].clickhouse.startswith("26.9")


def test_unknown_release_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        get_release("23.3", "--engine")
    text = str(caught.value)
    assert "\n" not in text and "'23.3'" in text and "24.8, 25.8, 26.9" in text and text.startswith("--engine")


def test_resolve_engines_prefers_the_command_line_and_keeps_order_once() -> None:
    assert [r.name for r in resolve_engines(["26.9", "24.8", "26.9"], ["25.8"])] == ["26.9", "24.8"]
    assert [r.name for r in resolve_engines(None, ["25.8"])] == ["25.8"]
    assert [r.name for r in resolve_engines(None)] == [NEWEST]


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CHCONFORM_ENGINE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert releases.cache_dir() == tmp_path / "xdg" / "chconform" / "engines"
    monkeypatch.setenv("CHCONFORM_ENGINE_CACHE", str(tmp_path / "mine"))
    assert releases.cache_dir() == tmp_path / "mine"


def test_the_environments_own_release_needs_no_installation() -> None:
    assert installation(RELEASES[NEWEST]) is None  # the .venv's chdb-core is 26.9.0
    assert not releases.is_bundled(RELEASES["24.8"])


def test_first_use_installs_into_the_cache_atomically_and_once(fake_python: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    folder = installation(RELEASES["24.8"], cache=cache, python=str(fake_python))
    assert folder == str(cache / "24.8")
    calls = _pip_calls(tmp_path)
    assert len(calls) == 1 and "--no-deps" in calls[0] and calls[0].endswith("chdb==3.3.0")
    assert json.loads((cache / "24.8" / releases.MARKER).read_text())["clickhouse"] == RELEASES["24.8"].clickhouse
    assert known_settings(folder) == frozenset({"max_memory_usage", "readonly"})
    assert sorted(p.name for p in cache.iterdir()) == [".24.8.lock", "24.8"]  # no temporary folder left
    assert installation(RELEASES["24.8"], cache=cache, python=str(fake_python)) == folder
    assert len(_pip_calls(tmp_path)) == 1  # the second use installs nothing


def test_a_prefilled_cache_works_offline(tmp_path: Path) -> None:
    """A folder filled by `pip install --target` elsewhere is used as it is: no pip, no network."""
    folder = tmp_path / "cache" / "25.8"
    (folder / "chdb").mkdir(parents=True)
    (folder / "chdb" / "__init__.py").write_text("")
    (folder / "chdb-3.7.2.dist-info").mkdir()
    (folder / "chdb-3.7.2.dist-info" / "RECORD").write_text("")
    no_python = str(tmp_path / "no-such-python")  # any attempt to run pip would fail
    assert installation(RELEASES["25.8"], cache=tmp_path / "cache", python=no_python) == str(folder)


def test_an_outdated_installation_is_replaced(fake_python: Path, tmp_path: Path) -> None:
    """The folder holds another version of the package (the registry moved on): installed anew."""
    folder = tmp_path / "cache" / "24.8"
    (folder / "chdb").mkdir(parents=True)
    (folder / "chdb" / "__init__.py").write_text("")
    (folder / "chdb-3.1.0.dist-info").mkdir()
    (folder / "chdb-3.1.0.dist-info" / "RECORD").write_text("")
    installation(RELEASES["24.8"], cache=tmp_path / "cache", python=str(fake_python))
    assert len(_pip_calls(tmp_path)) == 1
    assert (folder / "chdb-3.3.0.dist-info").is_dir() and not (folder / "chdb-3.1.0.dist-info").exists()


def test_a_release_that_cannot_be_installed_is_one_clear_line(fake_python: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_FAIL", "1")
    cache = tmp_path / "cache"
    with pytest.raises(EnvironmentUnusable) as caught:
        installation(RELEASES["24.8"], cache=cache, python=str(fake_python))
    text = str(caught.value)
    assert "\n" not in text and "ClickHouse 24.8 (chdb==3.3.0)" in text and "Could not find a version" in text
    assert "pip install --no-deps --target" in text  # what to do about it
    assert sorted(p.name for p in cache.iterdir()) == [".24.8.lock"]  # nothing half-installed left


def test_an_installation_running_another_engine_is_refused(fake_python: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VERSION", "25.8.2.1")  # the package is not what the registry says it is
    with pytest.raises(EnvironmentUnusable, match="runs ClickHouse 25.8.2.1, not 24.8.4.1"):
        installation(RELEASES["24.8"], cache=tmp_path / "cache", python=str(fake_python))
    assert not (tmp_path / "cache" / "24.8").exists()


def test_parallel_first_uses_install_once(fake_python: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-xdist workers asking for the same release at once: one pip run, every caller gets the folder."""
    monkeypatch.setenv("FAKE_SLOW", "0.5")
    cache = tmp_path / "cache"
    got: list[str | None] = []
    start = threading.Barrier(4)

    def use() -> None:
        start.wait()
        got.append(installation(RELEASES["24.8"], cache=cache, python=str(fake_python)))

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == [str(cache / "24.8")] * 4
    assert len(_pip_calls(tmp_path)) == 1


def test_without_the_lock_parallel_first_uses_all_install(fake_python: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock is what makes the test above pass: with it off, every waiting caller runs pip."""
    from contextlib import nullcontext

    monkeypatch.setenv("FAKE_SLOW", "0.5")
    monkeypatch.setattr(releases, "_locked", lambda path: nullcontext())
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def use() -> None:
        start.wait()
        try:
            installation(RELEASES["24.8"], cache=tmp_path / "cache", python=str(fake_python))
        except (OSError, EnvironmentUnusable) as exc:  # a loser's rename onto the winner's folder
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_pip_calls(tmp_path)) == 3


def test_users_file_names_no_setting_the_release_lacks(tmp_path: Path) -> None:
    """24.8 refuses a users.xml naming a setting it does not know: such settings are left out for it."""
    everything = engine_files(str(tmp_path), Hardening(), 60.0)["users.xml"]
    assert "<allow_python_table_function>" in everything
    known = frozenset({"max_execution_time", "max_memory_usage", "readonly"})
    narrowed = engine_files(str(tmp_path), Hardening(), 60.0, known)["users.xml"]
    assert "allow_python_table_function" not in narrowed
    assert "<max_execution_time><" in narrowed and "<max_memory_usage>" in narrowed


def test_known_settings_of_the_environments_own_release_is_no_filter() -> None:
    assert known_settings(None) is None


def test_known_settings_are_probed_for_a_hand_filled_cache(fake_python: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(releases.sys, "executable", str(fake_python))
    assert known_settings(str(tmp_path)) == frozenset({"max_memory_usage", "readonly"})
    assert (tmp_path / releases.SETTINGS_FILE).read_text().split() == ["max_memory_usage", "readonly"]


def _config(tmp_path: Path, engine_line: str) -> Path:
    (tmp_path / "canon.sql").write_text("CREATE TABLE t (a Int8) ENGINE = Log;\n")
    file = tmp_path / "chconform.toml"
    file.write_text(f'canonical = "canon.sql"\n{engine_line}\n[[source]]\npath = "canon.sql"\n')
    return file


def test_config_engine_chooses_the_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chconform.config import load_config

    monkeypatch.delenv("CHCONFORM_ENGINE", raising=False)
    assert load_config(_config(tmp_path, 'engine = "24.8"')).engines == ("24.8",)
    assert load_config(_config(tmp_path, 'engine = ["24.8", "26.9", "24.8"]')).engines == ("24.8", "26.9")
    assert load_config(_config(tmp_path, "")).engines == ()
    monkeypatch.setenv("CHCONFORM_ENGINE", "25.8, 26.9")
    assert load_config(_config(tmp_path, 'engine = "24.8"')).engines == ("25.8", "26.9")


def test_config_with_an_unknown_release_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chconform.config import load_config

    monkeypatch.delenv("CHCONFORM_ENGINE", raising=False)
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, 'engine = "22.3"'))
    text = str(caught.value)
    assert "\n" not in text and "chconform.toml: engine: unknown ClickHouse release '22.3'" in text
    with pytest.raises(ConfigError, match="engine must be a ClickHouse release"):
        load_config(_config(tmp_path, "engine = 24.8"))


def test_this_repository_runs_on_productions_release(monkeypatch: pytest.MonkeyPatch) -> None:
    from chconform.config import load_config

    monkeypatch.delenv("CHCONFORM_ENGINE", raising=False)
    assert load_config(Path(__file__).resolve().parents[2] / "pyproject.toml").engines == ("24.8",)


def test_a_backend_given_no_release_runs_the_ci_shards_else_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHCONFORM_ENGINE", raising=False)
    assert releases.default_release() == RELEASES[NEWEST]
    monkeypatch.setenv("CHCONFORM_ENGINE", "25.8,24.8")
    assert releases.default_release() == RELEASES["25.8"]
    monkeypatch.setenv("CHCONFORM_ENGINE", "9.9")
    with pytest.raises(ConfigError, match="CHCONFORM_ENGINE: unknown ClickHouse release '9.9'"):
        releases.default_release()


def test_check_on_a_release_that_cannot_be_installed_is_exit_2_in_one_line(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine cache cannot be created (a file stands where its folder would): one line, exit 2, no traceback."""
    import io

    from chconform.cli import run

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("CHCONFORM_ENGINE_CACHE", str(blocker / "engines"))
    monkeypatch.delenv("CHCONFORM_ENGINE", raising=False)
    config = Path(__file__).resolve().parents[1] / "data" / "matrix" / "aggregating" / "chconform.toml"
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", "--config", str(config), "--no-cache"], out, err) == 2
    assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()
    assert "ClickHouse 24.8 (chdb==3.3.0): cannot create the engine cache" in err.getvalue()
