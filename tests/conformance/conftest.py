"""Fixtures shared by the conformance tests: the ClickHouse releases a test runs on."""

from __future__ import annotations

import os

import pytest

from chconform.engines.releases import NEWEST, get_release

# The sandbox must hold on every release chconform runs: its tests run on the newest and on production's.
# CHCONFORM_SANDBOX_RELEASES (comma-separated) narrows or widens that, e.g. one CI shard per release.
SANDBOX_RELEASES = tuple(get_release(name.strip(), "CHCONFORM_SANDBOX_RELEASES").name for name in
                         os.environ.get("CHCONFORM_SANDBOX_RELEASES", f"{NEWEST},24.8").split(",") if name.strip())


@pytest.fixture(scope="module", params=SANDBOX_RELEASES)
def release(request: pytest.FixtureRequest) -> str:
    """A ClickHouse release ("24.8"); a test asking for it runs once per release of SANDBOX_RELEASES."""
    return str(request.param)
