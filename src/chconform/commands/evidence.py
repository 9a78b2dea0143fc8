"""`chconform evidence`: the ordered evidence pipeline; the logs folder gets one log per step and evidence.md."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TextIO

from chconform.commands._common import EXIT_FOUND, EXIT_OK, Lines, command

__all__ = ["cmd_evidence"]


def _arguments(p: argparse.ArgumentParser) -> None:
    from chconform.evidence.pipeline import SKIP_GROUPS

    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    p.add_argument("--env-file", type=Path,
                   help="env file of the target (default <root>/.env, created from .env.example)")
    p.add_argument("--skip", action="append", default=[], metavar="STEP",
                   help=f"do not run STEP, report it SKIP (repeatable; {', '.join(sorted(SKIP_GROUPS))}); "
                        "also read from CHCONFORM_EVIDENCE_SKIP (comma-separated)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run on the same data directory to finish (default: say who "
                        "holds it and exit 2)")


@command("evidence", "bootstrap twice, describe, smoke, validate, test, check; write the logs and evidence.md "
         "(OK/FAIL/SKIP per Definition-of-Done item, as [tool.chconform.evidence] words them)", _arguments)
def cmd_evidence(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.config import load_config
    from chconform.evidence.pipeline import SKIP_ENV, EvidenceOptions, run_evidence, skip_set

    config = load_config(args.config)
    from_env = [n for n in os.environ.get(SKIP_ENV, "").split(",") if n.strip()]
    reasons = []
    if args.skip:
        reasons.append(f"skipped by --skip {','.join(args.skip)}")
    if from_env:
        reasons.append(f"skipped by {SKIP_ENV}={','.join(from_env)}"
                       + (" (set for an evidence run's own pytest step, so it does not recurse)" if "pytest" in from_env
                          else ""))
    options = EvidenceOptions(env_file=args.env_file.resolve() if args.env_file else None,
                              skip=skip_set([*args.skip, *from_env]), skip_reason="; ".join(reasons) or "skipped",
                              wait_s=args.wait)

    write = Lines(out, args.quiet)

    evidence = run_evidence(config, options, write)
    counts = evidence.counts()
    write(f"evidence: {counts['OK']} OK, {counts['FAIL']} FAIL, {counts['SKIP']} SKIP (SKIP is never OK); "
          f"see {config.evidence.logs}/evidence.md: {'PASS' if evidence.ok else 'FAIL'}")
    write.close()
    return EXIT_OK if evidence.ok else EXIT_FOUND
