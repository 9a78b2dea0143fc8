#!/usr/bin/env python3
"""Static schema validation of infra/clickhouse (a thin wrapper over `chconform validate`).

    python scripts/validate_clickhouse_schema.py [--format json] [--prove] [--config FILE]

Prints `Schema validation passed.` and exits 0 when every definition agrees with the
canonical bootstrap_schema.sql; exits 1 with a CRITICAL report otherwise, 2 on unreadable input.
The list of checked files is the [[tool.chconform.source]] list of pyproject.toml (DDL_FILES below).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "pyproject.toml"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"

if importlib.util.find_spec("sqlglot") is None and VENV_PYTHON.is_file() and __name__ == "__main__" \
        and Path(sys.prefix).resolve() != VENV_PYTHON.parents[1].resolve():
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])  # the repo's venv has the pinned deps

try:
    import chconform  # noqa: F401
except ModuleNotFoundError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO / "src"))

from chconform.cli import run
from chconform.errors import ChconformError


def _ddl_files() -> tuple[str, ...]:
    """The configured sources, relative to the repository (the original script's DDL_FILES)."""
    from chconform.config import load_config

    try:
        config = load_config(CONFIG)
    except ChconformError:
        return ()  # `run` reports the configuration error in one line
    return tuple(spec.file.relative_to(REPO).as_posix() for spec in config.sources)


DDL_FILES = _ddl_files()


def main(argv: list[str]) -> int:
    if "--config" not in argv and not any(a.startswith("--config=") for a in argv):
        argv = ["--config", str(CONFIG), *argv]
    return run(["validate", *argv], sys.stdout, sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
