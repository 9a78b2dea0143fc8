"""A conformance test skips only when no Docker engine answers (tests/conformance/docker_engine.py).

Engine trouble of any other kind (a failed image pull, a probe failing for another reason) must fail the test:
skipping it would turn a broken runner into a green one. The probe is replaced here so each case is shown.
"""

from __future__ import annotations

import pytest

from chconform.errors import EnvironmentUnusable
from tests.conformance import docker_engine

NO_ENGINE = ("no Docker engine reachable at unix:///var/run/docker.sock: No such file or directory "
             "(start Docker or set DOCKER_HOST; --backend embedded needs no Docker)")
PULL_FAILED = ("ClickHouse container clickhouse/clickhouse-server:24.8 did not become ready within 90s: "
               "pull access denied")


def _probe(monkeypatch: pytest.MonkeyPatch, raises: str | None) -> None:
    def probe(timeout_s: int = 5) -> None:
        if raises is not None:
            raise EnvironmentUnusable(raises)

    monkeypatch.setattr(docker_engine, "probe_engine", probe)


def test_no_engine_is_the_one_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    _probe(monkeypatch, NO_ENGINE)
    assert docker_engine.no_docker_engine() == NO_ENGINE
    with pytest.raises(pytest.skip.Exception) as skipped:
        docker_engine.skip_only_without_docker(NO_ENGINE)
    assert str(skipped.value) == NO_ENGINE


def test_trouble_with_an_engine_that_answers_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    _probe(monkeypatch, None)
    assert docker_engine.no_docker_engine() is None
    with pytest.raises(pytest.fail.Exception) as failed:
        docker_engine.skip_only_without_docker(PULL_FAILED)
    assert PULL_FAILED in str(failed.value)


def test_a_probe_failing_for_another_reason_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    _probe(monkeypatch, "the docker backend needs docker: pip install 'chconform[docker]'")
    assert docker_engine.no_docker_engine() is None
    with pytest.raises(pytest.fail.Exception):
        docker_engine.skip_only_without_docker("CHCONFORM_BACKEND=docker: the docker backend needs docker")
