"""The Backend / Instance protocol every engine implements.

An Instance is one throwaway ClickHouse. The model, the comparison, the static
validator and the reports never import a backend; they see only this protocol.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

__all__ = ["Instance", "Backend", "rows_from_json_each_row"]


class Instance(Protocol):
    """One fresh ClickHouse; statements run one at a time."""

    def execute(self, sql: str, timeout: float | None = None) -> None:
        """Run one statement; raise EngineError (or EngineTimeout/EngineCrashed)."""

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """Run a SELECT and return its rows as dicts."""

    def close(self) -> None:
        """Release the instance and everything it created on the host."""


class Backend(Protocol):
    """A factory of fresh instances."""

    name: str
    supports_access_control: bool

    def instance(self) -> Instance: ...

    def version(self) -> str: ...

    def close(self) -> None: ...


def rows_from_json_each_row(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
