"""chconform: prove that every SQL source of a ClickHouse schema builds the same schema as the canonical one.

Each source is applied twice to its own throwaway ClickHouse and what ClickHouse reports is
compared with what the canonical source builds.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import TextIO

from chconform.commands._common import (
    COMMANDS,
    EXIT_BAD,
    EXIT_FOUND,
    EXIT_INTERRUPTED,
    EXIT_OK,
    command,
    emit,
)
from chconform.errors import ChconformError

__all__ = ["main", "run", "COMMANDS", "EXIT_OK", "EXIT_FOUND", "EXIT_BAD", "command", "emit"]

COMMAND_MODULES = ("init", "check", "validate", "plan", "sync", "path", "diff", "bootstrap", "smoke", "evidence")


EPILOG = """exit codes: 0 conforms, 1 findings, 2 bad usage or unusable environment, 130 interrupted.
Start with `chconform init` in a repository without a configuration, then `chconform validate` (no engine,
about a second) and `chconform check` (the real engine). `chconform COMMAND --help` tells more."""


def _verbosity() -> argparse.ArgumentParser:
    shared = argparse.ArgumentParser(add_help=False)
    group = shared.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="print only findings and the verdict; no progress")
    group.add_argument("-v", "--verbose", action="store_true", help="print everything, skipped statements included")
    return shared


class _Version(argparse.Action):
    """--version, looked up only when asked (reading package metadata costs a tenth of a second)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from chconform.reports.findings import tool_version

        sys.stdout.write(f"chconform {tool_version()}\n")
        parser.exit()


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the arguments, only the command they name is imported (a run starts in milliseconds)."""
    _load_plugins(argv)
    parser = argparse.ArgumentParser(prog="chconform", description=__doc__, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version, nargs=0, help="print chconform's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = _verbosity()
    for name, (help_text, arguments, _) in COMMANDS.items():
        arguments(sub.add_parser(name, help=help_text, description=help_text, parents=[shared], epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter))
    return parser


def _load_plugins(argv: Sequence[str] | None = None) -> None:
    """Each command module registers itself on import: the one named in `argv`, else all (for help and errors)."""
    named = next((a for a in argv or () if not a.startswith("-")), None)
    if named is None and "--version" in (argv or ()):
        return  # `chconform --version` needs no command
    for module in (named,) if named in COMMAND_MODULES else COMMAND_MODULES:
        importlib.import_module(f"chconform.commands.{module}")


def run(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    """The whole CLI as a function: arguments in, exit code out; a user's mistake is one line, never a traceback."""
    try:
        parser = build_parser(argv)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            return EXIT_BAD if exc.code else EXIT_OK
        return COMMANDS[args.command][2](args, out, err)
    except ChconformError as exc:
        err.write(f"chconform: {exc}\n")
        return EXIT_BAD
    except OSError as exc:  # a disk, a folder or a pipe the environment refused: not a finding
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        err.write(f"chconform: {exc.strerror or exc}{where}\n")
        return EXIT_BAD
    except KeyboardInterrupt:
        err.write("chconform: interrupted\n")
        return EXIT_INTERRUPTED


def main() -> None:
    try:
        code = run(sys.argv[1:], sys.stdout, sys.stderr)
    except KeyboardInterrupt:  # Ctrl-C while Python itself was still starting the command
        sys.stderr.write("chconform: interrupted\n")
        code = EXIT_INTERRUPTED
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):  # `chconform … | head`: the reader left; not an error of ours
        pass
    sys.exit(code)


if __name__ == "__main__":
    main()
