"""Source files: decoding, a ClickHouse-aware statement splitter, statement kinds.

The splitter is a small lexer (quotes, backticks, `--`, `#`, `/* */` comments,
escaped quotes, heredocs) so that a `;` inside a string never splits a statement,
and every statement keeps the line and column where it starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chconform.errors import SourceError
from chconform.sql.cluster import Rewrite, one_node
from chconform.sql.lexer import Token, tokenize
from chconform.sql.templates import substitute

__all__ = [
    "Token",
    "Statement",
    "Source",
    "decode",
    "tokenize",
    "split_statements",
    "read_source",
    "first_link",
    "ACCESS_KINDS",
    "DEFAULT_MAX_SOURCE_BYTES",
]

ACCESS_KINDS = frozenset({"access"})
_ACCESS_OBJECTS = {"USER", "ROLE", "QUOTA", "POLICY", "ROW", "PROFILE", "SETTINGS"}


@dataclass(frozen=True)
class Statement:
    """One statement of a source, with where it starts and what it does."""

    text: str
    line: int
    column: int
    start: int  # offset of the first character in the decoded text
    end: int  # offset just past the terminating `;` (or the last character)
    kind: str
    target: str | None = None  # `db.name` for statements on one object
    target_span: tuple[int, int] | None = None  # offsets of the object name in `text`
    if_not_exists: bool = False
    or_replace: bool = False

    @property
    def first_line(self) -> str:
        line = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return line if len(line) <= 200 else line[:199] + "…"  # a generated or minified line stays readable


@dataclass(frozen=True)
class Source:
    """A decoded source file split into statements."""

    path: str  # as shown to users: relative to the config root
    text: str
    encoding: str
    statements: tuple[Statement, ...]
    warnings: tuple[str, ...] = field(default=())
    rewrites: tuple[Rewrite, ...] = ()  # what was changed so a clustered statement runs on one node
    original: str = ""  # the decoded file when `text` differs from it (placeholders substituted, rewritten)
    templated: bool = False  # [variables] placeholders were substituted: offsets differ from the file's

    def creates(self, fqn: str) -> list[Statement]:
        """The statements creating `fqn` (`db.name`; a SQL function, global, by its bare name)."""
        return [s for s in self.statements if s.kind.startswith("create_") and (
            s.target == fqn or (s.kind == "create_function" and (s.target or "").split(".", 1)[-1] == fqn))]


def decode(data: bytes, path: str = "<source>") -> tuple[str, str, list[str]]:
    """Decode utf-8 (with or without BOM) or cp1251; return text, encoding, warnings."""
    if b"\x00" in data:
        raise SourceError(f"{path}: binary file (contains NUL bytes), not SQL text")
    warnings: list[str] = []
    body, encoding = (data[3:], "utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else (data, "utf-8")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        if encoding == "utf-8-sig":  # the mark says UTF-8: no other encoding is guessed
            raise SourceError(f"{path}:{line}: not utf-8 text, though it starts with a UTF-8 byte-order mark "
                              f"({exc.reason}); save it as UTF-8") from None
        try:
            text, encoding = data.decode("cp1251"), "cp1251"
        except UnicodeDecodeError:
            raise SourceError(f"{path}:{line}: not utf-8 or cp1251 text ({exc.reason}); save it as UTF-8") from None
    for number, line_text in enumerate(text.splitlines(), 1):
        if _looks_mojibake(line_text):
            warnings.append(f"{path}:{number}: text looks double-encoded (mojibake); check the file's encoding")
    return text, encoding, warnings


_MOJIBAKE = ("Ð", "Ñ", "Ã", "Â")
_CP1251_MOJIBAKE = ("Р°", "Рµ", "Рѕ", "РЅ", "С‚", "СЃ", "Рё", "Р»")


def _looks_mojibake(line: str) -> bool:
    """UTF-8 Cyrillic read as Latin-1 or cp1251 leaves tell-tale pairs."""
    latin = sum(line.count(m) for m in _MOJIBAKE)
    cyr = sum(line.count(m) for m in _CP1251_MOJIBAKE)
    return latin >= 3 or cyr >= 2


class _Lines:
    """Line and column for increasing offsets, each character looked at once (linear in the file size)."""

    def __init__(self, text: str) -> None:
        self.text, self.offset, self.line, self.line_start = text, 0, 1, 0

    def at(self, offset: int) -> tuple[int, int]:
        newlines = self.text.count("\n", self.offset, offset)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", self.offset, offset) + 1
        self.offset = offset
        return self.line, offset - self.line_start + 1


def split_statements(text: str, database: str = "default") -> list[Statement]:
    """Split on `;` outside quotes and comments; classify each statement."""
    tokens = tokenize(text)
    statements: list[Statement] = []
    current: list[Token] = []
    lines = _Lines(text)
    for tok in tokens + [Token("punct", ";", len(text))]:
        if tok.kind == "punct" and tok.text == ";":
            code = [t for t in current if t.kind not in ("space", "comment")]
            if code:
                stmt = _statement(text, code, min(tok.start + 1, len(text)), database, lines)
                if stmt.kind == "use" and stmt.target:
                    database = stmt.target
                statements.append(stmt)
            current = []
        else:
            current.append(tok)
    return statements


def _statement(text: str, code: list[Token], end: int, database: str, lines: _Lines) -> Statement:
    start = code[0].start
    body = text[start : code[-1].start + len(code[-1].text)]
    line, col = lines.at(start)
    kind, name_at, flags = _classify(code)
    target, span = None, None
    if kind == "use" and len(code) > 1:
        target = code[1].value
    elif name_at is not None and name_at < len(code):
        target, span = _object_name(code, name_at, database)
        if span:
            span = (span[0] - start, span[1] - start)
    return Statement(
        text=body,
        line=line,
        column=col,
        start=start,
        end=end,
        kind=kind,
        target=target,
        target_span=span,
        if_not_exists="IF NOT EXISTS" in flags,
        or_replace="OR REPLACE" in flags,
    )


def _classify(code: list[Token]) -> tuple[str, int | None, tuple[str, ...]]:
    """Return (kind, index of the object name token or None, flag phrases seen: "OR REPLACE", "IF NOT EXISTS")."""
    words = [t.upper for t in code[:8]]
    first = words[0]  # a statement has at least one token of code
    i, flags = 1, []

    def skip(*seq: str) -> None:
        nonlocal i
        if tuple(words[i : i + len(seq)]) == seq:
            i += len(seq)
            flags.append(" ".join(seq))

    if first in ("GRANT", "REVOKE") or (first == "SET" and words[1:2] in (["ROLE"], ["DEFAULT"])):
        return "access", None, ()
    if first in ("CREATE", "ATTACH", "REPLACE"):
        skip("OR", "REPLACE")
        if words[i : i + 1] and words[i] in _ACCESS_OBJECTS:
            return "access", None, ()
        skip("TEMPORARY")
        obj = words[i] if i < len(words) else ""
        if obj == "DATABASE":
            i += 1
            skip("IF", "NOT", "EXISTS")
            return "create_database", i, tuple(flags)
        kinds = {"TABLE": "create_table", "VIEW": "create_view", "DICTIONARY": "create_dictionary",
                 "LIVE": "create_view", "WINDOW": "create_view", "FUNCTION": "create_function"}
        if obj == "MATERIALIZED":
            i += 2
            kind = "create_materialized_view"
        elif obj in kinds:
            i += 2 if obj in ("LIVE", "WINDOW") else 1
            kind = kinds[obj]
        else:
            return ("attach" if first == "ATTACH" else "create_other"), None, ()
        skip("IF", "NOT", "EXISTS")
        if first == "ATTACH":
            kind = "attach"
        return kind, i, tuple(flags)
    if first in ("DROP", "DETACH"):
        obj = words[1] if len(words) > 1 else ""
        if obj in _ACCESS_OBJECTS:
            return "access", None, ()
        skip("TEMPORARY")
        obj = words[i] if i < len(words) else ""
        if obj in ("DATABASE", "TABLE", "VIEW", "DICTIONARY"):
            i += 1
            skip("IF", "EXISTS")  # ClickHouse's order: DROP TABLE [IF EXISTS] [IF EMPTY] name
            skip("IF", "EMPTY")
            if obj == "DATABASE":
                return "drop_database", i, tuple(flags)
            return ("drop_table" if first == "DROP" else "detach"), i, tuple(flags)
        return ("drop_other" if first == "DROP" else "detach"), None, ()
    if first == "ALTER":
        if len(words) > 1 and words[1] in _ACCESS_OBJECTS:
            return "access", None, ()
        return "alter", 2 if words[1:2] == ["TABLE"] else None, ()
    if first == "TRUNCATE":
        skip("TEMPORARY")
        skip("TABLE")
        skip("IF", "EXISTS")
        return "truncate", i, ()
    if first == "INSERT":
        i = 2 if words[1:2] == ["INTO"] else 1
        skip("TABLE")
        if words[i : i + 1] == ["FUNCTION"]:
            return "insert_function", None, ()
        return "insert", i, ()
    if first == "OPTIMIZE":
        return "optimize", 2, ()
    simple = {"SELECT": "select", "WITH": "select", "USE": "use", "SET": "set", "RENAME": "rename",
              "EXCHANGE": "rename", "SYSTEM": "system", "KILL": "kill", "SHOW": "show", "DESCRIBE": "show",
              "DESC": "show", "EXISTS": "show", "EXPLAIN": "show", "CHECK": "show"}
    return simple.get(first, "other"), None, ()


def _object_name(code: list[Token], i: int, database: str) -> tuple[str | None, tuple[int, int] | None]:
    first = code[i]
    if first.kind not in ("word", "ident"):
        return None, None
    if i + 2 < len(code) and code[i + 1].text == "." and code[i + 2].kind in ("word", "ident"):
        last = code[i + 2]
        return f"{first.value}.{last.value}", (first.start, last.start + len(last.text))
    return f"{database}.{first.value}", (first.start, first.start + len(first.text))


def first_link(root: Path, path: str) -> str | None:
    """The first symbolic link on the way from `root` to `path` (relative to root, as written), or None.

    Lexical: `a/../b` is walked as written, so a link anywhere on the way is found before it is followed.
    """
    here = root
    for part in Path(os.path.normpath(path)).parts:
        here = here / part
        if here.is_symlink():
            return os.path.relpath(here, root)
    return None


DEFAULT_MAX_SOURCE_BYTES = 256 << 20  # config `max_source_mb`: far above any schema, below what exhausts memory


def read_source(path: Path, shown_as: str, database: str = "default",
                variables: Mapping[str, str] | tuple[tuple[str, str], ...] = (),
                max_bytes: int = DEFAULT_MAX_SOURCE_BYTES) -> Source:
    """Read and split one file; unreadable input raises SourceError naming it.

    `${NAME}` placeholders are replaced from `variables` ([variables]) before anything else reads the text,
    and a clustered statement is rewritten for one node (sql/cluster.py), lines and offsets kept.

    A symbolic link is not followed (O_NOFOLLOW): the configuration decides which links are sources
    (`first_link`), and a file swapped for a link after that is refused here, never read through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if path.is_symlink():
            raise SourceError(f"{shown_as}: is a symbolic link; chconform does not follow it "
                              "(configure the file it points to)") from None
        raise SourceError(f"{shown_as}: cannot read ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise SourceError(f"{shown_as}: cannot read ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise SourceError(f"{shown_as}: larger than max_source_mb allows ({max_bytes} bytes); split the file, or "
                          "raise max_source_mb in the configuration if it is meant to be this big")
    text, encoding, warnings = decode(data, shown_as)
    decoded = text
    text = substitute(text, dict(variables), shown_as)
    templated = text != decoded
    text, rewrites = one_node(text)
    try:
        statements = split_statements(text, database)
    except SourceError as exc:
        where = str(exc).removeprefix("line ")  # "3:9: unterminated string; ..." -> file:line:column
        raise SourceError(f"{shown_as}:{where}") from None
    if not statements:
        warnings.append(f"{shown_as}: no SQL statements (the file is empty or holds only comments)")
    return Source(shown_as, text, encoding, tuple(statements), tuple(warnings), rewrites,
                  decoded if text != decoded else "", templated)
