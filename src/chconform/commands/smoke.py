"""`chconform smoke [--dry-run]`: every key table and view answers; the sample payloads fit the live types."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from chconform.commands._common import EXIT_FOUND, EXIT_OK, Lines, command

__all__ = ["cmd_smoke"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    p.add_argument("--env-file", type=Path, help="env file naming the target (default: <root>/.env when present)")
    p.add_argument("--dry-run", action="store_true",
                   help="write nothing: validate the payloads against the live types; the job table's count "
                        "([tool.chconform.smoke] job_table) must not change")
    p.add_argument("--payloads", type=Path,
                   help="folder of sample payloads, one JSON file per table (default: [tool.chconform.smoke] payloads)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run on the same data directory to finish (default: exit 2 at once)")


@command("smoke", "query every key table and view of the bootstrapped target and validate sample payloads",
         _arguments)
def cmd_smoke(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.config import load_config
    from chconform.evidence.bootstrap import load_target
    from chconform.evidence.runtime import hold
    from chconform.evidence.smoke import run_smoke

    config = load_config(args.config)
    target = load_target(config, args.env_file)
    folder = args.payloads or config.smoke.payloads
    payloads = folder.resolve() if folder is not None else None

    write = Lines(out, args.quiet)

    with hold(target.data_dir, "chconform smoke", args.wait):
        result = run_smoke(config, target, payloads, args.dry_run, write)
    write.close()
    return EXIT_OK if result.ok else EXIT_FOUND
