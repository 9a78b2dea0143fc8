"""Text from a source never reaches a report raw: no control character, no line a source can begin.

A column comment may hold a newline followed by `OK  …` or `::error file=…::`; printed raw, a
source would forge a verdict line or a CI annotation. Every value that came from SQL passes
through `safe()` before any renderer places it on a line.
"""

from __future__ import annotations

import re

__all__ = ["safe", "workflow_data", "workflow_property", "markdown_cell"]

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides a
# terminal or a viewer might honour.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def safe(text: object) -> str:
    """One visible line: every control character written as an escape (`\\n`, `\\x1b`, `\\u2028`)."""
    return _CONTROL.sub(_escape, "" if text is None else str(text))


def workflow_data(text: object) -> str:
    """The message part of a GitHub workflow command (`::error …::MESSAGE`), escaped as GitHub reads it."""
    return safe(text).replace("%", "%25")  # safe() left no CR or LF to encode


def workflow_property(text: object) -> str:
    """A property value of a workflow command (`file=…,title=…`): `:` and `,` escaped too."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def markdown_cell(text: object) -> str:
    """Inside a Markdown table cell or inline code: one line, no cell break, no code fence break."""
    return safe(text).replace("|", "\\|").replace("`", "'")
