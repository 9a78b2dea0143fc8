"""Templates: `${NAME}` placeholders in a source, substituted from the config's `[variables]` table.

Substitution happens on the decoded text before anything splits, parses or applies it, so the live
check, the static validator, sync and path all read the same SQL. A value never holds a line break,
so every statement keeps its line number. A placeholder without a value is one error naming it and
where it stands (one in a `--` comment needs none); `${NAME:-default}` supplies its own default, as in a shell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from chconform.errors import SourceError
from chconform.sql.lexer import tokenize

__all__ = ["PLACEHOLDER", "substitute", "placeholders", "check_value"]

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}\n]*))?\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_value(name: str, value: object) -> str:
    """Why `name = value` cannot be a template variable ("" when it can)."""
    if not _NAME.fullmatch(name):
        return f"variable name {name!r} is not a placeholder name (letters, digits, _)"
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return f"variable {name} must be a string or a number, not {value!r}"
    if "\n" in str(value) or "\r" in str(value):
        return f"variable {name} holds a line break; statements would move to other lines"
    return ""


def placeholders(text: str) -> list[tuple[str, int]]:
    """Every placeholder's name and line, in order."""
    return [(m.group(1), text.count("\n", 0, m.start()) + 1) for m in PLACEHOLDER.finditer(text)]


def substitute(text: str, variables: Mapping[str, str], shown_as: str = "<source>") -> str:
    """`text` with every `${NAME}` replaced; an unset placeholder raises SourceError naming file:line."""
    if "${" not in text:
        return text
    missing: list[tuple[str, int]] = []

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in variables:
            return variables[name]
        if default is not None:
            return default
        missing.append((name, text.count("\n", 0, match.start()) + 1))
        return match.group(0)

    out = PLACEHOLDER.sub(value, text)
    missing = [(name, line) for name, line in missing if not _in_comment(text, line, name)]
    if missing:
        name, line = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise SourceError(f"{shown_as}:{line}: placeholder ${{{name}}} has no value{more}; "
                          f"set {name} under [variables] in the configuration")
    return out


def _in_comment(text: str, line: int, name: str) -> bool:
    """Whether every `${name}` on `line` stands in a comment (a commented-out template line needs no value)."""
    lines = text.split("\n")
    start = sum(len(x) + 1 for x in lines[: line - 1])
    end = start + len(lines[line - 1])
    try:
        tokens = tokenize(text[start:end])
    except SourceError:
        return False
    spots = [m.start() for m in PLACEHOLDER.finditer(text, start, end) if m.group(1) == name]
    comments = [(t.start + start, t.start + start + len(t.text)) for t in tokens if t.kind == "comment"]
    return all(any(a <= spot < b for a, b in comments) for spot in spots)
