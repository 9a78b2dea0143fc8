"""The static check: every configured source's verdict from its SQL text alone, in well under a second.

The schema.static package reads, simulates and compares definitions; this module applies them to a
configuration: each source against the canonical one, the role rules, the must-define list, the
variants of every table, and the inventory of unconfigured files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from chconform.checks.inventory import unconfigured_sources
from chconform.checks.rules import apply_rules, role_findings
from chconform.config import Config
from chconform.model import Difference
from chconform.schema.static import (
    CHECK,
    Definition,
    Note,
    Simulation,
    canon,
    compare_definitions,
    simulate,
    view_lineage,
)
from chconform.sql.locate import column_line
from chconform.sql.source import Source, read_source

__all__ = ["StaticReport", "StaticSource", "Variant", "check_sources", "read_sources", "validate"]


@dataclass(frozen=True)
class StaticSource:
    """The static verdict on one source, in the live check's vocabulary."""

    path: str
    role: str
    differences: tuple[Difference, ...] = ()
    missing_tables: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    warnings: tuple[str, ...] = ()
    defined: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.differences or self.missing_tables)


@dataclass(frozen=True)
class Variant:
    """One distinct definition of a table and every place that holds it."""

    definition: Definition
    places: tuple[str, ...]  # file:line
    canonical: bool


@dataclass(frozen=True)
class StaticReport:
    canonical: str
    key_tables: tuple[str, ...]
    sources: tuple[StaticSource, ...]
    variants: dict[str, tuple[Variant, ...]]  # only tables with more than one
    unconfigured: tuple[Difference, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.unconfigured and not self.variants and all(s.ok for s in self.sources)

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(n for s in self.sources for n in s.notes)


def _duplicates(sim: Simulation, path: str) -> list[Difference]:
    """A table defined twice in one file with different definitions (the second IF NOT EXISTS hides drift)."""
    first: dict[str, Definition] = {}
    out = []
    for d in sim.definitions:
        if d.kind == "dictionary":
            continue
        if d.object not in first:
            first[d.object] = d
            continue
        base = first[d.object]
        if base.undecidable or d.undecidable:
            continue
        for diff in compare_definitions(base, d):
            out.append(replace(diff, aspect="duplicate_" + diff.aspect, source=path, line=d.line, check=CHECK,
                               canonical=f"{diff.canonical} (line {base.line})"))
    return out



def _line_of(source: Source, line: int, column: str | None) -> int:
    """A column's finding at the column's own line of the CREATE that starts at `line`."""
    if column:
        stmt = next((s for s in source.statements if s.line == line), None)
        if stmt is not None:
            return column_line(stmt, column) or line
    return line

def check_sources(config: Config, sources: dict[str, Source]) -> StaticReport:
    """Pure: every configured source (already read) against the canonical one."""
    sims = {spec.path: simulate(sources[spec.path], config.prelude) for spec in config.sources}
    canon_objects = sims[config.canonical].objects
    # The reference for each object: the canon's definition, else the first source's that decides it.
    reference: dict[str, tuple[str, Definition]] = {n: (config.canonical, d) for n, d in canon_objects.items()}
    for spec in config.sources:
        for name, d in sims[spec.path].objects.items():
            if name not in reference and not d.undecidable:
                reference[name] = (spec.path, d)
    results = []
    for spec in config.sources:
        sim, source = sims[spec.path], sources[spec.path]
        diffs: list[Difference] = [replace(d, check=CHECK) for d in role_findings(source, spec.role)]
        diffs.extend(sim.findings)
        diffs.extend(_duplicates(sim, spec.path))
        notes = list(sim.notes)
        table_diffs: list[Difference] = []
        for name, got in sorted(sim.objects.items()):
            holder, want = reference.get(name, (spec.path, got))
            if holder == spec.path:
                continue
            if want.undecidable or got.undecidable:  # an undecidable table of this source has its note already
                continue
            # A later ALTER leaves the end state to the engine, but the CREATE itself still has to match.
            table_diffs.extend(replace(d, source=spec.path, line=_line_of(source, got.line, d.column), check=CHECK)
                               for d in compare_definitions(want, got))
        view_diffs, view_notes = _view_types(sim, canon_objects, spec.path, table_diffs)
        diffs.extend(table_diffs + view_diffs)
        notes.extend(view_notes)
        missing = tuple(t for t in spec.must_define if t not in sim.objects)
        policy = apply_rules(diffs, source, config.rule_severity)  # [rules] severities, inline ignores (reported)
        results.append(StaticSource(spec.path, spec.role, policy.errors, missing, tuple(notes),
                                    source.warnings + policy.warnings + policy.ignored, tuple(sorted(sim.objects))))
    return StaticReport(config.canonical, config.key_tables, tuple(results), _variants(config, sims))


def _variants(config: Config, sims: dict[str, Simulation]) -> dict[str, tuple[Variant, ...]]:
    """Group every CREATE of each object by its canonical form; keep objects with more than one."""
    groups: dict[str, dict[Definition, list[Definition]]] = {}
    for spec in config.sources:
        for d in sims[spec.path].definitions:
            if not d.undecidable:
                groups.setdefault(d.object, {}).setdefault(d, []).append(d)
    out = {}
    canon_objects = sims[config.canonical].objects
    for name in sorted(groups):
        if len(groups[name]) < 2:
            continue
        reference = canon_objects.get(name)
        variants = [Variant(rep, tuple(x.where() for x in members), reference is not None and rep == reference)
                    for rep, members in groups[name].items()]
        variants.sort(key=lambda v: not v.canonical)
        out[name] = tuple(variants)
    return out


def read_sources(config: Config) -> dict[str, Source]:
    """Read every configured source; an unreadable one raises SourceError naming it."""
    return {spec.path: read_source(spec.file, spec.path, variables=spec.variables,
                                  max_bytes=spec.max_bytes) for spec in config.sources}


def validate(config: Config) -> StaticReport:
    """Read, check, and take the inventory of unconfigured table-creating .sql files under the root."""
    import importlib.util

    from chconform.errors import EnvironmentUnusable

    if importlib.util.find_spec("sqlglot") is None:
        raise EnvironmentUnusable("the static validator needs sqlglot: pip install -e . (or run `make validate`)")
    report = check_sources(config, read_sources(config))
    stray = tuple(
        Difference(path, "unconfigured_source", "configured as a [[source]]", "creates a table but is not configured",
                   source=path, check=CHECK)
        for path in unconfigured_sources(config)
    )
    return replace(report, unconfigured=stray)


def _view_types(sim: Simulation, canon_objects: dict[str, Definition], path: str,
                table_diffs: list[Difference]) -> tuple[list[Difference], list[Note]]:
    """A view reading a column whose type differs from the canon's: a bare reference carries the
    new type into the view (view_columns, as the live check reports it); a computed one is undecidable."""
    from sqlglot.errors import SqlglotError

    changed = {(d.object, d.column): d for d in table_diffs if d.aspect == "column_type" and d.column}
    diffs: list[Difference] = []
    notes: list[Note] = []
    if not changed:
        return diffs, notes
    for name, d in sorted(sim.objects.items()):
        if d.kind not in ("view", "materialized_view") or name not in canon_objects or not d.query_tokens:
            continue
        try:
            lineage = view_lineage(canon(list(d.query_tokens)).text, sim.objects, name.split(".", 1)[0])
        except (SqlglotError, RecursionError):
            continue
        computed: dict[tuple[str, str], list[str]] = {}
        for output, (bare, refs) in lineage.items():
            hits = sorted(refs & changed.keys())
            if hits and bare and len(refs) == 1:
                src = changed[hits[0]]
                diffs.append(Difference(name, "view_columns", src.canonical, src.actual, output, path, d.line, CHECK))
            elif hits:
                computed.setdefault(hits[0], []).append(output)
        for (table, column), outputs in sorted(computed.items()):
            why = (f"its column{'s' if len(outputs) > 1 else ''} {', '.join(outputs)} "
                   f"{'are' if len(outputs) > 1 else 'is'} computed from {table}.{column}, whose type differs; "
                   "only the engine infers the result's type")
            notes.append(Note(name, path, d.line, why))
    return diffs, notes
