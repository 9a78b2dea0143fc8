"""The benchmark's schema generator writes valid sources that conform (and drift is caught in them)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from benchmarks.generate import CANONICAL, generate
from chconform.cli import run
from chconform.config import load_config
from chconform.checks.rules import role_findings
from chconform.checks.run import load_source


@pytest.mark.parametrize(("tables", "files"), [(10, 7), (23, 5), (100, 50)], ids=["10x7", "23x5", "100x50"])
def test_shape_counts_match_the_files(tmp_path: Path, tables: int, files: int) -> None:
    shape = generate(tmp_path, tables, files)
    config = load_config(shape.config)
    sources = [load_source(spec) for spec in config.sources]
    assert len(sources) == files
    assert sum(len(s.statements) for s in sources) == shape.statements
    canonical = next(s for s in sources if s.path == CANONICAL)
    kinds = [s.kind for s in canonical.statements]
    assert (kinds.count("create_table"), kinds.count("create_view"), kinds.count("create_materialized_view")) == (
        tables, shape.views, shape.materialized_views)
    parts = [s for s in sources if s.path != CANONICAL]
    defined = sorted(str(st.target) for s in parts for st in s.statements if st.kind == "create_table")
    assert defined == [f"bench.t_{i:04d}" for i in range(tables)]  # every table lives in exactly one part


def test_roles_are_respected(tmp_path: Path) -> None:
    """Migrations drop a table only right before re-creating it; dumps and inits never drop."""
    config = load_config(generate(tmp_path, 40, 9).config)
    roles = {spec.role for spec in config.sources}
    assert roles == {"dump", "init", "migration"}
    for spec in config.sources:
        assert role_findings(load_source(spec), spec.role) == []


@pytest.mark.parametrize(("tables", "files"), [(0, 2), (5, 1), (3, 5)])
def test_impossible_shapes_are_refused(tmp_path: Path, tables: int, files: int) -> None:
    with pytest.raises(ValueError, match="files"):
        generate(tmp_path, tables, files)


@pytest.mark.engine
def test_generated_schema_passes_check(tmp_path: Path) -> None:
    shape = generate(tmp_path, 10, 4)
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", "--config", str(shape.config)], out, err) == 0, out.getvalue() + err.getvalue()
    assert "conforms" in out.getvalue()


@pytest.mark.engine
def test_drift_in_a_generated_part_is_found(tmp_path: Path) -> None:
    """The parts really are compared with the canon: a changed column type fails the check."""
    shape = generate(tmp_path, 10, 4)
    part = tmp_path / "part_000.sql"
    text = part.read_text(encoding="utf-8")
    part.write_text(text.replace("    amount Decimal(18, 2)", "    amount Decimal(18, 4)", 1), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", "--config", str(shape.config)], out, err) == 1, err.getvalue()
    assert "column_type" in out.getvalue() and "part_000.sql" in out.getvalue()
