"""pytest: `pytest --chconform` collects a test per configured source and per [[path]]; fixtures for custom tests.

Options: --chconform (collect the generated tests), --chconform-config FILE (default: what the CLI finds, the
nearest chconform.toml or pyproject.toml with [tool.chconform] from where pytest starts, upward),
--chconform-backend embedded|docker (default: config / CHCONFORM_BACKEND). A configuration that is missing,
unreadable or mistyped fails the run with its one-line message; it is never a skip.
Fixtures: chconform_config, chconform_session, chconform_source (parametrized per source). Marker: chconform.

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
from pathlib import Path
from typing import Any

import pytest

from chconform.checks.run import AppliedSource, SourceResult, apply_source, finish_source
from chconform.config import Config, find_config, load_config
from chconform.errors import ChconformError, EnvironmentUnusable
from chconform.model import Snapshot

__all__ = ["ConformanceSession", "RunStore"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chconform")
    group.addoption("--chconform-config", default=None, help="config file for the conformance suite")
    group.addoption("--chconform-backend", default=None, help="embedded or docker")
    group.addoption("--chconform", action="store_true", default=False,
                    help="collect a test per configured source and per [[path]] (no test file needed)")


_RUN_DIR = "chconform_run_dir"
_run_dir_key = pytest.StashKey[str]()
_wanted_key = pytest.StashKey[tuple[str, ...]]()
_config_key = pytest.StashKey["Config | ChconformError"]()
_session_key = pytest.StashKey["ConformanceSession"]()


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
            from chconform.engines.server_defaults import profile_for

            try:
                self._backend = get_backend(self.backend_name, image=self.config.image, timeout_s=self.config.timeout_s,
                                            engine=self.config.engine, server=profile_for(self.config))
            except EnvironmentUnusable as exc:
                if self.backend_name == "docker":  # the one accepted skip: no Docker engine here
                    pytest.skip(f"{self.backend_name} backend unusable: {exc}")
                pytest.fail(f"{self.backend_name} backend unusable: {exc}", pytrace=False)
        return self._backend

    def engine(self) -> Any:
        """The backend with its engines started (a [[path]] item applies its steps itself)."""
        return self._engine()

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


def find_plugin_config(pyconfig: pytest.Config) -> Config:
    """The configuration the CLI would use: --chconform-config, else the nearest chconform.toml or
    pyproject.toml with [tool.chconform] from the directory pytest was started in, upward (ConfigError otherwise)."""
    option = pyconfig.getoption("--chconform-config")
    return load_config(Path(option) if option else find_config(Path(pyconfig.invocation_params.dir)))


def _loaded(pyconfig: pytest.Config) -> Config | ChconformError:
    """The configuration, or the one-line error saying why there is none (loaded once per process)."""
    if _config_key not in pyconfig.stash:
        try:
            pyconfig.stash[_config_key] = find_plugin_config(pyconfig)
        except ChconformError as exc:
            pyconfig.stash[_config_key] = exc
    return pyconfig.stash[_config_key]


def _shared_session(pyconfig: pytest.Config, config: Config) -> ConformanceSession:
    """One ConformanceSession per test process, shared by the fixtures and the generated items."""
    if _session_key not in pyconfig.stash:
        backend = pyconfig.getoption("--chconform-backend") or config.backend
        worker = getattr(pyconfig, "workerinput", {})
        folder = worker.get(_RUN_DIR)
        store = RunStore(Path(folder), config, backend) if folder and Path(folder).is_dir() else None
        workers = int(worker.get("workercount", 1))
        pyconfig.stash[_session_key] = ConformanceSession(config, backend, store, pyconfig.stash.get(_wanted_key, None),
                                                          workers)
    return pyconfig.stash[_session_key]


@pytest.fixture(scope="session")
def chconform_config(request: pytest.FixtureRequest) -> Config:
    """The validated configuration; a missing, unreadable or mistyped one fails the test (never a skip)."""
    loaded = _loaded(request.config)
    if isinstance(loaded, ChconformError):
        pytest.fail(f"chconform configuration: {loaded}", pytrace=False)
    return loaded


@pytest.fixture(scope="session")
def chconform_session(request: pytest.FixtureRequest, chconform_config: Config) -> ConformanceSession:
    """Applies each source once per run (`.result(path)`, `.canonical()`); closed at the end of the run."""
    return _shared_session(request.config, chconform_config)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chconform: a conformance test collected by --chconform (one per source "
                                       "and per [[path]])")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, in the controller: every worker of this run gets the same private directory."""
    stash = node.config.stash
    if _run_dir_key not in stash:
        stash[_run_dir_key] = tempfile.mkdtemp(prefix="chconform-run-")
    node.workerinput[_RUN_DIR] = stash[_run_dir_key]


class ChconformFailure(Exception):
    """What a generated item found, as the CLI prints it."""


class ConfigItem(pytest.Item):
    """Stands for a configuration that cannot be used: it fails, so the run fails (never "0 tests", exit 0)."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def runtest(self) -> None:
        raise ChconformFailure(self.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ChconformFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.name


class SourceItem(ConfigItem):
    """One configured source: applied twice on its own engine and compared with the canon."""

    def __init__(self, *, source: str, **kwargs: Any) -> None:
        super().__init__(message="", **kwargs)
        self.source = source

    def runtest(self) -> None:
        from chconform.reports.render import render_source

        result = _shared_session(self.config, self.chconform).result(self.source)
        if not result.ok:
            lines = render_source(result) + [f"warning: {w}" for w in result.warnings]
            raise ChconformFailure(f"{self.source} does not conform:\n" + "\n".join(lines))

    @property
    def chconform(self) -> Config:
        loaded = _loaded(self.config)
        assert isinstance(loaded, Config)
        return loaded


class PathItem(SourceItem):
    """One [[path]]: its steps applied in order on one engine, compared with the canon, rows counted."""

    def runtest(self) -> None:
        from chconform.checks.path import canonical_snapshot, run_path
        from chconform.commands.path import render_paths_text

        session = _shared_session(self.config, self.chconform)
        backend = session.engine()
        spec = next(p for p in self.chconform.paths if p.name == self.source)
        result = run_path(self.chconform, backend, spec, canonical_snapshot(self.chconform, backend))
        if not result.ok():
            raise ChconformFailure(render_paths_text([result], backend.name, backend.version(),
                                                     self.chconform.canonical, False))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """`pytest --chconform`: a test per configured source and per [[path]], before -k/-m select among them."""
    if not config.getoption("--chconform"):
        return
    loaded = _loaded(config)
    if isinstance(loaded, ChconformError):
        items.append(ConfigItem.from_parent(session, name="chconform[configuration]", message=str(loaded),
                                            nodeid="chconform[configuration]"))
        return
    where = _shown(loaded.config_file, Path(config.rootpath))
    generated: list[tuple[type[SourceItem], str, str]] = [(SourceItem, s.path, s.path) for s in loaded.sources]
    generated += [(PathItem, f"path:{p.name}", p.name) for p in loaded.paths]
    for kind, label, key in generated:
        name = f"chconform[{label}]"
        item = kind.from_parent(session, name=name, source=key, nodeid=f"{where}::{name}")
        item.add_marker(pytest.mark.chconform)
        item.add_marker(pytest.mark.xdist_group(f"chconform:{label}"))
        items.append(item)


def _shown(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root.resolve()).as_posix()
    except ValueError:
        return file.name


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember which sources the selected tests ask for, in the order they run."""
    wanted: dict[str, None] = {}
    for item in session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "chconform_source" in params:
            wanted[str(params["chconform_source"])] = None
        elif isinstance(item, SourceItem) and not isinstance(item, PathItem):
            wanted[item.source] = None
    session.config.stash[_wanted_key] = tuple(wanted)


def pytest_sessionfinish(session: pytest.Session) -> None:
    shared = session.config.stash.get(_session_key, None)
    if shared is not None:
        shared.close()


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_run_dir_key, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking `chconform_source` runs once per configured source, grouped per xdist worker.

    Without a usable configuration it runs once and fails naming why (the chconform_config fixture)."""
    if "chconform_source" not in metafunc.fixturenames:
        return
    loaded = _loaded(metafunc.config)
    if isinstance(loaded, ChconformError):
        metafunc.parametrize("chconform_source", [pytest.param("", id="configuration")])
        return
    metafunc.parametrize(
        "chconform_source",
        [pytest.param(s.path, id=s.path, marks=pytest.mark.xdist_group(f"chconform:{s.path}")) for s in loaded.sources],
    )
