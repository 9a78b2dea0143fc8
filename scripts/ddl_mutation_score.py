#!/usr/bin/env python3
"""The DDL mutation score: how many generated one-clause mutants `check` (live) and `validate` (static) catch.

    .venv/bin/python scripts/ddl_mutation_score.py [--engine 24.8] [--only SUBSTRING]

Prints one row per mutant (what each layer reported on it) and each layer's score; exits 0 when both
catch every mutant, 1 otherwise. The mutants and their schema: tests/conformance/ddl_mutants.py,
tests/data/mutations/schema.sql. Runs two throwaway engines (canon and mutants), each applied twice.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.conformance.ddl_mutants import mutants, render, score  # noqa: E402

from chconform.config import load_config  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only the mutants whose name contains this")
    parser.add_argument("--engine", help="the ClickHouse release `check` runs (e.g. 26.9; default: "
                        "$CHCONFORM_ENGINE, else the release this repository's configuration pins)")
    args = parser.parse_args()
    found = [m for m in mutants() if not args.only or args.only in m.name]
    with tempfile.TemporaryDirectory(prefix="chconform-mutants-") as folder:
        engine = args.engine or load_config(REPO / "pyproject.toml").engine
        check, static = score(Path(folder), engine, found)
    print("\n".join(render(found, check, static)))
    for s in (check, static):
        for error in s.errors:
            print(f"{s.layer}: a source did not apply cleanly: {error}")
    if check.misnamed:
        print(f"check: caught under another aspect than expected: {', '.join(check.misnamed)}")
    return 0 if not (check.missed or static.missed or check.errors or static.errors) else 1


if __name__ == "__main__":
    sys.exit(main())
