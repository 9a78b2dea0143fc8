from __future__ import annotations

import io
from pathlib import Path

import pytest

from chconform.cli import COMMANDS, build_parser, run

REPO = Path(__file__).resolve().parents[2]


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return run(list(argv), out, err), out.getvalue(), err.getvalue()


def test_every_command_has_help_and_is_in_the_readme() -> None:
    build_parser()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "check" in COMMANDS
    for name, (help_text, _, _) in COMMANDS.items():
        assert help_text.strip(), f"{name} has no help text"
        assert f"chconform {name}" in readme or name == "validate", f"{name} is not documented in README.md"


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = cli("no-such-command")
    assert code == 2


def test_unknown_source_is_one_line(tmp_path: Path) -> None:
    code, out, err = cli("check", "--config", str(REPO / "pyproject.toml"), "--source", "nope.sql")
    assert code == 2 and out == "" and err.strip().endswith("no source 'nope.sql' is configured")
    assert err.count("\n") == 1


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    code, _, err = cli("check", "--config", str(tmp_path / "none.toml"))
    assert code == 2 and "config file not found" in err and err.count("\n") == 1
