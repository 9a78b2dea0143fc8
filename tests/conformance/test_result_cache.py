"""The result cache end to end: an unchanged re-run applies nothing, a change after a cached run is still caught."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from chconform.cli import run

from .repo_copy import copy_sources, replace_once

pytestmark = pytest.mark.engine


def check(config: Path, cache: Path, *extra: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--config", str(config), "--cache-dir", str(cache), "--source", "init.sql", *extra], out, err)
    assert err.getvalue() == "", err.getvalue()
    return code, out.getvalue()


def header(out: str) -> str:
    return out.splitlines()[0]


def test_unchanged_rerun_then_a_change_then_back(tmp_path: Path) -> None:
    config = copy_sources(tmp_path / "copy")
    cache = tmp_path / "cache"
    code, out = check(config, cache)
    assert code == 0 and "from the cache" not in header(out), out
    code, again = check(config, cache)
    assert code == 0 and header(again).endswith("; 2 of 2 sources unchanged, from the cache"), again
    assert again.splitlines()[-1] == out.splitlines()[-1] == "conforms: every source builds the canonical schema"

    replace_once(config.parent / "init.sql", "ORDER BY event_id\n", "ORDER BY (event_id, city)\n")
    code, changed = check(config, cache)
    assert code == 1, changed
    assert "zakaz.dim_events  sorting_key: event_id → event_id, city" in changed
    assert header(changed).endswith("; 1 of 2 sources unchanged, from the cache"), changed  # the canon's build only

    replace_once(config.parent / "init.sql", "ORDER BY (event_id, city)\n", "ORDER BY event_id\n")
    code, back = check(config, cache)
    assert code == 0 and "from the cache" in header(back), back


def test_the_canon_changing_invalidates_every_comparison(tmp_path: Path) -> None:
    config = copy_sources(tmp_path / "copy")
    cache = tmp_path / "cache"
    assert check(config, cache)[0] == 0
    replace_once(config.parent / "bootstrap_schema.sql", "ORDER BY event_id\n", "ORDER BY (event_id, city)\n")
    code, out = check(config, cache)
    assert code == 1 and "init.sql" in out and "sorting_key" in out, out


def test_no_cache_and_a_corrupt_cache(tmp_path: Path) -> None:
    config = copy_sources(tmp_path / "copy")
    cache = tmp_path / "cache"
    replace_once(config.parent / "init.sql", "ORDER BY event_id\n", "ORDER BY (event_id, city)\n")
    assert check(config, cache)[0] == 1
    code, out = check(config, cache, "--no-cache")
    assert code == 1 and "from the cache" not in header(out)
    entries = sorted(cache.rglob("*.json"))
    assert len(entries) == 4  # two applied sources, two compared results
    for entry in entries:  # every entry claims "no findings": a forged cache must not pass
        entry.write_text(entry.read_text(encoding="utf-8").replace("sorting_key", "sorting_kez"), encoding="utf-8")
    code, out = check(config, cache)
    assert code == 1 and "sorting_key: event_id → event_id, city" in out and "from the cache" not in header(out), out
