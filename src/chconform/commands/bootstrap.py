"""`chconform bootstrap`: apply the canonical DDL and the roles/grants to the persistent target, logging each statement."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from chconform.commands._common import EXIT_FOUND, EXIT_OK, command

__all__ = ["cmd_bootstrap"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    p.add_argument("--env-file", type=Path, help="env file with CHCONFORM_TARGET=embedded|compose, CHCONFORM_DATA_DIR, "
                   "admin credentials (default: <root>/.env when present)")
    p.add_argument("--allow-destructive", action="store_true",
                   help="run statements that drop or truncate tables holding rows (refused otherwise)")
    p.add_argument("--access-source", default="bootstrap_all.sql",
                   help="source whose roles and grants are applied after the canonical DDL (default bootstrap_all.sql)")


@command("bootstrap", "apply the canonical DDL, then the roles and grants, to a persistent target (logs every statement)",
         _arguments)
def cmd_bootstrap(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.evidence.bootstrap import load_target, run_bootstrap
    from chconform.config import load_config

    config = load_config(args.config)
    target = load_target(config, args.env_file)

    def write(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    result = run_bootstrap(config, target, args.allow_destructive, args.access_source, write)
    return EXIT_OK if result.ok else EXIT_FOUND
