"""pytest fixtures for conformance suites: one backend per worker, each source checked once.

Options: --chconform-config FILE (default: the nearest pyproject.toml/chconform.toml),
--chconform-backend embedded|docker (default: config / CHCONFORM_BACKEND).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .config import Config, load_config
from .errors import EnvironmentUnusable
from .model import Snapshot
from .run import SourceResult, check_source

__all__ = ["ConformanceSession"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chconform")
    group.addoption("--chconform-config", default=None, help="config file for the conformance suite")
    group.addoption("--chconform-backend", default=None, help="embedded or docker")


class ConformanceSession:
    """Checks each source at most once per worker process and keeps the canonical snapshot."""

    def __init__(self, config: Config, backend_name: str) -> None:
        self.config = config
        self.backend_name = backend_name
        self._backend: Any = None
        self._results: dict[str, SourceResult] = {}
        self._canon: Snapshot | None = None

    @property
    def backend(self) -> Any:
        if self._backend is None:
            from .backends.base import get_backend

            try:
                self._backend = get_backend(self.backend_name, image=self.config.image, timeout_s=self.config.timeout_s)
            except EnvironmentUnusable as exc:
                pytest.skip(f"{self.backend_name} backend unusable: {exc}")
        return self._backend

    def canonical(self) -> Snapshot | None:
        self.result(self.config.canonical)
        return self._canon

    def result(self, path: str) -> SourceResult:
        if path not in self._results:
            spec = self.config.source(path)
            if path == self.config.canonical:
                result, self._canon = check_source(self.backend, self.config, spec, None)
            else:
                result, _ = check_source(self.backend, self.config, spec, self.canonical())
            self._results[path] = result
        return self._results[path]

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


@pytest.fixture(scope="session")
def chconform_config(request: pytest.FixtureRequest) -> Config:
    option = request.config.getoption("--chconform-config")
    return load_config(Path(option) if option else Path(request.config.rootpath) / "pyproject.toml")


@pytest.fixture(scope="session")
def chconform_session(request: pytest.FixtureRequest, chconform_config: Config) -> Iterator[ConformanceSession]:
    backend = request.config.getoption("--chconform-backend") or chconform_config.backend
    session = ConformanceSession(chconform_config, backend)
    yield session
    session.close()


def _config_for(pyconfig: pytest.Config) -> Config | None:
    option = pyconfig.getoption("--chconform-config")
    try:
        return load_config(Path(option) if option else Path(pyconfig.rootpath) / "pyproject.toml")
    except Exception:  # reported by the chconform_config fixture with its one-line message
        return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking `chconform_source` runs once per configured source, grouped per xdist worker."""
    if "chconform_source" not in metafunc.fixturenames:
        return
    config = _config_for(metafunc.config)
    paths = [s.path for s in config.sources] if config else []
    metafunc.parametrize(
        "chconform_source",
        [pytest.param(p, id=p, marks=pytest.mark.xdist_group(f"chconform:{p}")) for p in paths],
    )
