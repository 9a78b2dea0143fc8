"""Upgrade-path proof: an existing database, upgraded step by step, must end at the canon without losing rows.

A path starts from nothing or from the canonical file as it was at a git
revision, then applies its steps in order on ONE instance (only the up part
of a migration tool's file). After the start and after every step, each empty
stored table gets a sentinel row, and within a step rows are counted after
every statement that may destroy them (checks/sentinels.py). At the end the
schema is compared with the current canon, built once (its idempotency is
`check`'s finding), and each difference is blamed on the statement that made
it (checks/blame.py).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chconform.checks.blame import blame, failed_statements
from chconform.checks.run import Skipped, StatementError, apply_statements, load_source
from chconform.checks.sentinels import (
    NO_UUID,
    Census,
    DataLoss,
    literal,
    marker_condition,
    may_destroy,
    quoted,
    replaced,
    retyped_columns,
    retyped_value,
    row_counts,
    seedable,
    sentinel_values,
    step_losses,
)
from chconform.config import Config, PathSpec, SourceSpec
from chconform.engines.base import Backend, Instance
from chconform.errors import ChconformError, ConfigError, EngineError
from chconform.model import Difference, Snapshot
from chconform.schema.compare import compare
from chconform.schema.queries import snapshot_query
from chconform.schema.snapshot import take_snapshot
from chconform.sql.cluster import one_node
from chconform.sql.migrations import StepFile, detect_format, up_part
from chconform.sql.source import Source, Statement, decode, split_statements
from chconform.sql.templates import substitute

__all__ = ["DataLoss", "PathResult", "canonical_snapshot", "load_step", "read_at_revision", "run_path"]

_VIEWS = ("View", "MaterializedView", "LiveView", "WindowView", "Dictionary")


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
        """A statement that failed on the way is never "reached": the schema may match by accident."""
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
    text, rewrites = one_node(substitute(text, dict(config.variables), shown))  # as read_source reads a file
    return Source(shown, text, encoding, tuple(split_statements(text)), tuple(warnings), rewrites)


def load_step(step: StepFile, variables: tuple[tuple[str, str], ...] = ()) -> Source:
    """A step as the migration tool applies it: only its up part, every statement at its line in the file."""
    source = load_source(SourceSpec(step.path, step.file, "step", variables=variables))
    fmt = detect_format(step.path, source.text) if step.format == "auto" else step.format
    text = up_part(source.text, fmt, step.path)
    if text == source.text:
        return source
    return replace(source, text=text, statements=tuple(split_statements(text)))


class _Walk:
    """The mutable walk of one path over one instance."""

    def __init__(self, instance: Instance, config: Config, access: bool) -> None:
        self.instance, self.config, self.access = instance, config, access
        self.seeded: list[str] = []
        self.not_seeded: dict[str, str] = {}
        self.errors: list[StatementError] = []
        self.skipped: list[Skipped] = []
        self.alive = True
        self.sentinels = 0
        self.markers: dict[str, tuple[str, str]] = {}  # table UUID and name → its sentinel's (text, day)

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.instance.query(sql, timeout=max(self.config.timeout_s, 10))

    def census(self) -> Census:
        """Rows of every stored table, counted (total_rows still counts rows a lightweight DELETE masked)."""
        stored = {t: uuid for t, (engine, _, uuid) in row_counts(self.query).items() if seedable(engine) is None}
        if not stored:
            return Census({})
        sql = " UNION ALL ".join(f"SELECT {literal(t)} AS t, count() AS n FROM {quoted(t)}" for t in stored)
        counted = {str(r["t"]): int(r["n"]) for r in self.query(sql)}
        return Census({t: (uuid, counted.get(t, 0)) for t, uuid in stored.items()})

    def snapshot(self) -> Snapshot:
        return take_snapshot(self.query, access=self.access)

    def apply(self, statements: list[Statement] | tuple[Statement, ...], source: str,
              deadline: float | None = None) -> None:
        deadline = time.monotonic() + self.config.timeout_s if deadline is None else deadline
        errs, skips, self.alive = apply_statements(self.instance, statements, 1, deadline, self.access, source)
        self.errors.extend(errs)
        self.skipped.extend(skips)

    def settle(self, deadline: float) -> None:
        """Wait for the mutations a statement started (ALTER … DELETE runs after the statement returns)."""
        pending = "SELECT count() AS n FROM system.mutations WHERE NOT is_done AND latest_fail_reason = ''"
        while time.monotonic() < deadline and int(self.query(pending)[0]["n"]):
            time.sleep(0.02)

    def step(self, source: Source) -> list[DataLoss]:
        """Apply one step; count rows after each statement that may destroy them; return the rows lost."""
        deadline = time.monotonic() + self.config.timeout_s
        baseline = self.census()
        kept = any(rows for _, rows in baseline.by_name.values())
        checkpoints: list[tuple[Statement | None, Census]] = []
        chunk: list[Statement] = []
        for stmt in source.statements:
            if kept and retyped_columns(stmt):  # the sentinels' text must not fail a conversion prod data passes
                self.apply(chunk, source.path, deadline)
                chunk = []
                self.adapt(stmt, deadline)
            chunk.append(stmt)
            if kept and may_destroy(stmt):
                self.apply(chunk, source.path, deadline)
                chunk = []
                if not self.alive:
                    return []
                if stmt.kind in ("alter", "other"):
                    self.settle(deadline)
                checkpoints.append((stmt, self.census()))
        if chunk or not source.statements:
            self.apply(chunk, source.path, deadline)
        if not (self.alive and kept):
            return []
        self.settle(deadline)
        checkpoints.append((None, self.census()))
        lost = step_losses(baseline, checkpoints, source.path)
        lost = [x for x in lost if not self._copied(x.table, baseline.by_name[x.table][0], elsewhere=True)]
        swapped = replaced(baseline, checkpoints, source.path)
        return lost + [x for x in swapped if self._copied(x.table, baseline.by_name[x.table][0], elsewhere=False)
                       is False]

    def adapt(self, stmt: Statement, deadline: float) -> None:
        """Before `MODIFY COLUMN` makes a String column another type, sentinels there take a value of that type."""
        if not self.alive or stmt.target is None:
            return
        types = {str(r["name"]): str(r["type"]) for r in self.query(snapshot_query("columns"))
                 if f"{r['database']}.{r['table']}" == stmt.target}
        for column, new_type in retyped_columns(stmt):
            value = retyped_value(types.get(column, ""), new_type)
            if value is None:
                continue
            name = "`" + column.replace("`", "\\`") + "`"
            try:  # a key column cannot be updated: then the statement meets the sentinel as it is
                getattr(self.instance, "execute_own", self.instance.execute)(
                    f"ALTER TABLE {quoted(stmt.target)} UPDATE {name} = {value} "
                    f"WHERE {name} LIKE 'chconform sentinel %'", timeout=self.config.timeout_s)
            except EngineError:
                continue
        self.settle(deadline)

    def _copied(self, table: str, uuid: str, elsewhere: bool) -> bool | None:
        """True if the table's sentinel lives on in another table (copied there before the table went), or
        (not `elsewhere`) under its own name too; None if its sentinel carries nothing to recognise it by."""
        marker = self.markers.get(uuid) or self.markers.get(table)
        if marker is None:
            return None
        stored = {t for t, (engine, _, u) in row_counts(self.query).items()
                  if seedable(engine) is None and not (elsewhere and (t == table or (u == uuid != NO_UUID)))}
        columns: dict[str, list[tuple[str, str, str]]] = {}
        for r in self.query(snapshot_query("columns")):
            fqn = f"{r['database']}.{r['table']}"
            if fqn in stored:
                columns.setdefault(fqn, []).append((str(r["name"]), str(r["type"]), str(r["default_kind"] or "")))
        for fqn, cols in sorted(columns.items()):
            where = marker_condition(cols, *marker)
            if where and int(self.query(f"SELECT count() AS n FROM {quoted(fqn)} WHERE {where}")[0]["n"]):
                return True
        return False

    def seed(self) -> None:
        """One sentinel row into every empty plain table, so each later step's losses show."""
        tables = {f"{r['database']}.{r['name']}": str(r["engine_full"]) for r in self.query(snapshot_query("tables"))}
        columns: dict[str, list[tuple[str, str, str]]] = {}
        for r in self.query(snapshot_query("columns")):
            columns.setdefault(f"{r['database']}.{r['table']}", []).append(
                (str(r["name"]), str(r["type"]), str(r["default_kind"] or "")))
        for table, (engine, rows, uuid) in row_counts(self.query).items():
            if engine in _VIEWS or table in self.not_seeded or rows:
                continue
            why = seedable(engine)
            if why is None:
                why = self._insert_sentinel(table, uuid, tables.get(table, engine), columns.get(table, []))
                if why is None:
                    if table not in self.seeded:
                        self.seeded.append(table)
                    continue
            self.not_seeded[table] = why

    def _insert_sentinel(self, table: str, uuid: str, engine_full: str,
                         columns: list[tuple[str, str, str]]) -> str | None:
        """Insert the sentinel (defaults if the built row is refused); None if a row went in, else why not."""
        self.sentinels += 1
        values = sentinel_values(columns, engine_full, self.sentinels)
        marked = marker_condition([c for c in columns if c[0] in dict(values)], "", "") is not None
        tries = []
        if values:
            names = ", ".join("`" + c.replace("`", "\\`") + "`" for c, _ in values)
            tries.append((f"INSERT INTO {quoted(table)} ({names}) SELECT {', '.join(v for _, v in values)}", marked))
        tries.append((f"INSERT INTO {quoted(table)} FORMAT JSONEachRow {{}}", False))
        why = ""
        for sql, marker in tries:
            try:
                # chconform's own statement: in the verdict session where the engine has one (no source's SET)
                getattr(self.instance, "execute_own", self.instance.execute)(sql, timeout=self.config.timeout_s)
            except EngineError as exc:
                why = f"insert refused: {exc}"
                continue
            if marker:  # by UUID (it follows RENAME/EXCHANGE) and by name (a rebuilt table keeps it)
                day = str(self.query(f"SELECT toString(today() + {self.sentinels}) AS d")[0]["d"])
                for key in (uuid, table) if uuid != NO_UUID else (table,):
                    self.markers[key] = (f"chconform sentinel {self.sentinels}", day)
            return None
        return why


def canonical_snapshot(config: Config, backend: Backend) -> Snapshot:
    """The current canon, built once on a fresh instance; a canon whose build fails stops the run.

    Only round 1 counts here: whether the canon can be applied twice is `check`'s finding, not the path's.
    """
    source = load_source(config.canonical_source)
    instance = backend.instance()
    walk = _Walk(instance, config, backend.supports_access_control)
    snap: Snapshot | None = None
    try:
        walk.apply([s for text in config.prelude for s in split_statements(text)], "prelude")
        if walk.alive:
            walk.apply(source.statements, source.path)
        if walk.alive and not walk.errors:
            snap = walk.snapshot()
    finally:
        instance.close()
    if walk.errors or snap is None:
        first = walk.errors[0] if walk.errors else None
        where = f" ({first.source}:{first.line} {first.name}: {first.message})" if first else ""
        raise ChconformError(f"the canonical source {config.canonical} does not build{where}; run `chconform check`")
    return snap


# ---- the walk --------------------------------------------------------------------------------------------

def run_path(
    config: Config, backend: Backend, spec: PathSpec, canon: Snapshot, from_rev: str | None = None
) -> PathResult:
    """Walk one path on one fresh instance and judge where it ends."""
    started = time.monotonic()
    rev = from_rev or spec.from_rev
    start = read_at_revision(config, rev) if rev else None
    steps = [load_step(f, config.variables) for f in spec.files]
    prelude = [s for text in config.prelude for s in split_statements(text)]
    access = backend.supports_access_control
    data_loss: list[DataLoss] = []
    stages: list[tuple[Source | None, Snapshot]] = []
    instance = backend.instance()
    walk = _Walk(instance, config, access)
    try:
        walk.apply(prelude, "prelude")
        if start is not None and walk.alive:
            walk.apply(start.statements, start.path)
        if walk.alive:
            stages.append((start, walk.snapshot()))
            walk.seed()
        for source in steps:
            if not walk.alive:
                break
            data_loss.extend(walk.step(source))
            if not walk.alive:
                break
            stages.append((source, walk.snapshot()))
            walk.seed()
    except EngineError as exc:  # a catalog query failed: the instance is unusable
        walk.errors.append(StatementError(0, 0, exc.code, exc.name, exc.message, "(snapshot)", spec.name))
        walk.alive = False
    finally:
        instance.close()
    differences: list[Difference] = []
    if walk.alive and len(stages) == len(steps) + 1:
        final = stages[-1][1]
        keys = set(config.key_tables)
        shared = (set(canon.names) & set(final.names)) - keys
        judged = [d for d in compare(canon, final, sorted(keys), missing=True) if d.object in keys]
        judged += [d for d in compare(canon, final, sorted(shared)) if d.object in shared]
        failed = failed_statements(walk.errors)
        last = steps[-1].path if steps else ""
        differences = [blame(d, canon, stages, failed, last) for d in judged]
    warnings = tuple(w for s in ([start] if start else []) + steps for w in s.warnings)
    return PathResult(
        name=spec.name,
        steps=spec.step_paths,
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
