"""The docker backend: a real clickhouse-server container per instance, via testcontainers.

Users, roles and grants run for real here (the embedded engine has no access
storage). The repository's users.d/ and config.d/ files are mounted one by
one, read-only, beside the file the image's entrypoint writes itself
(users.d/default-user.xml), with the passwords they read from the
environment set to throwaway random values. With `reuse`, one container per
process (so one per pytest-xdist worker) serves every instance in turn and
is reset between them: every database, table, user, role, policy, quota,
profile and function it did not start with is dropped.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chconform.config import DEFAULT_IMAGE
from chconform.engines.base import Instance
from chconform.engines.server import HttpInstance, ServerAddress, connect
from chconform.errors import ChconformError, ConfigError, EngineError, EnvironmentUnusable

__all__ = [
    "ContainerPlan",
    "Inventory",
    "DockerBackend",
    "DockerInstance",
    "plan_container",
    "build_container",
    "config_files",
    "env_names",
    "docker_host",
    "probe_engine",
    "startup_error",
    "reset_statements",
    "reset",
    "take_inventory",
    "HARNESS_USER",
    "HTTP_PORT",
]

HTTP_PORT = 8123
HARNESS_USER = "chconform"
MOUNT_PREFIX = "chconform-"
DEFAULT_STARTUP_TIMEOUT_S = 120.0
_SERVER_DIR = "/etc/clickhouse-server"
_SYSTEM_DBS = ("system", "INFORMATION_SCHEMA", "information_schema")


@dataclass(frozen=True)
class ContainerPlan:
    """Everything a container is started with; pure data, so it is unit-tested without an engine."""

    image: str
    username: str
    password: str = field(repr=False)
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    mounts: tuple[tuple[str, str, str], ...] = ()  # (host path, container path, mode)
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S


def config_files(root: Path | None) -> list[tuple[Path, str]]:
    """Each users.d/*.xml and config.d/*.xml under `root`, with where it goes in the container."""
    if root is None:
        return []
    out = []
    for folder in ("users.d", "config.d"):
        for file in sorted((root / folder).glob("*.xml")):
            out.append((file.resolve(), f"{_SERVER_DIR}/{folder}/{MOUNT_PREFIX}{file.name}"))
    return out


def env_names(files: list[Path]) -> list[str]:
    """Environment variables the server config reads (`from_env="VAR"`), in first-seen order."""
    names: list[str] = []
    for file in files:
        try:
            tree = ET.parse(file)
        except (ET.ParseError, OSError) as exc:
            raise ConfigError(f"{file}: not valid XML ({exc}); clickhouse-server would not start with it") from None
        for element in tree.iter():
            name = element.get("from_env")
            if name and name not in names:
                names.append(name)
    return names


def plan_container(
    image: str,
    root: Path | None,
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
    secret: Callable[[], str] = lambda: secrets.token_urlsafe(18),
) -> ContainerPlan:
    """The container for `image` with the repository's server config mounted and its secrets made up."""
    files = config_files(root)
    env = [("CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT", "1")]
    env.extend((name, secret()) for name in env_names([f for f, _ in files]))
    return ContainerPlan(
        image=image,
        username=HARNESS_USER,
        password=secret(),
        env=tuple(env),
        mounts=tuple((str(host), inside, "ro") for host, inside in files),
        startup_timeout_s=startup_timeout_s,
    )


def build_container(plan: ContainerPlan, docker_client_kw: dict[str, Any] | None = None) -> Any:
    """testcontainers' ClickHouseContainer configured from the plan (not started)."""
    from docker.types import Ulimit
    from testcontainers.community.clickhouse import ClickHouseContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    container = ClickHouseContainer(
        plan.image,
        port=HTTP_PORT,  # only the HTTP interface is exposed: clickhouse-connect speaks HTTP
        username=plan.username,
        password=plan.password,
        docker_client_kw=docker_client_kw,
    )
    # An empty CLICKHOUSE_DB: with a name, the entrypoint starts a temporary server to create that database
    # (an extra database in every snapshot, and a restart right after /ping first answers).
    container.dbname = ""
    for key, value in plan.env:
        container.with_env(key, value)
    for host, inside, mode in plan.mounts:
        container.with_volume_mapping(host, inside, mode)
    container.with_kwargs(ulimits=[Ulimit(name="nofile", soft=262144, hard=262144)])
    container.waiting_for(
        HttpWaitStrategy(HTTP_PORT, "/ping")
        .for_response_predicate(lambda body: body.strip() == "Ok.")
        .with_startup_timeout(int(plan.startup_timeout_s))
    )
    return container


def docker_host() -> str:
    """Where testcontainers (and docker-py) will look for the engine."""
    try:
        from testcontainers.core.docker_client import get_docker_host

        return get_docker_host() or "unix:///var/run/docker.sock"
    except Exception:  # a broken docker context must not hide the real reason below
        return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


_OS_ERROR = re.compile(r"(?:\w+Error)\(\d+, '([^']+)'\)|\[Errno -?\d+\] ([^'\")\]]+)")


def _reason(exc: BaseException) -> str:
    text = str(exc)
    found = _OS_ERROR.search(text)
    if found:
        return (found.group(1) or found.group(2)).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def probe_engine(timeout_s: int = 5) -> None:
    """Raise EnvironmentUnusable in one line unless a Docker engine answers."""
    import importlib.util

    missing = [m for m in ("docker", "testcontainers", "clickhouse_connect") if importlib.util.find_spec(m) is None]
    if missing:  # an optional extra: the core install runs the embedded engine only
        raise EnvironmentUnusable(f"the docker backend needs {', '.join(missing)}: pip install 'chconform[docker]'")
    where = docker_host()
    try:
        import docker

        client = docker.from_env(timeout=timeout_s)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        raise EnvironmentUnusable(
            f"no Docker engine reachable at {where}: {_reason(exc)} "
            "(start Docker or set DOCKER_HOST; --backend embedded needs no Docker)"
        ) from None


def startup_error(plan: ContainerPlan, exc: BaseException, log_tail: str) -> str:
    """One line: what failed, the container's last log lines, and a hint."""
    return (
        f"ClickHouse container {plan.image} did not become ready within {plan.startup_timeout_s:g}s: {_reason(exc)}; "
        f"last log lines: {log_tail or '(none)'}. Hint: check the image tag (config `image` or CHCONFORM_IMAGE), "
        "that users.d/ and config.d/ suit this ClickHouse version, or raise CHCONFORM_DOCKER_STARTUP_TIMEOUT"
    )


def _log_tail(container: Any, lines: int = 8) -> str:
    try:
        out, err = container.get_logs()
    except Exception:
        return ""
    text = (out or b"").decode("utf-8", "replace") + "\n" + (err or b"").decode("utf-8", "replace")
    return " | ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:])


def _stop(container: Any) -> None:
    try:
        container.stop()
    except Exception:  # already gone: nothing left to release
        pass


def start_container(plan: ContainerPlan, timeout_s: float) -> tuple[Any, HttpInstance]:
    """Start a container and connect to it, or raise EnvironmentUnusable with its last log lines."""
    try:
        container = build_container(plan)
    except Exception as exc:  # the engine went away after the probe
        raise EnvironmentUnusable(f"no Docker engine reachable at {docker_host()}: {_reason(exc)}") from None
    try:
        container.start()
        address = ServerAddress("http", container.get_container_host_ip(), int(container.get_exposed_port(HTTP_PORT)))
        http = connect(address, plan.username, plan.password, read_only=False, timeout_s=timeout_s)
    except Exception as exc:
        tail = _log_tail(container)
        _stop(container)
        raise EnvironmentUnusable(startup_error(plan, exc, tail)) from None
    return container, http


@dataclass(frozen=True)
class Inventory:
    """The names of everything a reset must consider; compared with the state at start."""

    databases: tuple[str, ...] = ()
    tables: tuple[tuple[str, str, str], ...] = ()  # (database, name, engine)
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    row_policies: tuple[tuple[str, str, str], ...] = ()  # (short name, database, table)
    quotas: tuple[str, ...] = ()
    settings_profiles: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()


_NOT_SYSTEM = "NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema')"
_INVENTORY = {
    "databases": f"SELECT name FROM system.databases WHERE name {_NOT_SYSTEM}",
    "tables": f"SELECT database, name, engine FROM system.tables WHERE database {_NOT_SYSTEM} AND NOT is_temporary",
    "users": "SELECT name FROM system.users",
    "roles": "SELECT name FROM system.roles",
    "row_policies": "SELECT short_name, database, table FROM system.row_policies",
    "quotas": "SELECT name FROM system.quotas",
    "settings_profiles": "SELECT name FROM system.settings_profiles",
    "functions": "SELECT name FROM system.functions WHERE origin = 'SQLUserDefined'",
}


def take_inventory(query: Callable[[str], list[dict[str, Any]]]) -> Inventory:
    """Names of everything a reset considers; access kinds an engine has no storage for count as empty."""
    values: dict[str, Any] = {}
    for key, sql in _INVENTORY.items():
        try:
            rows = query(sql)
        except EngineError as exc:
            if exc.name != "ACCESS_DENIED" or key in ("databases", "tables", "functions"):
                raise
            rows = []
        values[key] = tuple(sorted(tuple(str(v) for v in r.values()) if len(r) > 1 else str(next(iter(r.values())))
                                   for r in rows))
    return Inventory(**values)


def _q(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def reset_statements(baseline: Inventory, now: Inventory) -> list[str]:
    """Pure: the DROP statements that bring `now` back to `baseline` (objects there at start are kept)."""
    out: list[str] = []
    kept_dbs = set(baseline.databases)
    order = {"MaterializedView": 0, "View": 1, "Dictionary": 2}  # readers before what they read
    new_tables = sorted((t for t in now.tables if t[0] in kept_dbs and t not in baseline.tables
                         and not t[1].startswith(".inner")), key=lambda t: (order.get(t[2], 3), t))
    for db, name, engine in new_tables:
        verb = "DICTIONARY" if engine == "Dictionary" else "TABLE"
        out.append(f"DROP {verb} IF EXISTS {_q(db)}.{_q(name)} SYNC")
    out.extend(f"DROP DATABASE IF EXISTS {_q(db)} SYNC" for db in now.databases if db not in kept_dbs)
    out.extend(f"DROP ROW POLICY IF EXISTS {_q(p)} ON {_q(db)}.{_q(t)}" for p, db, t in now.row_policies
               if (p, db, t) not in baseline.row_policies)
    for kind, mine, theirs in (("QUOTA", now.quotas, baseline.quotas),
                               ("SETTINGS PROFILE", now.settings_profiles, baseline.settings_profiles),
                               ("ROLE", now.roles, baseline.roles),
                               ("USER", now.users, baseline.users),
                               ("FUNCTION", now.functions, baseline.functions)):
        out.extend(f"DROP {kind} IF EXISTS {_q(name)}" for name in mine if name not in theirs)
    return out


class DockerInstance:
    """A container of its own, removed on close."""

    def __init__(self, container: Any, http: HttpInstance) -> None:
        self.container, self.http = container, http

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self.http.execute(sql, timeout)

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        return self.http.query(sql, timeout)

    def close(self) -> None:
        self.http.close()
        _stop(self.container)


class _Shared:
    """One reusable container: handed to one instance at a time, reset when it is given back."""

    def __init__(self, plan: ContainerPlan, timeout_s: float) -> None:
        self.plan, self.timeout_s = plan, timeout_s
        self.lock = threading.Lock()
        self.container: Any = None
        self.http: HttpInstance | None = None
        self.baseline = Inventory()

    def acquire(self) -> ReusedInstance:
        self.lock.acquire()
        try:
            if self.container is None:
                self.container, self.http = start_container(self.plan, self.timeout_s)
                self.baseline = take_inventory(self.http.query)
        except BaseException:
            self.lock.release()
            raise
        assert self.http is not None
        return ReusedInstance(self, self.http)

    def release(self) -> None:
        """Reset; a container that does not come back to its starting state is replaced next time."""
        try:
            assert self.http is not None
            reset(self.http, self.baseline)
        except Exception:  # whatever went wrong, a container not known to be clean is not handed out again
            self.discard()
        finally:
            self.lock.release()

    def discard(self) -> None:
        if self.http is not None:
            self.http.close()
        if self.container is not None:
            _stop(self.container)
        self.container, self.http = None, None


def _ran(instance: Instance, sql: str) -> bool:
    try:
        instance.execute(sql)
    except EngineError:
        return False
    return True


def reset(instance: Instance, baseline: Inventory) -> None:
    """Drop everything created since `baseline`, or raise ChconformError saying what could not be dropped."""
    pending = reset_statements(baseline, take_inventory(instance.query))
    while pending:  # dependencies the order cannot know (a table whose default reads a dictionary) take rounds
        failed = [sql for sql in pending if not _ran(instance, sql)]
        if len(failed) == len(pending):
            raise ChconformError(f"reset cannot drop: {failed[0]}")
        pending = failed
    if take_inventory(instance.query) != baseline:
        raise ChconformError("reset left objects behind")


class ReusedInstance:
    """The shared container, for one source; `close` resets it instead of removing it."""

    def __init__(self, shared: _Shared, http: HttpInstance) -> None:
        self.shared, self.http = shared, http
        self.container = shared.container
        self._open = True

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self.http.execute(sql, timeout)

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        return self.http.query(sql, timeout)

    def close(self) -> None:
        if self._open:
            self._open = False
            self.shared.release()


_SHARED: dict[tuple[Any, ...], _Shared] = {}
_SHARED_LOCK = threading.Lock()


def _shared(plan: ContainerPlan, timeout_s: float) -> _Shared:
    key = (plan.image, plan.mounts, plan.startup_timeout_s)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = _Shared(plan, timeout_s)
        return _SHARED[key]


@atexit.register
def _discard_shared() -> None:
    for shared in list(_SHARED.values()):
        shared.discard()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _startup_timeout(value: float | None) -> float:
    if value is not None:
        return float(value)
    raw = os.environ.get("CHCONFORM_DOCKER_STARTUP_TIMEOUT", "")
    try:
        return float(raw) if raw.strip() else DEFAULT_STARTUP_TIMEOUT_S
    except ValueError:
        raise ConfigError(f"CHCONFORM_DOCKER_STARTUP_TIMEOUT must be a number of seconds, not {raw!r}") from None


def _default_root() -> Path | None:
    try:
        from chconform.config import load_config

        return load_config().root
    except ChconformError:
        return None


class DockerBackend:
    """Fresh clickhouse-server containers (or one reused, reset container per process)."""

    name = "docker"
    supports_access_control = True

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        timeout_s: float = 60.0,
        root: Path | str | None = None,
        reuse: bool | None = None,
        startup_timeout_s: float | None = None,
        **_: Any,
    ) -> None:
        self.image = os.environ.get("CHCONFORM_IMAGE") or image
        self.timeout_s = float(timeout_s)
        self.reuse = _flag("CHCONFORM_DOCKER_REUSE") if reuse is None else bool(reuse)
        startup = _startup_timeout(startup_timeout_s)
        probe_engine()
        self.root = Path(root) if root is not None else _default_root()
        self.plan = plan_container(self.image, self.root, startup)
        self._version = ""

    def instance(self) -> DockerInstance | ReusedInstance:
        if self.reuse:
            inst: DockerInstance | ReusedInstance = _shared(self.plan, self.timeout_s).acquire()
        else:
            inst = DockerInstance(*start_container(self.plan, self.timeout_s))
        if not self._version:
            try:
                self._version = inst.http.version()
            except EngineError:
                pass
        return inst

    def version(self) -> str:
        if not self._version:
            self.instance().close()
        return self._version

    def close(self) -> None:
        """Reused containers live until the process ends (one per pytest-xdist worker)."""
