"""ClickHouse releases the embedded backend can run, each from its own isolated installation.

The `chdb` and `chdb-core` packages both install the module `chdb`, so two ClickHouse releases cannot share
one environment. Each release other than the environment's own is installed on first use, with pip and
without its dependencies (they are the environment's: pyarrow and pandas come with chdb-core), into
`<cache>/<release>/`, and a worker puts that folder first on its path. The installation is atomic (a
temporary folder, checked by importing it, then renamed) and serialised by a file lock, so parallel test
workers install once; a cache filled beforehand works offline. The user's environment is never touched.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chconform.errors import ConfigError, EnvironmentUnusable

__all__ = ["Release", "RELEASES", "NEWEST", "get_release", "default_release", "resolve_engines", "cache_dir",
           "is_bundled", "installation", "known_settings", "MARKER", "SETTINGS_FILE", "INSTALL_TIMEOUT_S"]

MARKER = "chconform-release.json"  # what the installation was checked to run
SETTINGS_FILE = "chconform-settings.txt"  # the names of the release's settings, one a line
INSTALL_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Release:
    """One ClickHouse release and the PyPI package (exact version) that bundles it."""

    name: str  # what config and --engine say: "24.8"
    package: str
    version: str
    clickhouse: str  # the engine's version() in that package
    # One process hosts sessions one after another. chdb 3.3.0 cannot: once its first session has closed, the
    # engine's table-drop state is gone and dropping a materialized view in a later session waits for ever or
    # segfaults (measured: three times in four).
    reuse_sessions: bool = True

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def label(self) -> str:
        return f"ClickHouse {self.name} ({self.requirement})"


# Measured: `SELECT version()` of each package installed alone (issue 14).
RELEASES: dict[str, Release] = {r.name: r for r in (
    Release("24.8", "chdb", "3.3.0", "24.8.4.1", reuse_sessions=False),
    Release("25.8", "chdb", "3.7.2", "25.8.2.1"),
    Release("26.9", "chdb-core", "26.9.0", "26.9.2.1"),
)}
NEWEST = "26.9"  # the gate parses with this one (parseQueryToJSON); it is chconform's own dependency


def get_release(name: str, where: str = "engine") -> Release:
    """The release called `name` ("24.8"); one clear line naming the known ones otherwise."""
    release = RELEASES.get(str(name).strip())
    if release is None:
        known = ", ".join(RELEASES)
        raise ConfigError(f"{where}: unknown ClickHouse release {name!r} (known: {known})")
    return release


def default_release() -> Release:
    """The release of a backend given none: the first of $CHCONFORM_ENGINE (a CI shard's), else the newest."""
    names = [n.strip() for n in os.environ.get("CHCONFORM_ENGINE", "").split(",") if n.strip()]
    return get_release(names[0], "CHCONFORM_ENGINE") if names else RELEASES[NEWEST]


def resolve_engines(names: Sequence[str] | None, default: Sequence[str] = ()) -> tuple[Release, ...]:
    """Releases named on the command line, else in config, else the newest; each once, in the order given."""
    chosen = [n for n in (names or default or (NEWEST,))]
    out: list[Release] = []
    for name in chosen:
        release = get_release(name, "--engine" if names else "engine")
        if release not in out:
            out.append(release)
    return tuple(out)


def cache_dir() -> Path:
    """$CHCONFORM_ENGINE_CACHE, else $XDG_CACHE_HOME/chconform/engines, else ~/.cache/chconform/engines."""
    explicit = os.environ.get("CHCONFORM_ENGINE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "chconform" / "engines"


def is_bundled(release: Release) -> bool:
    """Whether the running environment's own `chdb` module is this release's package."""
    from importlib import metadata  # here: importing it costs a tenth of a second on every start

    try:
        return metadata.version(release.package) == release.version
    except metadata.PackageNotFoundError:
        return False


def _complete(folder: Path, release: Release) -> bool:
    """The package's module and its metadata at the exact version (pip writes the metadata last)."""
    dist = f"{release.package.replace('-', '_')}-{release.version}.dist-info"
    return (folder / "chdb" / "__init__.py").is_file() and (folder / dist / "RECORD").is_file()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock across processes (pytest-xdist workers, parallel CI steps)."""
    import fcntl  # here and below: only an installation needs them (every command's start reads this module)

    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def installation(release: Release, *, cache: Path | None = None, python: str | None = None) -> str | None:
    """The folder to put first on a worker's path for `release`; None: the environment's own chdb is it.

    Installed on first use; a complete installation in the cache is used as it is (no network).
    """
    if cache is None and is_bundled(release):
        return None
    root = cache if cache is not None else cache_dir()
    folder = root / release.name
    if _complete(folder, release):
        return str(folder)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentUnusable(f"{release.label}: cannot create the engine cache {root}: {exc.strerror}; "
                                  "set CHCONFORM_ENGINE_CACHE to a writable folder") from None
    with _locked(root / f".{release.name}.lock"):
        if not _complete(folder, release):  # another process may have finished it while we waited
            _install(release, root, folder, python or sys.executable)
    return str(folder)


def _install(release: Release, root: Path, folder: Path, python: str) -> None:
    """pip into a temporary folder beside the final one, check it, then rename it into place."""
    import shutil
    import subprocess
    import tempfile

    temp = Path(tempfile.mkdtemp(prefix=f".{release.name}-", dir=root))
    try:
        command = [python, "-m", "pip", "install", "--no-deps", "--only-binary=:all:", "--target", str(temp),
                   "--disable-pip-version-check", "--no-input", "--quiet", release.requirement]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise _unavailable(release, folder, f"pip took longer than {INSTALL_TIMEOUT_S:.0f} s") from None
        if done.returncode != 0:
            why = _last_line(done.stderr or done.stdout) or f"pip exited {done.returncode}"
            raise _unavailable(release, folder, why)
        found, settings = _probe(python, temp)
        if not found.startswith(release.clickhouse):
            raise _unavailable(release, folder, f"the installed package runs ClickHouse {found or '?'}, "
                                                f"not {release.clickhouse}")
        (temp / MARKER).write_text(json.dumps({"requirement": release.requirement, "clickhouse": found}),
                                   encoding="utf-8")
        (temp / SETTINGS_FILE).write_text("\n".join(settings) + "\n", encoding="utf-8")
        if folder.exists():  # an incomplete or outdated installation: replace it
            shutil.rmtree(folder, ignore_errors=True)
        os.rename(temp, folder)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


_PROBE = """import json, sys
import chdb
from chdb import _chdb
conn = _chdb.connect(":memory:")
names = conn.query("SELECT name FROM system.settings ORDER BY name", "TabSeparated").bytes().decode().split()
conn.close()
sys.stdout.write(json.dumps([chdb.engine_version, names]))
"""


def _probe(python: str, folder: Path) -> tuple[str, list[str]]:
    """Import the installation alone (first on the path): the engine's version and its settings' names."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(folder), "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=120, env=env,
                              cwd=str(folder), stdin=subprocess.DEVNULL)
        version, names = json.loads(done.stdout) if done.returncode == 0 else ("", [])
    except (subprocess.TimeoutExpired, ValueError):
        return "", []
    return str(version), [str(n) for n in names]


def known_settings(release_path: str | None) -> frozenset[str] | None:
    """The settings an installed release knows (its users.xml may name no other); None: the environment's own.

    Written at installation; a cache filled by hand gets it on first use.
    """
    if release_path is None:
        return None
    file = Path(release_path) / SETTINGS_FILE
    try:
        return frozenset(file.read_text(encoding="utf-8").split())
    except OSError:
        pass
    _, names = _probe(sys.executable, Path(release_path))
    if not names:
        return None
    try:
        file.write_text("\n".join(names) + "\n", encoding="utf-8")
    except OSError:
        pass  # a read-only cache: probed again next time
    return frozenset(names)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _unavailable(release: Release, folder: Path, why: str) -> EnvironmentUnusable:
    return EnvironmentUnusable(f"{release.label} cannot be installed into {folder}: {why}; "
                               f"check the network, or fill that folder with `pip install --no-deps --target "
                               f"{folder} {release.requirement}` on a machine that has it")
