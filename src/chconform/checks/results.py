"""What a check found, as plain frozen data: the CLI's cached path reads and renders it without the engine code."""

from __future__ import annotations

from dataclasses import dataclass, field

from chconform.model import Difference

__all__ = ["StatementError", "Skipped", "SourceResult", "RunResult"]


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
