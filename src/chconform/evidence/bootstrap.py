"""Bootstrap a persistent ClickHouse: the canonical DDL, then the roles and grants, statement by statement.

Unlike `check`, the target here is not thrown away: an embedded chDB data
directory (default `<root>/data/`, created with a `.gitignore` of its own) or the
server of `<root>/docker-compose.yml`. The roles and grants come from the source
named by `[tool.chconform.bootstrap] access_source` (none by default). So every
statement is logged with file:line, outcome and time, and a statement that would
drop or truncate a table holding rows is refused unless the user asked for it
(`--allow-destructive`).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chconform.checks.rules import role_findings
from chconform.checks.safety import Destructive, classify_destructive, destructive_actions
from chconform.config import Config
from chconform.errors import (
    ConfigError,
    EngineCrashed,
    EngineError,
    EngineTimeout,
    EnvironmentUnusable,
)
from chconform.evidence.runtime import runtime_dir
from chconform.gate.policy import gate
from chconform.sql.source import Source, Statement, read_source

__all__ = [
    "TARGETS",
    "BootstrapResult",
    "Session",
    "StepOutcome",
    "Target",
    "access_source_of",
    "apply_plan",
    "bootstrap_plan",
    "destructive_reason",
    "load_target",
    "open_target",
    "parse_env",
    "repo_root",
    "run_bootstrap",
    "sql_ident",
    "sql_string",
]

TARGETS = ("embedded", "compose")
_HEALTH_TIMEOUT = 240.0
_LOST = "engine lost: "


def repo_root(config: Config) -> Path:
    """The folder of the config file: relative paths in the env file resolve against it."""
    return config.config_file.parent


def sql_string(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_ident(name: str) -> str:
    """`db`.`name` with backticks, for a `db.name` or a bare name."""
    return ".".join("`" + part.replace("`", "``") + "`" for part in name.split(".", 1))


# --- the env file and the target ------------------------------------------------------------


def parse_env(text: str, where: str) -> dict[str, str]:
    """KEY=VALUE lines (optional `export`, quotes, `#` comments), as docker compose reads them."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "").isalnum():
            raise ConfigError(f"{where}:{number}: expected KEY=VALUE, got {raw.strip()[:40]!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


@dataclass(frozen=True)
class Target:
    """Where `bootstrap` and `smoke` work: a persistent chDB directory or the compose server."""

    kind: str  # embedded | compose
    repo: Path
    data_dir: Path
    compose_file: Path
    env_file: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)  # may hold passwords
    engine: str | None = None  # the embedded ClickHouse release (config `engine`); None: the newest

    def label(self) -> str:
        if self.kind == "embedded":
            release = f" ClickHouse {self.engine}" if self.engine else ""
            return f"embedded{release} (chDB data directory {_shown(self.data_dir, self.repo)})"
        host, port = self.env.get("CHCONFORM_HOST", "127.0.0.1"), self.env.get("CHCONFORM_HTTP_PORT", "8123")
        return f"compose ({_shown(self.compose_file, self.repo)}, http://{host}:{port})"


def _shown(path: Path, repo: Path) -> str:
    try:
        return path.relative_to(repo).as_posix()
    except ValueError:
        return str(path)


def load_target(config: Config, env_file: Path | None = None) -> Target:
    """The env file (default `<root>/.env` when present), overridden by the process environment."""
    repo = repo_root(config)
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"env file not found: {env_file}; copy {_shown(config.root / '.env.example', repo)} to it")
    if env_file is None and (config.root / ".env").is_file():
        env_file = config.root / ".env"
    values: dict[str, str] = {}
    if env_file is not None:
        try:
            values = parse_env(env_file.read_text(encoding="utf-8"), str(env_file))
        except UnicodeDecodeError:
            raise ConfigError(f"{env_file}: not UTF-8 text") from None
    values.update({k: v for k, v in os.environ.items() if k.startswith(("CHCONFORM_", "CLICKHOUSE_"))})
    kind = values.get("CHCONFORM_TARGET", "embedded") or "embedded"
    if kind not in TARGETS:
        raise ConfigError(f"{env_file or 'environment'}: CHCONFORM_TARGET={kind!r}; use embedded or compose")
    raw_dir = values.get("CHCONFORM_DATA_DIR")
    data_dir = (repo / raw_dir) if raw_dir else (config.data_dir or config.root / "data")
    return Target(kind, repo, data_dir.resolve(), (config.root / "docker-compose.yml").resolve(),
                  env_file.resolve() if env_file else None, values, config.engine)


# --- sessions on a persistent target ---------------------------------------------------------


class Session(Protocol):
    """One open connection to the persistent target."""

    version: str

    def execute(self, sql: str, timeout: float | None = None) -> None: ...

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]: ...

    def raw(self, sql: str, timeout: float | None = None) -> str:
        """The statement's output as text, in the FORMAT the statement names."""

    def close(self) -> None: ...


class EmbeddedSession:
    """A chDB session on a fixed data directory, hosted by the embedded backend's worker process."""

    def __init__(self, data_dir: Path, timeout_s: float = 60.0, engine: str | None = None) -> None:
        from chconform.engines.embedded import EmbeddedBackend, EmbeddedInstance

        # raises EnvironmentUnusable without chdb-core or when the release cannot be installed
        self.backend = EmbeddedBackend(prestart=False, timeout_s=timeout_s, engine=engine)
        runtime_dir(data_dir)
        self.worker = self.backend.persistent_worker(str(data_dir))
        self.instance = EmbeddedInstance(self.worker)
        self.version = self.worker.version

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self.instance.execute(sql, timeout)

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        return self.instance.query(sql, timeout)

    def raw(self, sql: str, timeout: float | None = None) -> str:
        return self.worker.call({"sql": sql, "fmt": "TabSeparated", "own": True}, timeout, "running a query")

    def close(self) -> None:
        self.instance.close()
        self.backend.close()


class ServerSession:
    """The compose server over HTTP, through the server backend's HttpInstance opened for writing."""

    def __init__(self, host: str, port: int, user: str, password: str, timeout_s: float) -> None:
        from chconform.engines.server import ServerAddress, connect

        self.instance = connect(ServerAddress("http", host, port), user, password, read_only=False, timeout_s=timeout_s)
        self.version = self.instance.version()

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self.instance.execute(sql, timeout)

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        return self.instance.query(sql, timeout)

    def raw(self, sql: str, timeout: float | None = None) -> str:
        from clickhouse_connect.driver.exceptions import Error as DriverError

        from chconform.engines.server import engine_error

        try:
            return bytes(self.instance.client.raw_query(sql)).decode("utf-8", "replace")
        except DriverError as exc:
            raise engine_error(exc) from None

    def close(self) -> None:
        self.instance.close()


def _docker(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise EnvironmentUnusable("the compose target needs the docker client on PATH") from None
    except subprocess.TimeoutExpired:
        raise EnvironmentUnusable(f"`docker {' '.join(args[:3])}` did not answer within {timeout:.0f}s") from None


def compose_health(ps_output: str) -> dict[str, str]:
    """Service → health from `docker compose ps --format json` (a JSON array or one object per line)."""
    text = ps_output.strip()
    if not text:
        return {}
    lines = [line for line in text.splitlines() if line.strip()]
    items = json.loads(text) if text.startswith("[") else [json.loads(line) for line in lines]
    return {str(i.get("Service") or i.get("Name")): str(i.get("Health") or i.get("State") or "") for i in items}


def start_compose(target: Target, log: Callable[[str], None]) -> None:
    """`docker compose up -d`, then wait until every service reports healthy."""
    info = _docker(["info", "--format", "{{.ServerVersion}}"], 20)
    if info.returncode != 0:
        raise EnvironmentUnusable(f"compose target: no Docker engine reachable ({_last(info.stderr)}); "
                                  "use CHCONFORM_TARGET=embedded")
    base = ["compose", "-f", str(target.compose_file)]
    if target.env_file is not None:
        base += ["--env-file", str(target.env_file)]
    up = _docker([*base, "up", "-d"], 600)
    if up.returncode != 0:
        raise EnvironmentUnusable(f"docker compose up failed: {_last(up.stderr)}")
    log(f"docker compose up -d: {_shown(target.compose_file, target.repo)} started; waiting for the healthcheck")
    deadline = time.monotonic() + _HEALTH_TIMEOUT
    health: dict[str, str] = {}
    while time.monotonic() < deadline:
        ps = _docker([*base, "ps", "--format", "json"], 30)
        health = compose_health(ps.stdout) if ps.returncode == 0 else {}
        if health and all(h == "healthy" for h in health.values()):
            log(f"healthy: {', '.join(sorted(health))}")
            return
        if any(h == "unhealthy" for h in health.values()):
            break
        time.sleep(2)
    raise EnvironmentUnusable(f"compose services not healthy within {_HEALTH_TIMEOUT:.0f}s: "
                              f"{health or 'none running'}; "
                              f"see `docker compose -f {target.compose_file} logs`")


def _last(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def open_target(target: Target, log: Callable[[str], None] = lambda _: None, start: bool = True,
                timeout_s: float = 60.0) -> Session:
    """Open the persistent target; for compose, start the server first (unless `start` is False)."""
    if target.kind == "embedded":
        return EmbeddedSession(target.data_dir, timeout_s, target.engine)
    if start:
        start_compose(target, log)
    password = target.env.get("CLICKHOUSE_PASSWORD", "")
    if not password:
        raise ConfigError(f"{target.env_file or 'environment'}: CLICKHOUSE_PASSWORD is not set (the admin password)")
    port = target.env.get("CHCONFORM_HTTP_PORT", "8123")
    if not port.isdigit():
        raise ConfigError(f"{target.env_file or 'environment'}: CHCONFORM_HTTP_PORT={port!r} is not a port number")
    return ServerSession(target.env.get("CHCONFORM_HOST", "127.0.0.1"), int(port),
                         target.env.get("CLICKHOUSE_USER", "admin") or "admin", password, timeout_s)


# --- destructive statements ------------------------------------------------------------------


def destructive_reason(stmt: Statement) -> str | None:
    """Why the statement may destroy data (chconform.checks.safety's classifier), or None."""
    return classify_destructive(stmt)


def _affected(session: Session, actions: list[Destructive]) -> list[str] | None:
    """Tables whose rows the actions could destroy; None when one of them names no table."""
    tables: list[str] = []
    for action in actions:
        if action.kind == "drop_database":
            rows = session.query("SELECT name FROM system.tables "
                                 f"WHERE database = {sql_string(action.target)} ORDER BY name")
            tables.extend(f"{action.target}.{r['name']}" for r in rows)
        elif "." in action.target and "?" not in action.target:
            tables.append(action.target)
        else:
            return None
    return list(dict.fromkeys(tables))


def rows_held(session: Session, fqn: str) -> int:
    """Rows a table holds now (0 when it does not exist or is a plain view)."""
    db, _, name = fqn.partition(".")
    found = session.query("SELECT engine FROM system.tables "
                          f"WHERE database = {sql_string(db)} AND name = {sql_string(name)}")
    if not found or found[0]["engine"] == "View":
        return 0
    return int(session.query(f"SELECT count() AS n FROM {sql_ident(fqn)}")[0]["n"])


def refusal(session: Session, stmt: Statement) -> str | None:
    """The refusal message if the statement would destroy rows that exist now, else None."""
    actions = destructive_actions(stmt)
    if not actions:
        return None
    reason = "; ".join(a.detail for a in actions)
    tables = _affected(session, actions)
    if tables is None:
        return f"{reason}: cannot tell which table it touches, so its rows cannot be counted; pass --allow-destructive"
    holding = [(t, n) for t in tables if (n := rows_held(session, t)) > 0]
    if not holding:
        return None
    what = ", ".join(f"{t} ({n} row{'s' if n != 1 else ''})" for t, n in holding)
    return f"{reason} would destroy data in {what}; pass --allow-destructive to run it anyway"


# --- applying --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepOutcome:
    """What happened to one statement."""

    source: str
    line: int
    statement: str  # its first line
    outcome: str  # ok | failed | skipped | refused | not_run
    detail: str = ""
    duration_s: float = 0.0

    def log_line(self, width: int = 0) -> str:
        where = f"{self.source}:{self.line}".ljust(width)
        tail = f"  -- {self.detail}" if self.detail else ""
        return f"{where}  {self.outcome.upper():8} {self.duration_s:7.3f}s  {self.statement}{tail}"


@dataclass(frozen=True)
class BootstrapResult:
    target: str
    version: str
    outcomes: tuple[StepOutcome, ...]
    notes: tuple[str, ...] = ()
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.outcome in ("ok", "skipped") for o in self.outcomes)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)

    def summary(self) -> str:
        skipped = sorted({o.detail for o in self.outcomes if o.outcome == "skipped"})
        why = f": {'; '.join(skipped)}" if skipped else ""
        parts = [f"{self.count('ok')} ok", f"{self.count('failed')} failed", f"{self.count('refused')} refused"]
        if self.count("not_run"):
            parts.append(f"{self.count('not_run')} not run")
        verdict = "OK" if self.ok else "FAILED"
        return (f"bootstrap: {len(self.outcomes)} statements: {', '.join(parts)}, "
                f"{self.count('skipped')} skipped{why} => {verdict}")


def access_source_of(config: Config, access_source: str | None = None) -> str | None:
    """The source whose roles and grants follow the canonical DDL: the argument, else the config's, else none."""
    return access_source or config.bootstrap.access_source


def bootstrap_plan(config: Config, access_source: str | None = None
                   ) -> tuple[list[tuple[Source, Statement]], list[str]]:
    """Every statement of the canonical source, then the access statements (roles, grants) of the access source."""
    canon = read_source(config.canonical_source.file, config.canonical)
    plan = [(canon, s) for s in canon.statements]
    notes = [f"warning: {d.where()}: {d.aspect} ({d.actual})" for d in role_findings(canon, "dump")]
    notes.extend(f"warning: {w}" for w in canon.warnings)
    access_source = access_source_of(config, access_source)
    if access_source is None or access_source == config.canonical:
        return plan, notes
    access_file = (config.root / access_source).resolve()
    if not access_file.is_relative_to(config.root.resolve()):
        raise ConfigError(f"--access-source {access_source!r} is outside the root {config.root}")
    if not access_file.is_file():
        raise ConfigError(f"{access_file}: not found (the roles and grants source); pass --access-source")
    access = read_source(access_file, access_source)
    plan.extend((access, s) for s in access.statements if s.kind == "access")
    return plan, notes


def apply_plan(
    session: Session,
    plan: list[tuple[Source, Statement]],
    access_control: bool,
    allow_destructive: bool,
    timeout_s: float,
    log: Callable[[StepOutcome], None] = lambda _: None,
) -> list[StepOutcome]:
    """Run the plan in order; a dead engine stops the run and the rest is `not_run`."""
    outcomes: list[StepOutcome] = []
    alive = True
    for source, stmt in plan:
        if alive:
            outcome = _apply_one(session, source, stmt, access_control, allow_destructive, timeout_s)
            alive = not outcome.detail.startswith(_LOST)
        else:
            outcome = StepOutcome(source.path, stmt.line, stmt.first_line, "not_run", "the engine stopped earlier")
        outcomes.append(outcome)
        log(outcome)
    return outcomes


def _apply_one(
    session: Session,
    source: Source,
    stmt: Statement,
    access_control: bool,
    allow_destructive: bool,
    timeout_s: float,
) -> StepOutcome:
    verdict = gate(stmt, access_control)
    if verdict.action == "skip":
        return StepOutcome(source.path, stmt.line, stmt.first_line, "skipped", verdict.reason)
    if verdict.action == "refuse":
        return StepOutcome(source.path, stmt.line, stmt.first_line, "refused", verdict.reason)
    started = time.monotonic()
    try:
        if not allow_destructive:
            refused = refusal(session, stmt)
            if refused:
                return StepOutcome(source.path, stmt.line, stmt.first_line, "refused", refused,
                                   round(time.monotonic() - started, 3))
        session.execute(stmt.text, timeout=timeout_s)
    except (EngineTimeout, EngineCrashed) as exc:
        return StepOutcome(source.path, stmt.line, stmt.first_line, "failed", f"{_LOST}{exc}",
                           round(time.monotonic() - started, 3))
    except EngineError as exc:
        return StepOutcome(source.path, stmt.line, stmt.first_line, "failed", str(exc),
                           round(time.monotonic() - started, 3))
    return StepOutcome(source.path, stmt.line, stmt.first_line, "ok", "", round(time.monotonic() - started, 3))


def run_bootstrap(
    config: Config,
    target: Target,
    allow_destructive: bool = False,
    access_source: str | None = None,
    write: Callable[[str], None] = lambda _: None,
) -> BootstrapResult:
    """Open the target, apply the plan, log every statement as it finishes."""
    started = time.monotonic()
    plan, notes = bootstrap_plan(config, access_source)
    access_source = access_source_of(config, access_source)
    session = open_target(target, write, timeout_s=config.timeout_s)
    try:
        write(f"chconform bootstrap: target {target.label()}, ClickHouse {session.version}")
        extra = sum(1 for s, _ in plan if s.path != config.canonical)
        write(f"plan: {config.canonical} ({len(plan) - extra} statements)"
              + (f", then the roles and grants of {access_source} ({extra} statements)" if extra or access_source
                 else "; no access source ([tool.chconform.bootstrap] access_source)"))
        for note in notes:
            write(note)
        width = max((len(f"{s.path}:{st.line}") for s, st in plan), default=0)
        outcomes = apply_plan(session, plan, target.kind != "embedded", allow_destructive, config.timeout_s,
                              lambda o: write(o.log_line(width)))
    finally:
        session.close()
    result = BootstrapResult(target.label(), session.version, tuple(outcomes), tuple(notes),
                             round(time.monotonic() - started, 3))
    write(f"elapsed: {result.duration_s:.2f}s")
    write(result.summary())
    return result
