"""`chconform …`: parse the command line, dispatch to a command, turn library errors into one line and an exit code.

Exit codes: 0 conforms, 1 differences or errors found, 2 bad input or unusable environment.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import TextIO

from chconform.commands._common import COMMANDS, EXIT_BAD, EXIT_FOUND, EXIT_OK, command, emit
from chconform.errors import ChconformError, ConfigError, EnvironmentUnusable

__all__ = ["main", "run", "COMMANDS", "EXIT_OK", "EXIT_FOUND", "EXIT_BAD", "command", "emit"]

COMMAND_MODULES = ("check", "validate", "sync", "path", "diff", "bootstrap", "smoke", "evidence")


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="chconform", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, arguments, _) in COMMANDS.items():
        arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def _load_plugins() -> None:
    """Each command module registers itself on import."""
    for module in COMMAND_MODULES:
        importlib.import_module(f"chconform.commands.{module}")


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
