"""pytest fixtures for conformance suites: one backend per worker, each source applied once per run.

Options: --chconform-config FILE (default: the nearest pyproject.toml/chconform.toml),
--chconform-backend embedded|docker (default: config / CHCONFORM_BACKEND).

Under pytest-xdist the workers share a private directory for the run: a source
applied by one worker (the canonical one above all) is read by the others, and
a worker waiting for a source another one is applying applies the next
unclaimed sources meanwhile, so `-n 2` splits the engine work instead of
doubling the canon's.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chconform.config import Config, load_config
from chconform.errors import EnvironmentUnusable
from chconform.model import Snapshot
from chconform.checks.run import AppliedSource, SourceResult, apply_source, finish_source

__all__ = ["ConformanceSession", "RunStore"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chconform")
    group.addoption("--chconform-config", default=None, help="config file for the conformance suite")
    group.addoption("--chconform-backend", default=None, help="embedded or docker")


_RUN_DIR = "chconform_run_dir"
_run_dir_key = pytest.StashKey[str]()
_wanted_key = pytest.StashKey[tuple[str, ...]]()


class RunStore:
    """Applied sources shared by the workers of one test run, through files in a private directory.

    `claim` is an exclusive create, so each source is applied by one worker; a claim whose process
    has died no longer holds anyone back.
    """

    def __init__(self, folder: Path, config: Config, backend_name: str) -> None:
        self.folder = folder
        self.prefix = hashlib.sha256(f"{config.config_file}\0{backend_name}".encode()).hexdigest()[:12]

    def _file(self, path: str, suffix: str) -> Path:
        return self.folder / f"{self.prefix}-{hashlib.sha256(path.encode()).hexdigest()[:24]}.{suffix}"

    def load(self, path: str) -> AppliedSource | None:
        try:
            return pickle.loads(self._file(path, "applied").read_bytes())  # type: ignore[no-any-return]
        except FileNotFoundError:
            return None

    def save(self, path: str, applied: AppliedSource) -> None:
        final = self._file(path, "applied")
        partial = final.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(pickle.dumps(applied))
        os.replace(partial, final)

    def claim(self, path: str) -> bool:
        try:
            fd = os.open(self._file(path, "claim"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True

    def abandoned(self, path: str) -> bool:
        """Claimed by a process that is gone without saving its result."""
        try:
            pid = int(self._file(path, "claim").read_text() or "0")
            os.kill(pid, 0)
        except (OSError, ValueError):
            return self.load(path) is None
        return False


class ConformanceSession:
    """Applies each source at most once per run (once per worker without a RunStore) and keeps the canon."""

    def __init__(self, config: Config, backend_name: str, store: RunStore | None = None,
                 wanted: tuple[str, ...] | None = None, workers: int = 1) -> None:
        """`wanted`: the sources this run's tests ask for (what a waiting worker may apply ahead);
        `workers`: the processes running tests side by side (pytest-xdist)."""
        self.config = config
        self.workers = workers
        self.backend_name = backend_name
        self.store = store
        self.wanted = tuple(s.path for s in config.sources) if wanted is None else wanted
        self._backend: Any = None
        self._results: dict[str, SourceResult] = {}
        self._applied: dict[str, AppliedSource] = {}
        self._canon: Snapshot | None = None
        self._reserved = False

    @property
    def backend(self) -> Any:
        if self._backend is None:
            from chconform.engines import get_backend

            try:
                self._backend = get_backend(self.backend_name, image=self.config.image, timeout_s=self.config.timeout_s,
                                            engine=self.config.engine)
            except EnvironmentUnusable as exc:
                pytest.skip(f"{self.backend_name} backend unusable: {exc}")
        return self._backend

    def _engine(self) -> Any:
        """The backend, about to apply a source: its engines start now (asking for the backend does not)."""
        backend = self.backend
        reserve = getattr(backend, "reserve", None)
        if callable(reserve) and not self._reserved:  # one source at a time; a spare only where a CPU is free
            reserve(1, spares=1 if self.workers < (os.cpu_count() or 1) else 0)
        self._reserved = True
        return backend

    def canonical(self) -> Snapshot | None:
        self.result(self.config.canonical)
        return self._canon

    def result(self, path: str) -> SourceResult:
        """The source's result: applied first, then compared with the canon (which may be built meanwhile)."""
        if path not in self._results:
            applied = self.applied(path)
            if path == self.config.canonical:
                result, self._canon = finish_source(self.config, applied, None)
            else:
                result, _ = finish_source(self.config, applied, self.canonical())
            self._results[path] = result
        return self._results[path]

    def applied(self, path: str) -> AppliedSource:
        """The source applied twice: by this worker, or read from the run's store."""
        if path in self._applied:
            return self._applied[path]
        spec = self.config.source(path)
        if self.store is None:
            self._applied[path] = apply_source(self._engine(), self.config, spec)
            return self._applied[path]
        while True:
            found = self.store.load(path)
            if found is not None:
                self._applied[path] = found
                return found
            if self.store.claim(path) or self.store.abandoned(path):
                return self._apply_and_share(path)
            if not self._apply_another():  # someone else is applying it: do the next unclaimed source meanwhile
                time.sleep(0.01)

    def _apply_and_share(self, path: str) -> AppliedSource:
        assert self.store is not None
        applied = apply_source(self._engine(), self.config, self.config.source(path))
        self.store.save(path, applied)
        self._applied[path] = applied
        return applied

    def _apply_another(self) -> bool:
        assert self.store is not None
        for path in self.wanted:
            if path not in self._applied and self.store.load(path) is None and self.store.claim(path):
                self._apply_and_share(path)
                return True
        return False

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
    folder = getattr(request.config, "workerinput", {}).get(_RUN_DIR)
    store = RunStore(Path(folder), chconform_config, backend) if folder and Path(folder).is_dir() else None
    wanted = request.config.stash.get(_wanted_key, None)
    workers = int(getattr(request.config, "workerinput", {}).get("workercount", 1))
    session = ConformanceSession(chconform_config, backend, store, wanted, workers)
    yield session
    session.close()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, in the controller: every worker of this run gets the same private directory."""
    stash = node.config.stash
    if _run_dir_key not in stash:
        stash[_run_dir_key] = tempfile.mkdtemp(prefix="chconform-run-")
    node.workerinput[_RUN_DIR] = stash[_run_dir_key]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember which sources the selected tests ask for, in the order they run."""
    wanted: dict[str, None] = {}
    for item in session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "chconform_source" in params:
            wanted[str(params["chconform_source"])] = None
    session.config.stash[_wanted_key] = tuple(wanted)


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_run_dir_key, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


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
