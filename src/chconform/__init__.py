"""chconform: prove that several ClickHouse SQL sources build one and the same schema."""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
