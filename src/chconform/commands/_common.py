"""What every command shares: the registry, exit codes, options, output, progress and colour.

Exit codes are the same for every command: 0 conforms, 1 findings, 2 bad usage or an unusable
environment (one line on stderr, never a traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from chconform.errors import EnvironmentUnusable

__all__ = ["COMMANDS", "EXIT_OK", "EXIT_FOUND", "EXIT_BAD", "EXIT_INTERRUPTED", "FORMATS", "CI_FORMATS", "command",
           "common_options", "emit", "render_outcome", "wants_color", "Progress", "display_for", "Lines"]

EXIT_OK, EXIT_FOUND, EXIT_BAD, EXIT_INTERRUPTED = 0, 1, 2, 130
CI_FORMATS = ("sarif", "junit", "github")
FORMATS = ("text", "json", "markdown", *CI_FORMATS)

Command = Callable[[argparse.Namespace, TextIO, TextIO], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command]] = {}


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None]) -> Callable[[Command], Command]:
    """Register a subcommand; each module of `chconform.commands` adds its own."""

    def wrap(fn: Command) -> Command:
        COMMANDS[name] = (help, arguments, fn)
        return fn

    return wrap


def common_options(p: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS) -> None:
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml "
                                                "(default: the nearest one from the current folder up)")
    p.add_argument("--format", choices=formats, default="text",
                   help=f"report format: {', '.join(formats)} (default text)")
    p.add_argument("--output", type=Path, help="write the report to this file instead of stdout")


def emit(args: argparse.Namespace, text: str, out: TextIO) -> None:
    """The report to --output (created with its folder) or stdout; a file that cannot be written is exit 2."""
    target = getattr(args, "output", None)
    if not target:
        out.write(text)
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise EnvironmentUnusable(f"cannot write the report to {target}: {exc.strerror or exc}; "
                                  "choose a writable --output") from None


def render_outcome(fmt: str, outcome: Any) -> str:
    """SARIF, JUnit or GitHub annotations of any command's findings (see chconform.reports.findings)."""
    from chconform.reports.github import render_github
    from chconform.reports.junit import render_junit
    from chconform.reports.sarif import render_sarif

    return {"sarif": render_sarif, "junit": render_junit, "github": render_github}[fmt](outcome)


def display_for(config: Any) -> Callable[[str], str]:
    """Source paths as the repository names them (what editors and CI annotations open)."""
    from chconform.reports.findings import repo_relative

    return repo_relative(config.root)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def wants_color(stream: Any, environ: dict[str, str] | None = None) -> bool:
    """Colour on a terminal only; NO_COLOR (any value) turns it off, FORCE_COLOR (non-empty, not 0) on."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    force = env.get("FORCE_COLOR")
    if force is not None and force not in ("", "0"):
        return True
    return _is_terminal(stream) and env.get("TERM") != "dumb"


@dataclass
class Progress:
    """A line per source on stderr as it finishes, only when stderr is a terminal and not --quiet."""

    stream: Any
    total: int
    enabled: bool = True
    done: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def on(cls, stream: Any, total: int, quiet: bool = False) -> Progress:
        return cls(stream, total, enabled=not quiet and _is_terminal(stream))

    def __call__(self, what: str, seconds: float) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.done += 1
            self.stream.write(f"  [{self.done}/{self.total}] {what}  ({seconds:.2f}s)\n")
            self.stream.flush()


_PROBLEM = re.compile(r"\b(FAIL|FAILED|ERROR|error|REFUSED|DATA LOSS|CRITICAL|DIFFERS)\b")


class Lines:
    """Where a streaming command's lines go: every one, or with --quiet only those naming a problem and the last
    (the verdict), so a quiet run of a long pipeline still says how it ended."""

    def __init__(self, out: Any, quiet: bool = False) -> None:
        self.out, self.quiet, self.last, self.shown = out, quiet, "", False

    def __call__(self, line: str) -> None:
        self.last, self.shown = line, not self.quiet or bool(_PROBLEM.search(line))
        if self.shown:
            self.out.write(line + "\n")
            self.out.flush()

    def close(self) -> None:
        if self.quiet and self.last and not self.shown:
            self.out.write(self.last + "\n")
