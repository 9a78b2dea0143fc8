"""Nothing lost: where chconform may delete or overwrite, and which statements destroy data.

Two promises, both pure so they are unit-tested without an engine or a disk:
  * `guard_path` refuses any path outside the project's own data, log and
    temporary directories (symlinks resolved first, so a link cannot smuggle
    a write outside); a command that deletes or overwrites calls it first.
  * `classify_destructive` names what a statement would destroy (DROP TABLE /
    DATABASE, TRUNCATE, ALTER … DROP / MODIFY / CLEAR COLUMN, DROP PARTITION,
    DELETE, CREATE OR REPLACE, RENAME / EXCHANGE onto an existing name), so
    `bootstrap` can refuse it on tables holding rows and reports can say it
    with the source's role.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chconform.errors import ConfigError, SourceError
from chconform.sql.source import Source, Statement, Token, tokenize

__all__ = [
    "Destructive",
    "classify_destructive",
    "destructive_actions",
    "destructive_statements",
    "guard_path",
    "project_roots",
    "rename_targets",
]


def guard_path(path: Path | str, allowed_roots: Iterable[Path | str]) -> Path:
    """The resolved path if it lies inside one of `allowed_roots`; otherwise ConfigError naming it."""
    roots = [Path(os.path.realpath(r)) for r in allowed_roots]
    roots = [r for r in roots if r != Path(r.anchor)]  # a root of "/" would allow everything: never
    resolved = Path(os.path.realpath(path))
    for root in roots:
        if resolved == root or root in resolved.parents:
            return resolved
    shown = ", ".join(str(r) for r in roots) or "none configured"
    raise ConfigError(f"refusing to delete or overwrite {resolved}: it is outside the project's own data, log and "
                      f"temporary directories ({shown})")


def project_roots(repo: Path | str, data_dir: Path | str | None = None) -> tuple[Path, ...]:
    """The directories chconform may write: the data directory, `logs/`, `.chconform/` and its own temp dirs."""
    base = Path(repo)
    roots = [base / "logs", base / ".chconform", Path(data_dir) if data_dir else base / "infra" / "clickhouse" / "data"]
    roots.append(Path(tempfile.gettempdir()) / "chconform")
    return tuple(roots)


@dataclass(frozen=True)
class Destructive:
    """One thing a statement would destroy: what kind of loss, on which object, in words."""

    kind: str  # drop_table | drop_database | truncate | alter_column | alter_partition | delete | replace | rename
    target: str  # db.table (or db for drop_database)
    detail: str

    def __str__(self) -> str:
        return self.detail


_ALTER_LOSSES = {
    ("DROP", "COLUMN"): "alter_column", ("MODIFY", "COLUMN"): "alter_column", ("CLEAR", "COLUMN"): "alter_column",
    ("DROP", "PARTITION"): "alter_partition", ("DROP", "PART"): "alter_partition",
    ("REPLACE", "PARTITION"): "alter_partition", ("MOVE", "PARTITION"): "alter_partition",
    ("DELETE", "WHERE"): "delete", ("MODIFY", "TTL"): "delete",
}


def _code(text: str) -> list[Token]:
    try:
        return [t for t in tokenize(text) if t.kind not in ("space", "comment")]
    except SourceError:
        return []


def _qualified(code: list[Token], i: int, database: str) -> tuple[str, int]:
    """`db.name` starting at token i, and the index after it."""
    if i + 2 < len(code) and code[i + 1].text == "." and code[i + 2].kind in ("word", "ident"):
        return f"{code[i].value}.{code[i + 2].value}", i + 3
    if i < len(code) and code[i].kind in ("word", "ident"):
        return f"{database}.{code[i].value}", i + 1
    return "?", i + 1


def rename_targets(stmt: Statement, database: str = "default") -> list[tuple[str, str]]:
    """(from, to) pairs of a RENAME TABLE / EXCHANGE TABLES statement."""
    code = _code(stmt.text)
    words = [t.upper for t in code]
    if not words or words[0] not in ("RENAME", "EXCHANGE"):
        return []
    i = 2 if len(words) > 1 and words[1] in ("TABLE", "TABLES", "DICTIONARY", "DATABASE") else 1
    pairs = []
    while i < len(code):
        old, i = _qualified(code, i, database)
        if i < len(code) and code[i].upper in ("TO", "AND"):
            new, i = _qualified(code, i + 1, database)
            pairs.append((old, new))
        while i < len(code) and code[i].text != ",":
            i += 1
        i += 1
    return pairs


def destructive_actions(stmt: Statement, database: str = "default") -> list[Destructive]:
    """Everything the statement would destroy, in order; [] for a harmless statement."""
    code = _code(stmt.text)
    words = [t.upper for t in code]
    target = stmt.target or "?"
    if stmt.kind == "drop_table":
        what = words[1] if len(words) > 1 else "TABLE"
        return [Destructive("drop_table", target, f"DROP {what} {target}")]
    if stmt.kind == "drop_database":
        name = target.split(".", 1)[-1]
        return [Destructive("drop_database", name, f"DROP DATABASE {name} (every table in it)")]
    if stmt.kind == "truncate":
        return [Destructive("truncate", target, f"TRUNCATE TABLE {target}")]
    if stmt.kind == "alter":
        return _alter(code, words, target)
    if words[:1] == ["DELETE"]:
        name, _ = _qualified(code, 2, database)
        return [Destructive("delete", name, f"DELETE FROM {name}")]
    replacing = stmt.or_replace or words[:1] == ["REPLACE"]
    if replacing and (stmt.kind in ("create_table", "create_dictionary") or "TABLE" in words[:3]):
        return [Destructive("replace", target, f"CREATE OR REPLACE TABLE {target} (replaces the table and its rows)")]
    if stmt.kind == "rename":
        if words[:1] == ["EXCHANGE"]:
            return [Destructive("rename", new, f"EXCHANGE {old} AND {new} (the two tables swap their rows)")
                    for old, new in rename_targets(stmt, database)]
        return [Destructive("rename", new, f"RENAME {old} TO {new} (destroys data if {new} is an existing table)")
                for old, new in rename_targets(stmt, database)]
    return []


def _alter(code: list[Token], words: list[str], target: str) -> list[Destructive]:
    """The lossy commands of an ALTER TABLE (top level, after the table name)."""
    out = []
    depth = 0
    for i, tok in enumerate(code):
        depth += (tok.text == "(") - (tok.text == ")")
        if depth or i < 3 or tok.text in "()":
            continue
        word, nxt = words[i], words[i + 1] if i + 1 < len(words) else ""
        if word == "UPDATE":
            out.append(Destructive("delete", target, f"ALTER TABLE {target} UPDATE (rewrites rows)"))
            continue
        kind = _ALTER_LOSSES.get((word, nxt))
        if kind is None:
            continue
        detail = f"ALTER TABLE {target} {word} {nxt}"
        if kind == "alter_column":
            j = i + 4 if words[i + 2:i + 4] == ["IF", "EXISTS"] else i + 2
            detail += f" {code[j].value if j < len(code) else '?'}"
        out.append(Destructive(kind, target, detail))
    return out


def classify_destructive(stmt: Statement) -> str | None:
    """Why the statement may destroy data ("DROP TABLE db.t", …), or None."""
    actions = destructive_actions(stmt)
    return "; ".join(a.detail for a in actions) if actions else None


@dataclass(frozen=True)
class DestructiveStatement:
    """A destructive statement of a source, reported with where it is and the source's role."""

    path: str
    line: int
    role: str
    actions: tuple[Destructive, ...]

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.role}): " + "; ".join(a.detail for a in self.actions)


def destructive_statements(source: Source, role: str) -> list[DestructiveStatement]:
    """Every destructive statement of a source, with file:line and role."""
    out = []
    for stmt in source.statements:
        actions = destructive_actions(stmt)
        if actions:
            out.append(DestructiveStatement(source.path, stmt.line, role, tuple(actions)))
    return out
