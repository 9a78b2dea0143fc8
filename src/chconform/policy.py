"""What a statement may do on a backend: run it, skip it (with the reason), or refuse it.

A refusal is a finding with file:line and the reason; a refused statement never
reaches the engine. Skips are reported as skipped, never as passed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sources import Statement

__all__ = ["Verdict", "gate", "SKIP_ACCESS"]

SKIP_ACCESS = "access control needs a server (users, roles and grants have no storage in the embedded engine)"


@dataclass(frozen=True)
class Verdict:
    action: str  # run | skip | refuse
    reason: str = ""


RUN = Verdict("run")


def gate(stmt: Statement, access_control: bool) -> Verdict:
    """Decide for one statement; pure, so it is unit-tested without an engine."""
    if stmt.kind == "access" and not access_control:
        return Verdict("skip", SKIP_ACCESS)
    return RUN
