"""One exception root; every user mistake becomes a one-line message at the CLI edge."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ChconformError",
    "ConfigError",
    "SourceError",
    "EnvironmentUnusable",
    "EngineError",
    "EngineTimeout",
    "EngineCrashed",
    "parse_engine_message",
    "engine_position",
]


class ChconformError(Exception):
    """Root of every error chconform raises on purpose."""


class ConfigError(ChconformError):
    """The configuration is wrong: a bad key, a missing file, a bad value."""


class SourceError(ChconformError):
    """A source file cannot be read at all."""


class EnvironmentUnusable(ChconformError):
    """The engine or backend cannot be used here (no Docker, no chDB, ...)."""


_CODE = re.compile(r"Code:\s*(\d+)\.")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*(?:\(version .*\))?\s*$")
_VERSION = re.compile(r"\s*\(version [^()]*(?:\([^()]*\))?[^()]*\)\s*$")


def parse_engine_message(text: str) -> tuple[int | None, str | None, str]:
    """Split ClickHouse's error text into (code, name, message); the message is one line, without a stack trace."""
    text = text.split("Stack trace (when copying this message", 1)[0].strip()
    code = _CODE.search(text)
    name = _NAME.search(text)
    msg = _VERSION.sub("", text)
    if "DB::Exception:" in msg:
        msg = msg.split("DB::Exception:", 1)[1].strip()
    if name:
        msg = msg[: msg.rfind("(" + name.group(1) + ")")].strip() or msg
    return (int(code.group(1)) if code else None, name.group(1) if name else None, " ".join(msg.split()))


_POSITION = re.compile(r"failed at position (\d+)")


def engine_position(text: str) -> int | None:
    """The 1-based byte offset in the statement where ClickHouse's parser stopped, if its message says."""
    found = _POSITION.search(text)
    return int(found.group(1)) if found else None


@dataclass
class EngineError(ChconformError):
    """ClickHouse refused a statement; carries its code and name."""

    code: int | None
    name: str | None
    message: str

    @classmethod
    def from_text(cls, text: str) -> EngineError:
        return cls(*parse_engine_message(text))

    def __str__(self) -> str:
        head = f"Code {self.code} ({self.name}): " if self.code is not None else ""
        return head + self.message


class EngineTimeout(EngineError):
    """A statement ran past the source's time budget and its engine was killed."""


class EngineCrashed(EngineError):
    """The engine process died (signal, abort) while running a statement."""
