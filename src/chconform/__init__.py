"""chconform: prove that several ClickHouse SQL sources build one and the same schema.

From the command line: `chconform init`, `chconform validate`, `chconform check` (see `chconform --help`).
From Python: `chconform.validate()`, `chconform.check()`, `chconform.path()` (chconform.api): the same
verdicts as values. Where each part lives: docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__", "check", "path", "validate"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`chconform.check` and friends, imported on first use: `import chconform` stays cheap (no engine, no parser)."""
    if name in ("check", "path", "validate"):
        from chconform import api

        return getattr(api, name)
    raise AttributeError(f"module 'chconform' has no attribute {name!r}")
