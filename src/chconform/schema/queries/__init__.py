"""Catalog queries shipped as package data: one `.sql` file per question asked of the system tables."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

__all__ = ["snapshot_query"]


@cache
def snapshot_query(name: str) -> str:
    """The text of `chconform/schema/queries/<name>.sql`."""
    return files("chconform.schema.queries").joinpath(f"{name}.sql").read_text(encoding="utf-8")
