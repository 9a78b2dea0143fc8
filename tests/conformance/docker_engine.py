"""The one reason a conformance test may skip: no Docker engine answers (chconform's own probe says so).

Anything else that goes wrong with an engine (a failed image pull, a container that never gets ready,
CHCONFORM_BACKEND=docker meeting an error that is not about reaching Docker) is a failure, never a skip.
"""

from __future__ import annotations

import pytest

from chconform.engines.docker import probe_engine
from chconform.errors import EnvironmentUnusable

NO_ENGINE = "no Docker engine reachable"


def no_docker_engine() -> str | None:
    """Why no Docker engine answers here, or None when one does."""
    try:
        probe_engine()
    except EnvironmentUnusable as exc:
        return str(exc) if str(exc).startswith(NO_ENGINE) else None
    return None


def skip_only_without_docker(trouble: str) -> None:
    """Skip (the trouble being no engine) only if the probe confirms no Docker engine answers; else fail."""
    absent = no_docker_engine()
    if absent is None:
        pytest.fail(f"a Docker engine answers (or the probe failed otherwise), so this is a failure: {trouble}")
    pytest.skip(absent)
