"""`pytest --chconform`: a test per source and per path on its own; a bad configuration fails the run, never a skip.

Each case runs pytest in a subprocess on a copy of a small repository (SQL written for this test)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from chconform.config import find_config
from chconform.errors import ConfigError

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1] / "data" / "repos" / "plugin"


@pytest.fixture(autouse=True)
def _own_rootdir(pytester: pytest.Pytester) -> None:
    """The run's root is the test's own directory, whatever configuration files lie above it."""
    pytester.makeini("[pytest]\n")


def _repo(pytester: pytest.Pytester) -> Path:
    for item in REPO.iterdir():
        target = pytester.path / item.name
        (shutil.copytree if item.is_dir() else shutil.copy)(item, target)
    return pytester.path


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "0", *args)


def _outside_any_configuration() -> Path:
    """A fresh directory with no chconform configuration in it or above it (what a new user starts from)."""
    for base in ("/var/tmp", "/dev/shm", tempfile.gettempdir()):
        if not Path(base).is_dir():
            continue
        folder = Path(tempfile.mkdtemp(prefix="chconform-noconfig-", dir=base))
        try:
            find_config(folder)
        except ConfigError:
            return folder
        shutil.rmtree(folder)
    raise AssertionError("every temporary directory lies under a chconform configuration")


@pytest.mark.engine
def test_chconform_collects_a_test_per_source_and_per_path(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    result = _run(pytester, "--chconform", "-v", "--chconform-backend", "embedded")
    result.assert_outcomes(passed=3, failed=1)
    out = result.stdout.str()
    for name in ("chconform[schema.sql] PASSED", "chconform[same.sql] PASSED", "chconform[drifted.sql] FAILED",
                 "chconform[path:up] PASSED"):
        assert name in out, out
    assert "default.visits.visits  column_type: UInt64 → UInt32" in out


@pytest.mark.engine
def test_marker_selects_the_generated_tests(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    pytester.makepyfile(test_other="def test_unrelated():\n    assert True\n")
    result = _run(pytester, "--chconform", "-m", "not chconform")
    result.assert_outcomes(passed=1)


def test_without_the_option_nothing_is_collected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_other="def test_unrelated():\n    assert True\n")
    _run(pytester).assert_outcomes(passed=1)  # no configuration anywhere, and none asked for


def test_a_typo_in_the_configuration_fails_the_run(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    (pytester.path / "chconform.toml").write_text('canonical = "schema.sql"\ncanonicl = "x"\n[[source]]\n'
                                                  'path = "schema.sql"\n', encoding="utf-8")
    result = _run(pytester, "--chconform")
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    assert "unknown key 'canonicl'" in result.stdout.str()


def test_an_unreadable_configuration_fails_the_run(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    (pytester.path / "chconform.toml").write_text('canonical = "schema.sql\n', encoding="utf-8")
    result = _run(pytester, "--chconform")
    result.assert_outcomes(failed=1)
    assert "TOML syntax error" in result.stdout.str()


def test_no_configuration_fails_when_asked_for() -> None:
    folder = _outside_any_configuration()
    try:
        (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "--chconform"],
                              cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout
    assert "no chconform.toml or pyproject.toml with [tool.chconform] found" in done.stdout


def test_a_test_asking_for_sources_fails_on_a_bad_configuration_instead_of_skipping(pytester: pytest.Pytester) -> None:
    _repo(pytester)
    (pytester.path / "chconform.toml").write_text('canonical = "missing.sql"\n[[source]]\npath = "missing.sql"\n',
                                                  encoding="utf-8")
    pytester.makepyfile(test_mine="def test_each(chconform_source, chconform_config):\n    assert chconform_source\n")
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    assert result.ret == 1
    assert "chconform configuration:" in result.stdout.str() and "missing.sql" in result.stdout.str()


def test_the_config_the_cli_finds_is_the_config_the_plugin_finds(pytester: pytest.Pytester) -> None:
    """chconform.toml in the root (no pyproject.toml): the fixture reads it, one test per source."""
    _repo(pytester)
    pytester.makepyfile(test_mine="def test_each(chconform_source, chconform_config):\n"
                                  "    assert chconform_source in [s.path for s in chconform_config.sources]\n")
    result = _run(pytester)
    result.assert_outcomes(passed=3)
