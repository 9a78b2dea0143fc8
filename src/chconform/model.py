"""The frozen model: what ClickHouse built, and how two builds differ."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Column", "Constraint", "Difference", "Function", "Index", "Projection", "Snapshot", "Table", "qualified"]


def qualified(database: str, name: str) -> str:
    return f"{database}.{name}"


@dataclass(frozen=True)
class Column:
    """One row of system.columns, reduced to what defines the schema."""

    name: str
    position: int
    type: str
    default_kind: str = ""
    default_expression: str = ""
    comment: str = ""
    codec: str = ""
    ttl: str = ""
    statistics: str = ""
    options: str = ""  # a dictionary attribute's HIERARCHICAL, INJECTIVE, IS_OBJECT_ID, BIDIRECTIONAL


@dataclass(frozen=True)
class Index:
    """A data skipping index (system.data_skipping_indices)."""

    name: str
    type_full: str
    expr: str
    granularity: int


@dataclass(frozen=True)
class Constraint:
    """CONSTRAINT name CHECK|ASSUME expr, as the engine prints it."""

    name: str
    kind: str  # CHECK | ASSUME
    expr: str

    def __str__(self) -> str:
        return f"{self.name} {self.kind} {self.expr}"


@dataclass(frozen=True)
class Projection:
    """PROJECTION name (query), as the engine prints it."""

    name: str
    query: str

    def __str__(self) -> str:
        return f"{self.name} {self.query}"


@dataclass(frozen=True)
class Function:
    """A SQL user-defined function (system.functions, origin SQLUserDefined)."""

    name: str
    create_query: str


@dataclass(frozen=True)
class Table:
    """A table, view, materialized view or dictionary as ClickHouse reports it."""

    database: str
    name: str
    kind: str  # table | view | materialized_view | dictionary
    engine: str = ""  # engine with arguments, e.g. ReplacingMergeTree(_ver)
    partition_key: str = ""
    sorting_key: str = ""
    primary_key: str = ""
    sampling_key: str = ""
    ttl: str = ""
    settings: str = ""
    comment: str = ""
    view_query: str = ""
    target: str = ""  # a materialized view's TO table
    columns: tuple[Column, ...] = ()
    indices: tuple[Index, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    projections: tuple[Projection, ...] = ()
    source: str = ""  # a dictionary's SOURCE, LAYOUT, LIFETIME and RANGE (its PRIMARY KEY is primary_key)
    layout: str = ""
    lifetime: str = ""
    range: str = ""
    create_rest: str = ""  # the normalised CREATE text less everything the fields above model (the catch-all)
    replication: str = ""  # a Replicated*MergeTree's replication arguments (sql/cluster.py applies the base engine)

    @property
    def fqn(self) -> str:
        return qualified(self.database, self.name)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Snapshot:
    """Everything a source built: databases and tables keyed by `db.name`."""

    databases: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    grants: tuple[tuple[str, ...], ...] = ()  # access-control rows, where the backend has them
    functions: tuple[Function, ...] = ()
    _by_name: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {t.fqn: t for t in self.tables})

    def table(self, fqn: str) -> Table | None:
        return self._by_name.get(fqn)

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)


@dataclass(frozen=True)
class Difference:
    """One way in which `actual` differs from `canonical` for one object.

    `check` says which rule found it: canonical (vs the canon), idempotency
    (round 2 vs round 1), duplicate (two definitions in one file), role (a
    DROP where the file's role forbids it), static (the static validator).
    """

    object: str
    aspect: str
    canonical: str = ""
    actual: str = ""
    column: str | None = None
    source: str = ""
    line: int | None = None
    check: str = "canonical"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source
