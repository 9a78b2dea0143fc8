"""Migration folders as migration tools write them: which files are steps, in which order, and their "up" part.

golang-migrate keeps `NNN_name.up.sql` beside `NNN_name.down.sql`; goose marks sections with
`-- +goose Up` / `-- +goose Down` (and `StatementBegin` / `StatementEnd` around one statement);
dbmate with `-- migrate:up` / `-- migrate:down`; some projects keep versioned directories
(`1.23.0/0.sql`, `1.23.0/1.sql`). A step applies only its up part. Lines outside it are blanked,
never removed, so every statement keeps the line it has in the file.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chconform.errors import ConfigError, SourceError

__all__ = ["FORMATS", "StepFile", "detect_format", "expand_steps", "is_down_file", "natural_key", "up_part"]

FORMATS = ("auto", "plain", "golang-migrate", "goose", "dbmate")

# Section markers per tool: (a line that opens the up part, one that ends it, lines that are directives
# only). A marker is a whole comment line, in any case; options after it (`transaction:false`) are allowed.
_MARKERS = {
    tool: tuple(re.compile(p, re.IGNORECASE) for p in patterns)
    for tool, patterns in {
        "goose": (r"^\s*--\s*\+goose\s+Up\b", r"^\s*--\s*\+goose\s+Down\b", r"^\s*--\s*\+goose\b"),
        "dbmate": (r"^\s*--\s*migrate:up\b", r"^\s*--\s*migrate:down\b", r"^\s*--\s*migrate:"),
    }.items()
}
_DOWN_FILE = re.compile(r"\.down\.sql$", re.IGNORECASE)
_UP_FILE = re.compile(r"\.up\.sql$", re.IGNORECASE)


@dataclass(frozen=True)
class StepFile:
    """One file of a path, relative to the root, and the tool whose conventions it follows."""

    path: str
    file: Path
    format: str


def is_down_file(name: str) -> bool:
    return bool(_DOWN_FILE.search(name))


def detect_format(name: str, text: str) -> str:
    """The tool a file was written for: its markers say it, else its name, else plain SQL."""
    for fmt, (up, _, _) in _MARKERS.items():
        if any(up.match(line) for line in text.splitlines()):
            return fmt
    return "golang-migrate" if _UP_FILE.search(name) else "plain"


def up_part(text: str, fmt: str, shown_as: str = "<source>") -> str:
    """The text with everything but the up part blanked (line numbers kept); plain and golang-migrate: all."""
    markers = _MARKERS.get(fmt)
    if markers is None:
        return text
    up, down, directive = markers
    lines = text.splitlines(keepends=True)
    in_up, seen = False, False
    out = []
    for line in lines:
        if up.match(line):
            in_up, seen = True, True
        elif down.match(line):
            in_up = False
        keep = in_up and not directive.match(line)
        out.append(line if keep else "\n" if line.endswith("\n") else "")
    if not seen:
        marker = "-- +goose Up" if fmt == "goose" else "-- migrate:up"
        raise SourceError(f"{shown_as}: a {fmt} migration without a `{marker}` line; add it above the up part "
                          "or set format = \"plain\" for this path")
    return "".join(out)


def natural_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """Version order: runs of digits compare as numbers (`1.4.0` < `1.23.0`, `9_x` < `10_x`), and a version
    sorts before a longer one it starts (`V1__a` < `V1.1__b`): a `.` between digits sorts after any text."""
    parts = [part for part in re.split(r"(\d+)", path) if part]
    key: list[tuple[int, int | str]] = []
    for i, part in enumerate(parts):
        if part.isdigit():
            key.append((0, int(part)))
        elif part == "." and 0 < i < len(parts) - 1 and parts[i + 1].isdigit():
            key.append((2, ""))
        else:
            key.append((1, part.lower()))
    return tuple(key)


def _matches(root: Path, pattern: str) -> list[Path]:
    """Files a step entry names: a file, every .sql file under a directory, or a glob's .sql files."""
    full = root / pattern
    if full.is_dir():
        return [p for p in full.rglob("*.sql") if p.is_file()]
    if any(ch in pattern for ch in "*?["):  # relative to the root: a "[" in the root's own path is no pattern
        return [root / p for p in glob.glob(pattern, root_dir=root, recursive=True) if (root / p).is_file()]
    return [full] if full.is_file() else []


def expand_steps(root: Path, patterns: Iterable[str], fmt: str, where: str) -> tuple[StepFile, ...]:
    """Files of a path in order: each entry's files in version order, entries in the order written.

    `.down.sql` files are never steps. A file listed twice is applied once, where it first appears.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    top = root.resolve()
    out: list[StepFile] = []
    seen: set[str] = set()
    for pattern in patterns:
        found = []
        for file in _matches(root, pattern):
            full = file.resolve()
            if not full.is_relative_to(top):
                raise ConfigError(f"{where}: step {pattern!r} names {file}, outside the root {top}")
            rel = full.relative_to(top).as_posix()
            if not is_down_file(rel):
                found.append((rel, full))
        if not found:
            raise ConfigError(f"{where}: step {pattern!r} matches no .sql file under {top} "
                              "(a file, a directory or a glob; .down.sql files are never steps)")
        for rel, full in sorted(found, key=lambda item: natural_key(item[0])):
            if rel not in seen:
                seen.add(rel)
                out.append(StepFile(rel, full, fmt))
    return tuple(out)
