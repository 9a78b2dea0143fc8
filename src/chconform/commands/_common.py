"""What every command shares: the registry, exit codes, common options and where output goes."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

__all__ = ["COMMANDS", "EXIT_OK", "EXIT_FOUND", "EXIT_BAD", "command", "common_options", "emit"]

EXIT_OK, EXIT_FOUND, EXIT_BAD = 0, 1, 2

Command = Callable[[argparse.Namespace, TextIO, TextIO], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command]] = {}


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None]) -> Callable[[Command], Command]:
    """Register a subcommand; each module of `chconform.commands` adds its own."""

    def wrap(fn: Command) -> Command:
        COMMANDS[name] = (help, arguments, fn)
        return fn

    return wrap


def common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="output format (default text)")
    p.add_argument("--output", type=Path, help="write the report to this file instead of stdout")


def emit(args: argparse.Namespace, text: str, out: TextIO) -> None:
    if getattr(args, "output", None):
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    else:
        out.write(text)
