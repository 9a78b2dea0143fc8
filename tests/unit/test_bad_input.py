"""The bad-input corpus (tests/data/bad/<case>/expected.json): each case's exit code and its one clear line.

Source problems are findings (exit 1) or warnings (exit 0); config and usage
problems are one line on stderr (exit 2); nothing ever prints a traceback.
The 5 MB source and the 5000-deep parentheses are generated here, not committed.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from chconform.cli import run
from tests.reliability import normalise, record

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES = sorted(p.name for p in BAD.iterdir() if (p / "expected.json").is_file())

pytestmark = pytest.mark.engine


def expected(name: str) -> dict[str, Any]:
    return json.loads((BAD / name / "expected.json").read_text(encoding="utf-8"))


def generate(kind: str, path: Path) -> None:
    """The big inputs: made at test time so the repository stays small."""
    table = (BAD / "canonical.sql").read_text(encoding="utf-8")
    if kind == "big":
        rows = ",".join(f"({i}, 'event {i}: a row of literal text to make the file large')" for i in range(1000))
        insert = f"INSERT INTO zakaz.t (id, name) VALUES {rows};\n"
        path.write_text(table + insert * (5_000_000 // len(insert) + 1), encoding="utf-8")
        assert path.stat().st_size >= 5_000_000
    elif kind == "deep":
        path.write_text(table + "SELECT " + "(" * 5000 + "1" + ")" * 5000 + ";\n", encoding="utf-8")
    else:
        raise AssertionError(f"unknown generator {kind!r}")


def source_config(work: Path) -> Path:
    shutil.copy(BAD / "canonical.sql", work / "canonical.sql")
    config = work / "chconform.toml"
    config.write_text(
        'root = "."\ncanonical = "canonical.sql"\nprelude = ["CREATE DATABASE IF NOT EXISTS zakaz"]\ntimeout_s = 120\n\n'
        '[[source]]\npath = "canonical.sql"\nrole = "dump"\n\n'
        '[[source]]\npath = "source.sql"\nrole = "migration"\n',
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exp = expected(name)
    work = tmp_path / name
    shutil.copytree(BAD / name, work)
    monkeypatch.chdir(work)  # reports name files relative to the checkout, else the current folder
    if exp["kind"] == "source":
        if "generate" in exp:
            generate(exp["generate"], work / "source.sql")
        config = source_config(work)
        argv = ["check", "--config", str(config), "--jobs", "1", "--source", "source.sql"]
    else:
        config = work / exp.get("config_file", "chconform.toml")
        argv = ["check", "--config", str(config), "--jobs", "1"]
    out, err = io.StringIO(), io.StringIO()
    code = run(argv, out, err)
    stdout, stderr = out.getvalue(), err.getvalue()
    shown = f"exit {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    assert "Traceback" not in stdout + stderr, shown
    assert code == exp["exit"], shown
    if exp["kind"] == "config":
        assert stdout == "", shown
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("chconform: "), shown
        assert exp["stderr"] in lines[0], shown
        outcome = f"exit 2: {lines[0]}"
    else:
        assert stderr == "", shown
        for want in exp["stdout"]:
            assert want in stdout, shown
        for unwanted in exp.get("absent", []):
            assert unwanted not in stdout, shown
        key = exp["stdout"][-1]
        line = next(ln for ln in stdout.splitlines() if key in ln).strip()
        outcome = f"exit {code}: {line}"
    record("bad input", name, exp["description"], normalise(outcome, work, tmp_path), CASES)
