"""A plan is proven before anyone sees it: applied on a throwaway engine to what the source (or server) built.

One instance builds the canon (its snapshot, and each object's CREATE text as the engine prints it).
Another builds the starting point, gets a sentinel row in every table, runs the plan with a row count
after each statement that may destroy rows, and is compared with the canon; then the plan runs a second
time, which must change nothing and fail nowhere (a plan appended to a source keeps it idempotent).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chconform.checks.path import DataLoss, _Walk
from chconform.checks.run import StatementError, _prelude, apply_statements, load_source
from chconform.config import Config, SourceSpec
from chconform.engines.base import Backend, Instance
from chconform.errors import ChconformError
from chconform.model import Difference, Snapshot
from chconform.plan.steps import Step, literal, plan_steps, quote
from chconform.schema.compare import compare
from chconform.schema.snapshot import take_snapshot
from chconform.sql.source import Source, split_statements

__all__ = ["Proof", "Canon", "build_canon", "plan_source", "plan_server", "plan_text"]

_SYSTEM = "('system', 'INFORMATION_SCHEMA', 'information_schema')"
_CREATES = f"SELECT database, name, create_table_query FROM system.tables WHERE database NOT IN {_SYSTEM}"
_READONLY = "SELECT name FROM system.merge_tree_settings WHERE readonly"


@dataclass(frozen=True)
class Canon:
    """What the canonical source builds, with each object's CREATE text and the engine's read-only settings."""

    snapshot: Snapshot
    creates: dict[str, str]
    readonly: tuple[str, ...]
    version: str


@dataclass(frozen=True)
class Proof:
    """A plan and what applying it did on a throwaway engine."""

    origin: str  # the source's path, or the server's address
    steps: tuple[Step, ...]
    remaining: tuple[Difference, ...]  # what still differs from the canon after the plan
    errors: tuple[StatementError, ...]  # statements of the plan (or of the start) that failed
    data_loss: tuple[DataLoss, ...]
    rerun: tuple[str, ...]  # what went wrong when the plan ran a second time
    clickhouse_version: str

    @property
    def proven(self) -> bool:
        return not (self.remaining or self.errors or self.rerun)


def _query(instance: Instance, timeout: float) -> Callable[[str], list[dict[str, Any]]]:
    return lambda sql: instance.query(sql, timeout=timeout)


def build_canon(config: Config, backend: Backend) -> Canon:
    """The canon built once (round 1 only: its idempotency is `check`'s finding, not the plan's)."""
    source = load_source(config.canonical_source)
    instance = backend.instance()
    try:
        deadline = time.monotonic() + config.timeout_s
        errors, _, alive = apply_statements(instance, _prelude(config) + source.statements, 1, deadline,
                                            backend.supports_access_control, source.path)
        if errors or not alive:
            first = errors[0] if errors else None
            why = f"{first.source}:{first.line}: {first.message}" if first else "the engine stopped"
            raise ChconformError(f"the canonical source {config.canonical} does not build ({why}); "
                                 "run `chconform check`")
        query = _query(instance, max(config.timeout_s, 10))
        snapshot = take_snapshot(query, access=backend.supports_access_control)
        creates = {f"{r['database']}.{r['name']}": str(r["create_table_query"]) for r in query(_CREATES)}
        readonly = tuple(str(r["name"]) for r in query(_READONLY))
    finally:
        instance.close()
    return Canon(snapshot, creates, readonly, backend.version())


def plan_text(steps: Iterable[Step]) -> str:
    return "".join(f"{s.statement};\n" for s in steps)


def _prove(config: Config, backend: Backend, canon: Canon, origin: str, start: list[Any],
           tables: Callable[[Snapshot], list[str]]) -> Proof:
    """A proven plan: in place where the engine takes it; where an in-place step fails on this release (an
    ALTER that an older ClickHouse forbids, a setting it cannot change), the same tables rebuilt instead."""
    proof = _attempt(config, backend, canon, origin, start, tables, frozenset())
    if proof.proven:
        return proof
    retry = frozenset(t for s in proof.steps if s.kind == "in_place" for t in s.tables)
    if not retry:
        return proof
    rebuilt = _attempt(config, backend, canon, origin, start, tables, retry)
    return rebuilt if rebuilt.proven else proof


def _attempt(config: Config, backend: Backend, canon: Canon, origin: str, start: list[Any],
             tables: Callable[[Snapshot], list[str]], rebuild: frozenset[str]) -> Proof:
    """Build the start on a fresh instance, plan from it to the canon, apply the plan twice, judge."""
    instance = backend.instance()
    walk = _Walk(instance, config, backend.supports_access_control)
    try:
        walk.apply(list(_prelude(config)) + start, origin)
        if walk.errors or not walk.alive:
            why = walk.errors[0].message if walk.errors else "the engine stopped"
            raise ChconformError(f"{origin} does not build on a fresh engine ({why}); run `chconform check` first")
        before = walk.snapshot()
        chosen = tables(before)
        steps = tuple(plan_steps(canon.snapshot, before, canon.creates, canon.readonly, chosen, rebuild))
        text = plan_text(steps)
        plan = Source("(plan)", text, "utf-8", tuple(split_statements(text)))
        walk.seed()
        stored_views = _stored_views(before, steps)
        held = _counts(walk, stored_views)
        losses = walk.step(plan) + _view_losses(walk, stored_views, held, steps)
        errors = tuple(walk.errors)
        after = walk.snapshot() if walk.alive else before
        remaining = tuple(compare(canon.snapshot, after, chosen, missing=True)) if walk.alive else ()
        remaining = tuple(d for d in remaining if d.aspect != "extra_table")
        rerun: list[str] = []
        if walk.alive and not errors:
            walk.apply(plan.statements, plan.path)
            rerun += [f"statement at plan line {e.line} fails the second time: {e.message}" for e in walk.errors[len(errors):]]
            if walk.alive:
                again = walk.snapshot()
                rerun += [f"{d.object}: {d.aspect} changes the second time" for d in compare(after, again, chosen)]
    finally:
        instance.close()
    return Proof(origin, steps, remaining, errors, tuple(losses), tuple(rerun), canon.version)


def _stored_views(built: Snapshot, steps: Iterable[Step]) -> list[str]:
    """Materialized views with storage of their own (no TO table) that the plan re-creates: their rows can go."""
    touched = {t for s in steps if s.kind == "materialized_view" for t in s.tables}
    return [n for n in sorted(touched) if (t := built.table(n)) is not None and t.kind == "materialized_view"
            and not t.target]


def _counts(walk: _Walk, views: list[str]) -> dict[str, int]:
    if not views:
        return {}
    sql = " UNION ALL ".join(f"SELECT {literal(v)} AS v, count() AS n FROM {'.'.join(quote(p) for p in v.split('.', 1))}"
                             for v in views)
    return {str(r["v"]): int(r["n"]) for r in walk.query(sql)}


def _view_losses(walk: _Walk, views: list[str], before: dict[str, int], steps: Iterable[Step]) -> list[DataLoss]:
    """Rows a re-created materialized view's own storage held (the path's census counts tables, not views)."""
    if not walk.alive or not views:
        return []
    after = _counts(walk, views)
    by_table = {t: s for s in steps for t in s.tables}
    return [DataLoss(v, before[v], after.get(v, 0), "(plan)", None, by_table[v].statement.splitlines()[0])
            for v in views if after.get(v, 0) < before.get(v, 0)]


def plan_source(config: Config, backend: Backend, spec: SourceSpec, canon: Canon) -> Proof:
    """From what `spec` builds to the canon: over the tables it builds that the canon has, and its must_define."""
    source = load_source(spec)

    def tables(built: Snapshot) -> list[str]:
        return sorted((set(built.names) & set(canon.snapshot.names)) | set(spec.must_define))

    return _prove(config, backend, canon, spec.path, list(source.statements), tables)


def plan_server(config: Config, backend: Backend, canon: Canon, server: Instance, shown: str,
                databases: Iterable[str] | None = None) -> Proof:
    """From a live server's schema (read only: its CREATE texts) to the canon, over the canon's databases."""
    wanted = set(databases or ()) or {t.database for t in canon.snapshot.tables}
    rows = [r for r in server.query(_CREATES) if r["database"] in wanted and not str(r["name"]).startswith(".inner")]
    order = {"CREATE TABLE": 0, "CREATE DICTIONARY": 1, "CREATE VIEW": 2, "CREATE MATERIALIZED VIEW": 3}
    rows.sort(key=lambda r: (min((v for k, v in order.items() if str(r["create_table_query"]).startswith(k)),
                                 default=9), r["database"], r["name"]))
    text = "".join(f"CREATE DATABASE IF NOT EXISTS `{db}`;\n" for db in sorted({r["database"] for r in rows}))
    text += "".join(f"{r['create_table_query']};\n" for r in rows if r["create_table_query"])
    start = split_statements(text)

    def tables(_: Snapshot) -> list[str]:
        return sorted(n for n in canon.snapshot.names if n.split(".", 1)[0] in wanted)

    return _prove(config, backend, canon, shown, start, tables)
