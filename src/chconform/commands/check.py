"""`chconform check`: apply every source twice to its own ClickHouse and compare what it builds with the canon."""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from chconform.commands._common import EXIT_FOUND, EXIT_OK, command, common_options, emit


def _check_args(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--backend", choices=("embedded", "docker"), help="engine (default: config, CHCONFORM_BACKEND, embedded)")
    p.add_argument("--reuse", action="store_true", default=None,
                   help="docker: one container per process, reset between sources (or CHCONFORM_DOCKER_REUSE=1)")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 2, help="sources checked in parallel")
    p.add_argument("--source", action="append", help="check only this source (repeatable); the canon is always built")
    p.add_argument("--verbose", "-v", action="store_true", help="list every skipped statement")


@command("check", "apply every source twice to its own ClickHouse and compare with the canon", _check_args)
def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.engines import get_backend
    from chconform.config import load_config
    from chconform.reports.render import render_json, render_markdown, render_text
    from chconform.checks.run import run_check

    config = load_config(args.config)
    if args.source:
        for path in args.source:
            config.source(path)
    backend = get_backend(args.backend or config.backend, image=config.image, timeout_s=config.timeout_s,
                          root=config.root, reuse=args.reuse)
    try:
        result = run_check(config, backend, jobs=args.jobs, only=args.source)
    finally:
        backend.close()
    renderers = {"json": render_json, "markdown": render_markdown}
    emit(args, renderers[args.format](result) if args.format in renderers else render_text(result, args.verbose), out)
    return EXIT_OK if result.ok else EXIT_FOUND
