"""`chconform bootstrap`: the canonical DDL, then the roles and grants, on the persistent target (each one logged)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from chconform.commands._common import EXIT_FOUND, EXIT_OK, Lines, command

__all__ = ["cmd_bootstrap"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    p.add_argument("--env-file", type=Path, help="env file with CHCONFORM_TARGET=embedded|compose, CHCONFORM_DATA_DIR, "
                   "admin credentials (default: <root>/.env when present)")
    p.add_argument("--allow-destructive", action="store_true",
                   help="run statements that drop or truncate tables holding rows (refused otherwise)")
    p.add_argument("--access-source",
                   help="source whose roles and grants are applied after the canonical DDL "
                        "(default: [tool.chconform.bootstrap] access_source; none when unset)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run on the same data directory to finish (default: exit 2 at once)")


@command("bootstrap",
         "apply the canonical DDL, then the roles and grants, to a persistent target (logs every statement)",
         _arguments)
def cmd_bootstrap(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.config import load_config
    from chconform.evidence.bootstrap import load_target, run_bootstrap
    from chconform.evidence.runtime import hold

    config = load_config(args.config)
    target = load_target(config, args.env_file)

    write = Lines(out, args.quiet)

    with hold(target.data_dir, "chconform bootstrap", args.wait):
        result = run_bootstrap(config, target, args.allow_destructive, args.access_source, write)
    write.close()
    return EXIT_OK if result.ok else EXIT_FOUND
