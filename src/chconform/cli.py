"""`chconform …`: a thin edge that turns library errors into one line and an exit code.

Exit codes: 0 conforms, 1 differences or errors found, 2 bad input or unusable environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from .errors import ChconformError, ConfigError, EnvironmentUnusable

__all__ = ["main", "run", "COMMANDS"]

EXIT_OK, EXIT_FOUND, EXIT_BAD = 0, 1, 2

Command = Callable[[argparse.Namespace, TextIO, TextIO], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command]] = {}


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None]) -> Callable[[Command], Command]:
    """Register a subcommand; other modules add theirs with the same decorator."""

    def wrap(fn: Command) -> Command:
        COMMANDS[name] = (help, arguments, fn)
        return fn

    return wrap


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="output format (default text)")
    p.add_argument("--output", type=Path, help="write the report to this file instead of stdout")


def _check_args(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--backend", choices=("embedded", "docker"), help="engine (default: config, CHCONFORM_BACKEND, embedded)")
    p.add_argument("--reuse", action="store_true", default=None,
                   help="docker: one container per process, reset between sources (or CHCONFORM_DOCKER_REUSE=1)")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 2, help="sources checked in parallel")
    p.add_argument("--source", action="append", help="check only this source (repeatable); the canon is always built")
    p.add_argument("--verbose", "-v", action="store_true", help="list every skipped statement")


def emit(args: argparse.Namespace, text: str, out: TextIO) -> None:
    if getattr(args, "output", None):
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    else:
        out.write(text)


@command("check", "apply every source twice to its own ClickHouse and compare with the canon", _check_args)
def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .backends.base import get_backend
    from .config import load_config
    from .report import render_json, render_markdown, render_text
    from .run import run_check

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


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="chconform", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, arguments, _) in COMMANDS.items():
        arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def _load_plugins() -> None:
    """Commands defined in other modules register themselves on import."""
    import importlib

    for module in ("static", "sync", "evidence", "bootstrap", "smoke", "drift", "upgrade"):
        try:
            importlib.import_module(f"chconform.{module}_cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"chconform.{module}_cli":
                raise


def run(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    """The whole CLI as a function: arguments in, exit code out."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_BAD if exc.code else EXIT_OK
    try:
        return COMMANDS[args.command][2](args, out, err)
    except (ConfigError, EnvironmentUnusable) as exc:
        err.write(f"chconform: {exc}\n")
        return EXIT_BAD
    except ChconformError as exc:
        err.write(f"chconform: {exc}\n")
        return EXIT_BAD
    except KeyboardInterrupt:
        err.write("chconform: interrupted\n")
        return 130


def main() -> None:
    sys.exit(run(sys.argv[1:], sys.stdout, sys.stderr))


if __name__ == "__main__":
    main()
