"""The conformance run: every source on its own fresh instance, applied twice, compared with the canon."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from chconform.checks.cache import ResultCache, code_digest
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


@dataclass(frozen=True)
class StatementError:
    """A statement ClickHouse refused (or that could not run): where, which round, why."""

    round: int
    line: int
    code: int | None
    name: str | None
    message: str
    statement: str
    source: str = ""
    column: int = 0  # set when ClickHouse's parser names the position of a syntax error


@dataclass(frozen=True)
class Skipped:
    line: int
    reason: str
    statement: str


@dataclass(frozen=True)
class SourceResult:
    """Everything one source's check found."""

    path: str
    role: str
    errors: tuple[StatementError, ...] = ()
    differences: tuple[Difference, ...] = ()
    missing_tables: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    warnings: tuple[str, ...] = ()
    defined: tuple[str, ...] = ()  # tables and views the source built
    duration_s: float = 0.0
    notes: tuple[str, ...] = ()  # what ran differently from the file (ON CLUSTER dropped, Replicated → base engine)
    ignored: tuple[str, ...] = ()  # findings an inline ignore or [rules] turned off, each with its reason

    @property
    def ok(self) -> bool:
        return not (self.errors or self.differences or self.missing_tables)


@dataclass(frozen=True)
class RunResult:
    backend: str
    clickhouse_version: str
    canonical: str
    key_tables: tuple[str, ...]
    sources: tuple[SourceResult, ...]
    sandbox: str = "none"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sources)


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
        if creates and d.column:  # a column's finding at the column's own line
            line = column_line(creates[-1], d.column) or line
        out.append(replace(d, source=source.path, line=line, check=check))
    return out


def _idempotency(first: Snapshot, second: Snapshot, source: Source) -> list[Difference]:
    diffs = compare(first, second, sorted(set(first.names) | set(second.names)), missing=True)
    renamed = [replace(d, aspect="round2_" + d.aspect) for d in diffs]
    return _attribute(renamed, source, "idempotency")


def _duplicates(instance: Instance, source: Source, config: Config) -> list[Difference]:
    """Build every definition of a table defined twice in one file side by side and compare them."""
    by_target: dict[str, list[Statement]] = {}
    for stmt in source.statements:
        if stmt.kind in ("create_table", "create_view", "create_materialized_view") and stmt.target and stmt.target_span:
            by_target.setdefault(stmt.target, []).append(stmt)
    out: list[Difference] = []
    for k, (target, stmts) in enumerate(sorted((t, s) for t, s in by_target.items() if len(s) > 1)):
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


@dataclass(frozen=True)
class CachedSource:
    """What the result cache keeps of an applied source (the Source itself is re-read: it is cheap)."""

    result: SourceResult
    snapshot: Snapshot | None
    clickhouse_version: str
    sandbox: str


def _source_key(cache: ResultCache, config: Config, backend: Backend, spec: SourceSpec) -> str | None:
    """Every input of what applying `spec` yields; None when the source cannot be read (then it is not cached)."""
    try:
        body = spec.file.read_bytes()
        settings = config.config_file.read_bytes() if config.config_file else b""
    except OSError:
        return None
    release = getattr(backend, "release", None)
    engine = f"{backend.name}|{getattr(release, 'requirement', '')}|{config.image}|{getattr(backend, 'hardening', '')}"
    prelude = "\0".join(s.text for s in _prelude(config))
    return cache.key("chconform-source", code_digest(), engine, settings, prelude, spec.path, spec.role,
                     "\0".join(spec.must_define), str(config.timeout_s), body)


def _applied(backend: Backend, config: Config, spec: SourceSpec, progress: Callable[[str, float], None] | None,
             cache: ResultCache | None = None) -> tuple[AppliedSource, CachedSource | None]:
    """Apply one source, or take it from the cache (then the entry is returned); tell `progress` when done."""
    started = time.monotonic()
    key = _source_key(cache, config, backend, spec) if cache is not None else None
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
    and the canon's are unchanged is not even compared again (see checks/cache.py).
    """
    canon_spec = config.canonical_source
    specs = [canon_spec, *(s for s in config.sources if s.path != config.canonical and (only is None or s.path in only))]
    keys = {s.path: _source_key(cache, config, backend, s) for s in specs} if cache is not None else {}
    finals = _final_results(cache, keys, specs, progress)
    if finals is not None:
        results, every = finals
        return _run_result(config, backend, [r for r in results if only is None or r.path != config.canonical
                                             or config.canonical in only], every, "cached", f"{len(specs)} of {len(specs)}")
    todo = [s for s in specs if cache is None or (key := keys[s.path]) is None or not cache.has(key)]
    reserve = getattr(backend, "reserve", None)
    if callable(reserve) and todo:  # start the engines for every job now, not one by one on first use
        reserve(max(1, min(jobs, len(todo))), spares=0 if len(todo) <= jobs else None)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(lambda s: _applied(backend, config, s, progress, cache), specs))
    applied = [a for a, _ in done]
    canon_result, canon_snap = finish_source(config, applied[0], None)
    results = [canon_result] + [finish_source(config, a, canon_snap)[0] for a in applied[1:]]
    if cache is not None:
        for spec, result in zip(specs, results):
            final = _final_key(cache, keys, spec.path, canon_spec.path)
            if final is not None and not any(e.round == 0 for e in result.errors):
                cache.put(final, result)
    ordered = results if only is None or config.canonical in only else results[1:]
    hits = [c for _, c in done if c is not None]
    facts = hits[0] if hits and len(hits) == len(done) else None  # no engine started: its facts come from the cache
    return _run_result(config, backend, ordered, facts, "cached", f"{len(hits)} of {len(done)}" if cache else "")


def _final_key(cache: ResultCache, keys: dict[str, str | None], path: str, canon: str) -> str | None:
    """A source's compared result depends on its own inputs and the canon's: both keys together."""
    mine, theirs = keys.get(path), keys.get(canon)
    return cache.key("chconform-final", mine, theirs) if mine and theirs else None


def _final_results(cache: ResultCache | None, keys: dict[str, str | None], specs: list[SourceSpec],
                   progress: Callable[[str, float], None] | None) -> tuple[list[SourceResult], CachedSource] | None:
    """Every source's compared result from the cache, or None (then the run applies what changed)."""
    if cache is None:
        return None
    canon = specs[0].path
    key = keys.get(canon)
    engine = cache.get(key, CachedSource) if key else None
    if engine is None:
        return None
    results = []
    for spec in specs:
        final = _final_key(cache, keys, spec.path, canon)
        result = cache.get(final, SourceResult) if final else None
        if result is None:
            return None
        results.append(result)
    for spec in specs:
        if progress is not None:
            progress(spec.path + " (cached)", 0.0)
    return results, engine


def _run_result(config: Config, backend: Backend, sources: list[SourceResult], every: CachedSource | None,
                label: str, cached: str) -> RunResult:
    return RunResult(
        backend=backend.name,
        clickhouse_version=every.clickhouse_version if every else backend.version(),
        canonical=config.canonical,
        key_tables=config.key_tables,
        sources=tuple(sources),
        sandbox=every.sandbox if every else str(getattr(backend, "sandbox", "none")),
        extra={label: cached} if cached else {},
    )
