"""Golden drift cases: tests/data/cases/<name>/{canonical.sql, drifted.sql, expected.json}."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chconform.config import Config, load_config
from chconform.checks.run import SourceResult

CASES_DIR = Path(__file__).resolve().parents[1] / "data" / "cases"


def case_names() -> list[str]:
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "expected.json").is_file())


def expected(name: str) -> dict[str, Any]:
    return json.loads((CASES_DIR / name / "expected.json").read_text(encoding="utf-8"))


def case_config(name: str, folder: Path) -> Config:
    """A chconform.toml in `folder` whose root is the case directory."""
    exp = expected(name)
    toml = f"""
root = {json.dumps(str(CASES_DIR / name))}
canonical = "canonical.sql"
key_tables = {json.dumps(exp["key_tables"])}
timeout_s = 60

[[source]]
path = "canonical.sql"
role = "dump"
must_define = "all"

[[source]]
path = "drifted.sql"
role = {json.dumps(exp["role"])}
must_define = {json.dumps(exp["must_define"])}
"""
    file = folder / "chconform.toml"
    file.write_text(toml, encoding="utf-8")
    return load_config(file)


def findings(result: SourceResult) -> set[tuple[str, str, str, str | None]]:
    return {(d.check, d.aspect, d.object, d.column) for d in result.differences}


def expected_findings(name: str) -> set[tuple[str, str, str, str | None]]:
    return {(f["check"], f["aspect"], f["object"], f["column"]) for f in expected(name)["findings"]}


def errors(result: SourceResult) -> set[tuple[int, str | None]]:
    return {(e.round, e.name) for e in result.errors}


def expected_errors(name: str) -> set[tuple[int, str | None]]:
    return {(e["round"], e["name"]) for e in expected(name)["errors"]}
