"""Proof that every check can fail: each golden drift case yields exactly its expected findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from chconform.engines.embedded import EmbeddedBackend
from chconform.config import load_config
from chconform.reports.render import render_source
from chconform.checks.run import check_source

from .golden import case_config, case_names, errors, expected, expected_errors, expected_findings, findings

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def backend():
    b = EmbeddedBackend()
    yield b
    b.close()


@pytest.mark.parametrize("name", case_names())
def test_golden_case(name: str, backend: EmbeddedBackend, tmp_path: Path) -> None:
    config = case_config(name, tmp_path)
    canon_result, canon = check_source(backend, config, config.canonical_source, None)
    assert canon_result.ok, "the case's canonical file must itself conform:\n" + "\n".join(render_source(canon_result))
    result, _ = check_source(backend, config, config.source("drifted.sql"), canon)
    shown = "\n".join(render_source(result))
    assert not result.ok, f"{name}: the drift was not detected"
    assert findings(result) == expected_findings(name), shown
    assert errors(result) == expected_errors(name), shown
    assert sorted(result.missing_tables) == sorted(expected(name)["missing_tables"]), shown
    for d in result.differences:
        assert d.source == "drifted.sql" and d.line, f"finding without file:line: {d}"


def test_every_case_has_a_finding() -> None:
    for name in case_names():
        exp = expected(name)
        assert exp["findings"] or exp["errors"] or exp["missing_tables"], f"{name} expects nothing"


EQUIVALENT_DIR = Path(__file__).resolve().parents[1] / "data" / "equivalent"


@pytest.mark.parametrize("name", sorted(p.name for p in EQUIVALENT_DIR.iterdir()))
def test_equivalent_spellings_conform(name: str, backend: EmbeddedBackend, tmp_path: Path) -> None:
    """Spellings ClickHouse builds the same are not differences (the check must not cry wolf)."""
    (tmp_path / "chconform.toml").write_text(
        f'root = "{EQUIVALENT_DIR / name}"\ncanonical = "canonical.sql"\n'
        '[[source]]\npath = "canonical.sql"\n[[source]]\npath = "variant.sql"\n', encoding="utf-8")
    config = load_config(tmp_path / "chconform.toml")
    _, canon = check_source(backend, config, config.canonical_source, None)
    result, _ = check_source(backend, config, config.source("variant.sql"), canon)
    assert result.ok, "\n".join(render_source(result))
    assert len(result.defined) == 2
