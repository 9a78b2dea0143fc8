"""Upgrade-path proof: an existing database, upgraded step by step, must end at the canon without losing rows.

A path starts from nothing or from the canonical file as it was at a git
revision, then applies its steps in order on ONE instance. After the start
and after every step, each empty plain table gets one sentinel row of
defaults; rows counted before and after each step show what that step
destroyed. At the end the schema is compared with the current canon: a key
table that does not reach it (say, a `CREATE TABLE IF NOT EXISTS` that left
the old table in place) is a finding, and so is every lost row.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chconform.engines.base import Backend, Instance
from chconform.schema.compare import compare
from chconform.config import Config, PathSpec, SourceSpec
from chconform.errors import ChconformError, ConfigError, EngineError
from chconform.model import Difference, Snapshot
from chconform.checks.run import Skipped, StatementError, apply_statements, check_source, load_source
from chconform.schema.queries import snapshot_query
from chconform.schema.snapshot import take_snapshot
from chconform.sql.source import Source, Statement, decode, split_statements

__all__ = [
    "DataLoss",
    "PathResult",
    "read_at_revision",
    "row_counts",
    "losses",
    "seedable",
    "run_path",
    "canonical_snapshot",
]

_SEEDABLE = ("Memory", "Log", "TinyLog", "StripeLog")
_VIEWS = ("View", "MaterializedView", "LiveView", "WindowView", "Dictionary")


@dataclass(frozen=True)
class DataLoss:
    """Rows of one table that one step destroyed."""

    table: str
    before: int
    after: int
    step: str
    line: int | None = None
    statement: str = ""

    @property
    def lost(self) -> int:
        return self.before - self.after


@dataclass(frozen=True)
class PathResult:
    """What one path did: statement errors, distance from the canon, and lost rows."""

    name: str
    steps: tuple[str, ...]
    from_rev: str | None = None
    errors: tuple[StatementError, ...] = ()
    differences: tuple[Difference, ...] = ()
    data_loss: tuple[DataLoss, ...] = ()
    seeded: tuple[str, ...] = ()
    not_seeded: tuple[tuple[str, str], ...] = ()  # (table, why)
    skipped: tuple[Skipped, ...] = ()
    key_tables: tuple[str, ...] = ()
    duration_s: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def reaches_canon(self) -> bool:
        return not (self.errors or self.differences)

    def ok(self, accept_data_loss: bool = False) -> bool:
        return self.reaches_canon and (accept_data_loss or not self.data_loss)


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise ConfigError("--from-rev needs git on PATH") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"git {' '.join(args)}: {message[0] if message else 'failed'}")
    return done.stdout


def read_at_revision(config: Config, rev: str) -> Source:
    """The canonical source as it was at `rev` (`git show REV:path`, no shell)."""
    if not rev or rev.startswith("-"):
        raise ConfigError(f"--from-rev {rev!r} is not a revision")
    file = config.canonical_source.file.resolve()
    top = Path(_git(["rev-parse", "--show-toplevel"], file.parent).decode().strip()).resolve()
    try:
        rel = file.relative_to(top).as_posix()
    except ValueError:
        raise ConfigError(f"--from-rev: {file} is not inside the git repository {top}") from None
    data = _git(["show", f"{rev}:{rel}"], top)
    shown = f"{config.canonical}@{rev}"
    text, encoding, warnings = decode(data, shown)
    return Source(shown, text, encoding, tuple(split_statements(text)), tuple(warnings))


def seedable(engine: str) -> str | None:
    """None if a sentinel row can go into a table with this engine, else why not."""
    if engine.endswith("MergeTree") or engine in _SEEDABLE:
        return None
    return f"engine {engine} (not a plain stored table)"


def row_counts(query: Callable[[str], list[dict[str, Any]]]) -> dict[str, tuple[str, int | None]]:
    """Every table → (engine, rows); rows are None where the engine does not keep a count."""
    out: dict[str, tuple[str, int | None]] = {}
    for r in query(snapshot_query("row_counts")):
        if str(r["name"]).startswith(".inner"):
            continue
        rows = r.get("total_rows")
        out[f"{r['database']}.{r['name']}"] = (str(r["engine"]), int(rows) if rows is not None else None)
    return out


def _destroyer(source: Source, table: str) -> Statement | None:
    """The statement of a step that most plausibly destroyed `table`'s rows."""
    database = table.split(".", 1)[0]
    for stmt in source.statements:
        if stmt.kind in ("drop_table", "truncate") and stmt.target == table:
            return stmt
        if stmt.kind == "drop_database" and stmt.target and stmt.target.split(".")[-1] == database:
            return stmt
        if stmt.kind == "create_table" and stmt.or_replace and stmt.target == table:
            return stmt
    return next((s for s in source.statements if s.target == table and s.kind in ("alter", "rename")), None)


def losses(before: dict[str, int], after: dict[str, int], source: Source) -> list[DataLoss]:
    """Pure: tables with fewer rows after the step than before (a vanished table has 0)."""
    out = []
    for table in sorted(before):
        now = after.get(table, 0)
        if now < before[table]:
            stmt = _destroyer(source, table)
            out.append(DataLoss(table, before[table], now, source.path, stmt.line if stmt else None,
                                stmt.first_line if stmt else ""))
    return out


def _quoted(fqn: str) -> str:
    return ".".join("`" + part.replace("`", "\\`") + "`" for part in fqn.split(".", 1))


class _Path:
    """The mutable walk of one path over one instance."""

    def __init__(self, instance: Instance, config: Config, access: bool) -> None:
        self.instance, self.config, self.access = instance, config, access
        self.seeded: list[str] = []
        self.not_seeded: dict[str, str] = {}
        self.errors: list[StatementError] = []
        self.skipped: list[Skipped] = []
        self.alive = True

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.instance.query(sql, timeout=max(self.config.timeout_s, 10))

    def counts(self) -> dict[str, int]:
        out = {}
        for table, (engine, rows) in row_counts(self.query).items():
            if seedable(engine) is None:
                if rows is None:
                    got = self.query(f"SELECT count() AS n FROM {_quoted(table)}")
                    rows = int(got[0]["n"]) if got else 0
                out[table] = rows
        return out

    def apply(self, statements: tuple[Statement, ...] | list[Statement], source: str) -> None:
        deadline = time.monotonic() + self.config.timeout_s
        errs, skips, self.alive = apply_statements(self.instance, statements, 1, deadline, self.access, source)
        self.errors.extend(errs)
        self.skipped.extend(skips)

    def seed(self) -> None:
        """One sentinel row of defaults into every empty plain table, so each later step's losses show."""
        for table, (engine, rows) in row_counts(self.query).items():
            if engine in _VIEWS or table in self.not_seeded or rows:
                continue
            why = seedable(engine)
            if why is None:
                try:
                    self.instance.execute(f"INSERT INTO {_quoted(table)} FORMAT JSONEachRow {{}}",
                                          timeout=self.config.timeout_s)
                    if table not in self.seeded:
                        self.seeded.append(table)
                    continue
                except EngineError as exc:
                    why = f"insert refused: {exc}"
            self.not_seeded[table] = why


def canonical_snapshot(config: Config, backend: Backend) -> Snapshot:
    """The current canon, built on a fresh instance; a canon that does not build stops the run."""
    result, snap = check_source(backend, config, config.canonical_source, None)
    if result.errors or snap is None:
        first = result.errors[0] if result.errors else None
        where = f" ({first.source}:{first.line} {first.name}: {first.message})" if first else ""
        raise ChconformError(f"the canonical source {config.canonical} does not build{where}; run `chconform check`")
    return snap


def _steps(config: Config, spec: PathSpec) -> list[Source]:
    out = []
    for step in spec.steps:
        file = (config.root / step).resolve()
        if not file.is_relative_to(config.root.resolve()):
            raise ConfigError(f"{config.config_file}: path {spec.name!r}: step {step!r} is outside the root "
                              f"{config.root}")
        if not file.is_file():
            raise ConfigError(f"{config.config_file}: path {spec.name!r}: step {step!r} not found under {config.root}")
        out.append(load_source(SourceSpec(step, file, "migration")))
    return out


def run_path(
    config: Config, backend: Backend, spec: PathSpec, canon: Snapshot, from_rev: str | None = None
) -> PathResult:
    """Walk one path on one fresh instance and judge where it ends."""
    started = time.monotonic()
    rev = from_rev or spec.from_rev
    start = read_at_revision(config, rev) if rev else None
    steps = _steps(config, spec)
    prelude = [s for text in config.prelude for s in split_statements(text)]
    access = backend.supports_access_control
    data_loss: list[DataLoss] = []
    final: Snapshot | None = None
    instance = backend.instance()
    walk = _Path(instance, config, access)
    try:
        walk.apply(prelude, "prelude")
        if start is not None and walk.alive:
            walk.apply(start.statements, start.path)
        if walk.alive:
            walk.seed()
        for source in steps:
            if not walk.alive:
                break
            before = walk.counts()
            walk.apply(source.statements, source.path)
            if not walk.alive:
                break
            data_loss.extend(losses(before, walk.counts(), source))
            walk.seed()
        if walk.alive:
            final = take_snapshot(walk.query, access=access)
    except EngineError as exc:  # a catalog query failed: the instance is unusable
        walk.errors.append(StatementError(0, 0, exc.code, exc.name, exc.message, "(snapshot)", spec.name))
    finally:
        instance.close()
    differences: list[Difference] = []
    if final is not None:
        keys = set(config.key_tables)
        shared = (set(canon.names) & set(final.names)) - keys
        judged = [d for d in compare(canon, final, sorted(keys), missing=True) if d.object in keys]
        judged += [d for d in compare(canon, final, sorted(shared)) if d.object in shared]
        differences = [_attribute(d, steps, start) for d in judged]
    warnings = tuple(w for s in ([start] if start else []) + steps for w in s.warnings)
    return PathResult(
        name=spec.name,
        steps=spec.steps,
        from_rev=rev,
        errors=tuple(walk.errors),
        differences=tuple(differences),
        data_loss=tuple(data_loss),
        seeded=tuple(walk.seeded),
        not_seeded=tuple(sorted(walk.not_seeded.items())),
        skipped=tuple(walk.skipped),
        key_tables=config.key_tables,
        duration_s=round(time.monotonic() - started, 3),
        warnings=warnings,
    )


def _attribute(d: Difference, steps: list[Source], start: Source | None) -> Difference:
    """Name the last step that defined the object (or the starting canon, if none did)."""
    for source in reversed(([start] if start else []) + steps):
        creates = source.creates(d.object)
        if creates:
            return replace(d, source=source.path, line=creates[-1].line, check="path")
    return replace(d, source=steps[-1].path if steps else "", check="path")
