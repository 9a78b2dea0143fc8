"""The conformance run: every source on its own fresh instance, applied twice, compared with the canon."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from chconform.checks.cache import ResultCache
from chconform.checks.cached import (
    CachedFinal,
    CachedSource,
    backend_identity,
    cached_run,
    final_key,
    source_key,
    specs_of,
)
from chconform.checks.results import RunResult, Skipped, SourceResult, StatementError
from chconform.checks.rules import apply_rules, role_findings
from chconform.config import Config, SourceSpec
from chconform.engines.base import Backend, Instance
from chconform.engines.server_defaults import macros_of
from chconform.errors import EngineCrashed, EngineError, EngineTimeout, SourceError, engine_position
from chconform.gate.decide import refusal
from chconform.gate.policy import Verdict, gate
from chconform.model import Difference, Snapshot
from chconform.schema.compare import compare, compare_tables
from chconform.schema.snapshot import take_snapshot
from chconform.sql.cluster import note, with_replication
from chconform.sql.locate import column_line
from chconform.sql.source import Source, Statement, read_source

__all__ = [
    "StatementError",
    "Skipped",
    "SourceResult",
    "RunResult",
    "apply_statements",
    "check_source",
    "apply_source",
    "finish_source",
    "AppliedSource",
    "run_check",
    "load_source",
]


def load_source(spec: SourceSpec) -> Source:
    return read_source(spec.file, spec.path, variables=spec.variables, max_bytes=spec.max_bytes)


def apply_statements(
    instance: Instance,
    statements: tuple[Statement, ...] | list[Statement],
    round_no: int,
    deadline: float,
    access_control: bool,
    source: str = "",
) -> tuple[list[StatementError], list[Skipped], bool]:
    """Run statements in order; return errors, skipped, and whether the instance is still usable.

    An instance with `execute_many` gets every statement the policy lets through in one request (one
    round trip instead of one per statement); the outcome is the same as running them one by one.
    """
    errors: list[StatementError] = []
    skipped: list[Skipped] = []
    execute_many = getattr(instance, "execute_many", None)
    if execute_many is not None:
        return _apply_in_one_request(execute_many, statements, round_no, deadline, access_control, source)
    for stmt in statements:
        verdict = _gated(stmt, access_control)
        if verdict.action == "skip":
            skipped.append(Skipped(stmt.line, verdict.reason, stmt.first_line))
            continue
        if verdict.action == "refuse":
            errors.append(StatementError(round_no, stmt.line, *refusal(verdict), stmt.first_line, source))
            continue
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise EngineTimeout(None, "TIMEOUT", "the source's time budget (timeout_s) is spent")
            instance.execute(stmt.text, timeout=left)
        except EngineError as exc:
            errors.append(_statement_error(round_no, stmt, exc, source))
            if isinstance(exc, (EngineTimeout, EngineCrashed)):
                return errors, skipped, False
    return errors, skipped, True


def _apply_in_one_request(
    execute_many: Callable[..., list[EngineError | None]],
    statements: Sequence[Statement],
    round_no: int,
    deadline: float,
    access_control: bool,
    source: str,
) -> tuple[list[StatementError], list[Skipped], bool]:
    """`apply_statements` with one request; what follows a timeout or crash is neither run nor reported."""
    verdicts = [_gated(stmt, access_control) for stmt in statements]
    runnable = [i for i, v in enumerate(verdicts) if v.action == "run"]
    outcomes: dict[int, EngineError | None] = {}
    left = deadline - time.monotonic()
    if runnable and left <= 0:
        outcomes[runnable[0]] = EngineTimeout(None, "TIMEOUT", "the source's time budget (timeout_s) is spent")
    elif runnable:
        outcomes = dict(zip(runnable, execute_many([statements[i].text for i in runnable], timeout=left)))
    last = max(outcomes, default=None)
    stopped = last if last is not None and isinstance(outcomes[last], (EngineTimeout, EngineCrashed)) else None
    errors: list[StatementError] = []
    skipped: list[Skipped] = []
    for i, (stmt, verdict) in enumerate(zip(statements, verdicts)):
        if stopped is not None and i > stopped:
            break
        if verdict.action == "skip":
            skipped.append(Skipped(stmt.line, verdict.reason, stmt.first_line))
        elif verdict.action == "refuse":
            errors.append(StatementError(round_no, stmt.line, *refusal(verdict), stmt.first_line, source))
        elif (exc := outcomes.get(i)) is not None:
            errors.append(_statement_error(round_no, stmt, exc, source))
    return errors, skipped, stopped is None


_VERDICTS: dict[tuple[str, str, bool], Verdict] = {}


def _gated(stmt: Statement, access_control: bool) -> Verdict:
    """`gate`, once per statement text and kind (both rounds, and every file repeating a definition, share it)."""
    key = (stmt.kind, stmt.text, access_control)
    verdict = _VERDICTS.get(key)
    if verdict is None:
        verdict = gate(stmt, access_control)
        if len(_VERDICTS) < 100_000:
            _VERDICTS[key] = verdict
    return verdict


def _statement_error(round_no: int, stmt: Statement, exc: EngineError, source: str) -> StatementError:
    if isinstance(exc, (EngineTimeout, EngineCrashed)):
        return StatementError(round_no, stmt.line, exc.code, exc.name, exc.message, stmt.first_line, source)
    line, column = _error_position(stmt, exc.message)
    return StatementError(round_no, line, exc.code, exc.name, exc.message, stmt.first_line, source, column)


def _error_position(stmt: Statement, message: str) -> tuple[int, int]:
    """File line and column of a syntax error (ClickHouse counts bytes from the statement's start)."""
    offset = engine_position(message)
    if offset is None:
        return stmt.line, 0
    before = stmt.text.encode("utf-8")[: max(offset - 1, 0)].decode("utf-8", "ignore")
    lines = before.split("\n")
    column = len(lines[-1]) + 1 + (stmt.column - 1 if len(lines) == 1 else 0)
    return stmt.line + len(lines) - 1, column


def _prelude(config: Config) -> tuple[Statement, ...]:
    from chconform.sql.source import split_statements

    return tuple(s for text in config.prelude for s in split_statements(text))


@dataclass(frozen=True)
class AppliedSource:
    """A source applied twice on its own instance, not yet compared with the canon (which may still be building)."""

    spec: SourceSpec
    source: Source | None  # None: unreadable
    result: SourceResult  # everything but the canonical differences
    snapshot: Snapshot | None  # round 1


def check_source(
    backend: Backend,
    config: Config,
    spec: SourceSpec,
    canonical: Snapshot | None,
) -> tuple[SourceResult, Snapshot | None]:
    """Apply one source twice on a fresh instance; return its result and round-1 snapshot."""
    return finish_source(config, apply_source(backend, config, spec), canonical)


def finish_source(
    config: Config, applied: AppliedSource, canonical: Snapshot | None
) -> tuple[SourceResult, Snapshot | None]:
    """Compare an applied source with the canon (pure): its final result and round-1 snapshot."""
    started = time.monotonic()
    result, snap1, source = applied.result, applied.snapshot, applied.source
    found: list[Difference] = []
    if snap1 is not None and source is not None and canonical is not None and applied.spec.path != config.canonical:
        found = _attribute(compare(canonical, snap1), source, "canonical")
    if source is None:
        return result, snap1
    policy = apply_rules([*result.differences, *found], source, config.rule_severity)
    took = round(result.duration_s + time.monotonic() - started, 3)
    return replace(result, differences=policy.errors, warnings=result.warnings + policy.warnings,
                   ignored=result.ignored + policy.ignored, duration_s=took), snap1


def apply_source(backend: Backend, config: Config, spec: SourceSpec) -> AppliedSource:
    """Apply one source twice on a fresh instance: errors, idempotency, duplicates, role rules, must_define."""
    started = time.monotonic()
    try:
        source = load_source(spec)
    except SourceError as exc:
        err = StatementError(0, 0, None, "UNREADABLE", str(exc), "", spec.path)
        unreadable = SourceResult(spec.path, spec.role, errors=(err,), duration_s=time.monotonic() - started)
        return AppliedSource(spec, None, unreadable, None)
    access = backend.supports_access_control
    errors: list[StatementError] = []
    skipped: list[Skipped] = []
    diffs: list[Difference] = list(role_findings(source, spec.role))
    snap1: Snapshot | None = None
    creates_functions = any(s.kind == "create_function" for s in (*_prelude(config), *source.statements))
    instance = backend.instance()
    try:
        alive = True
        for round_no in (1, 2):
            deadline = time.monotonic() + config.timeout_s
            pre_errors, _, alive = apply_statements(instance, _prelude(config), round_no, deadline, access, "prelude")
            errors.extend(pre_errors)
            if alive:
                errs, skips, alive = apply_statements(instance, source.statements, round_no, deadline, access, spec.path)
                errors.extend(errs)
                if round_no == 1:
                    skipped.extend(skips)
            if not alive:
                break
            snap = take_snapshot(lambda sql: instance.query(sql, timeout=max(config.timeout_s, 10)), access=access,
                                 functions=creates_functions)
            snap = with_replication(snap, source, macros_of(config))
            if round_no == 1:
                snap1 = snap
            else:
                assert snap1 is not None
                diffs.extend(_idempotency(snap1, snap, source))
        if alive and snap1 is not None:
            diffs.extend(_duplicates(instance, source, config))
    except EngineError as exc:  # a snapshot query failed: the instance is unusable
        errors.append(StatementError(0, 0, exc.code, exc.name, exc.message, "(snapshot)", spec.path))
    finally:
        instance.close()
    defined: tuple[str, ...] = tuple(snap1.names) if snap1 else ()
    missing: tuple[str, ...] = ()
    if snap1 is not None:
        missing = _missing(spec.must_define, snap1, source, errors)
    result = SourceResult(
        path=spec.path,
        role=spec.role,
        errors=tuple(replace(e, source=e.source or spec.path, statement=_shown(e.statement, source))
                     for e in _once(errors, source)),
        differences=tuple(diffs),
        missing_tables=missing,
        skipped=tuple(skipped),
        warnings=source.warnings,
        defined=defined,
        duration_s=round(time.monotonic() - started, 3),
        notes=tuple(n for n in (note(source),) if n),
    )
    return AppliedSource(spec, source, result, snap1)


def _once(errors: list[StatementError], source: Source | None = None) -> list[StatementError]:
    """One finding per cause: a round-2 error that repeats the same statement's round-1 error is not shown again,
    nor an "unknown table/database" error about an object whose own CREATE failed (and is shown) before it."""
    first = {(e.source, e.line, e.code, e.name, e.message) for e in errors if e.round == 1}
    out = [e for e in errors if e.round != 2 or (e.source, e.line, e.code, e.name, e.message) not in first]
    if source is None:
        return out
    kept: list[StatementError] = []
    failed: dict[int, set[str]] = {}  # round → names whose CREATE failed so far
    for e in out:
        gone = failed.setdefault(e.round, set())
        if e.name in _CONSEQUENCES and any(_names(e.message, n) for n in gone):
            continue
        kept.append(e)
        for stmt in source.statements:
            if stmt.kind.startswith("create_") and stmt.target and stmt.line <= e.line <= stmt.line + stmt.text.count("\n"):
                gone.add(stmt.target.split(".", 1)[1] if stmt.kind == "create_database" else stmt.target)
    return kept


def _shown(statement: str, source: Source) -> str:
    """A statement's first line as shown; where the one-node rewrite blanked a clause, without the gap."""
    return " ".join(statement.split()) if source.rewrites else statement


_CONSEQUENCES = frozenset({"UNKNOWN_TABLE", "UNKNOWN_DATABASE"})


def _names(message: str, name: str) -> bool:
    """Whether ClickHouse's message is about `name` (`Table db.t does not exist`, `Database db does not exist`)."""
    return re.search(rf"(?<![\w.`]){re.escape(name)}(?![\w`])", message.replace("`", "")) is not None


def _missing(must: tuple[str, ...], snap: Snapshot, source: Source, errors: list[StatementError]) -> tuple[str, ...]:
    """Tables `must_define` names that are absent, less those whose CREATE failed (that error is already shown)."""
    failed = {e.line for e in errors if e.round == 1}
    out = []
    for table in must:
        if snap.table(table) is not None:
            continue
        creates = source.creates(table)
        if creates and any(s.line <= line <= s.line + s.text.count("\n") for s in creates for line in failed):
            continue
        out.append(table)
    return tuple(out)


def _attribute(diffs: list[Difference], source: Source, check: str) -> list[Difference]:
    """Name the file and the line of the statement that defined each differing object."""
    out = []
    for d in diffs:
        creates = source.creates(d.object)
        line = creates[-1].line if creates else None
        if creates and d.column:  # a column's finding at the line that last defined the column (ALTER or CREATE)
            line = _column_defined_at(source, creates[-1], d.object, d.column) or line
        out.append(replace(d, source=source.path, line=line, check=check))
    return out


def _column_defined_at(source: Source, create: Statement, table: str, column: str) -> int | None:
    """The line of the last ADD/MODIFY COLUMN of `column` after the table's CREATE, else its line in the CREATE."""
    for stmt in reversed(source.statements):
        if stmt.start <= create.start:
            break
        if stmt.kind == "alter" and stmt.target == table and (line := column_line(stmt, column)):
            return line
    return column_line(create, column)


def _idempotency(first: Snapshot, second: Snapshot, source: Source) -> list[Difference]:
    diffs = compare(first, second, sorted(set(first.names) | set(second.names)), missing=True)
    renamed = [replace(d, aspect="round2_" + d.aspect) for d in diffs]
    return _attribute(renamed, source, "idempotency")


def _duplicates(instance: Instance, source: Source, config: Config) -> list[Difference]:
    """Build every definition of a table defined twice in one file side by side and compare them.

    Only definitions the later one would silently keep count: a `CREATE OR REPLACE`, or a CREATE after a
    DROP of the same object, replaces what stood before and starts afresh."""
    groups: list[tuple[str, list[Statement]]] = []
    current: dict[str, list[Statement]] = {}
    for stmt in source.statements:
        if stmt.kind == "drop_table" and stmt.target:
            current.pop(stmt.target, None)
        elif stmt.kind in ("create_table", "create_view", "create_materialized_view") and stmt.target and stmt.target_span:
            if stmt.or_replace or stmt.target not in current:
                current[stmt.target] = []
                groups.append((stmt.target, current[stmt.target]))
            current[stmt.target].append(stmt)
    out: list[Difference] = []
    for k, (target, stmts) in enumerate((t, s) for t, s in groups if len(s) > 1):
        built = []
        for j, stmt in enumerate(stmts):
            db = f"_chconform_dup_{k}_{j}"
            a, b = stmt.target_span  # type: ignore[misc]
            text = stmt.text[:a] + f"{db}.`{target.split('.', 1)[1]}`" + stmt.text[b:]
            try:
                instance.execute(f"CREATE DATABASE IF NOT EXISTS {db}", timeout=config.timeout_s)
                instance.execute(text, timeout=config.timeout_s)
                built.append((stmt, db))
            except EngineError:
                continue  # it failed in the real rounds too, and is reported there
        if len(built) < 2:
            continue
        snap = take_snapshot(lambda sql: instance.query(sql, timeout=config.timeout_s), functions=False)
        first_stmt, first_db = built[0]
        name = target.split(".", 1)[1]
        base = snap.table(f"{first_db}.{name}")
        for stmt, db in built[1:]:
            other = snap.table(f"{db}.{name}")
            if base is None or other is None:
                continue
            for d in compare_tables(replace(base, database=target.split(".")[0]), replace(other, database=target.split(".")[0])):
                if d.aspect == "view_query":
                    continue  # the query text names the scratch database; compared by columns instead
                out.append(replace(d, aspect="duplicate_" + d.aspect, source=source.path, line=stmt.line, check="duplicate",
                                   canonical=f"{d.canonical} (line {first_stmt.line})"))
    return out


def _applied(backend: Backend, config: Config, spec: SourceSpec, progress: Callable[[str, float], None] | None,
             cache: ResultCache | None = None, key: str | None = None) -> tuple[AppliedSource, CachedSource | None]:
    """Apply one source, or take it from the cache under `key` (then the entry is returned); tell `progress`."""
    started = time.monotonic()
    hit = cache.get(key, CachedSource) if cache is not None and key is not None else None
    if hit is not None:
        applied = AppliedSource(spec, load_source(spec), hit.result, hit.snapshot)
    else:
        applied = apply_source(backend, config, spec)
        if cache is not None and key is not None and applied.source is not None:
            cache.put(key, CachedSource(applied.result, applied.snapshot, backend.version(),
                                        str(getattr(backend, "sandbox", "none"))))
    if progress is not None:
        progress(spec.path + (" (cached)" if hit is not None else ""), time.monotonic() - started)
    return applied, hit


def run_check(config: Config, backend: Backend, jobs: int = 2, only: list[str] | None = None,
              progress: Callable[[str, float], None] | None = None, cache: ResultCache | None = None) -> RunResult:
    """Apply every source in parallel, the canonical one first; then compare each with the canon's round-1 snapshot.

    No source waits for the canon to be built: only the comparison needs it, and that is pure and quick.
    With a `cache`, a source whose every input is unchanged is not applied again, and a source whose inputs
    and the canon's are unchanged is not even compared again (see checks/cached.py).
    """
    specs = specs_of(config, only)
    engine = backend_identity(backend, config) if cache is not None else ""
    keys = {s.path: source_key(cache, config, engine, s) for s in specs} if cache is not None else {}
    if cache is not None:
        whole = cached_run(config, cache, engine, backend.name, only, progress)
        if whole is not None:
            return whole
    todo = [s for s in specs if cache is None or (key := keys[s.path]) is None or not cache.has(key)]
    reserve = getattr(backend, "reserve", None)
    if callable(reserve) and todo:  # start the engines for every job now, not one by one on first use
        reserve(max(1, min(jobs, len(todo))), spares=0 if len(todo) <= jobs else None, total=len(todo))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(lambda s: _applied(backend, config, s, progress, cache, keys.get(s.path)), specs))
    applied = [a for a, _ in done]
    canon_result, canon_snap = finish_source(config, applied[0], None)
    results = [canon_result] + [finish_source(config, a, canon_snap)[0] for a in applied[1:]]
    hits = [c for _, c in done if c is not None]
    facts = hits[0] if hits and len(hits) == len(done) else None  # no engine started: its facts come from the cache
    version = facts.clickhouse_version if facts else backend.version()
    sandbox = facts.sandbox if facts else str(getattr(backend, "sandbox", "none"))
    if cache is not None:
        for spec, result in zip(specs, results):
            final = final_key(cache, keys, spec.path, specs[0].path)
            if final is not None and not any(e.round == 0 for e in result.errors):
                cache.put(final, CachedFinal(result, version, sandbox))
    ordered = results if only is None or config.canonical in only else results[1:]
    return RunResult(backend=backend.name, clickhouse_version=version, canonical=config.canonical,
                     key_tables=config.key_tables, sources=tuple(ordered), sandbox=sandbox,
                     extra={"cached": f"{len(hits)} of {len(done)}"} if cache is not None else {})
