"""Suite-wide: no test reads or writes the user's result cache."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_result_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own, empty result cache: a cached verdict from another test (with other monkeypatches
    in force) can never stand in for a run, and ~/.cache is never touched."""
    folder = tmp_path_factory.mktemp("result-cache")
    monkeypatch.setenv("CHCONFORM_CACHE_DIR", str(folder))
    return folder
