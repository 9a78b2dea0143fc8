"""`chconform init [FOLDER]`: take the inventory of a repository's SQL and write a first chconform.toml.

It reads every `.sql` file under the folder, guesses the canonical source, each file's role, the
migration folders and their tool's conventions (golang-migrate `NNN_x.up.sql`, goose `-- +goose Up`,
dbmate `-- migrate:up`, versioned directories), the key tables and the databases a fresh engine needs
first, writes `chconform.toml` and prints every guess with its reason. An existing configuration is
never overwritten (exit 2). The guesses are a start: read them, then run `chconform validate`.
"""

from __future__ import annotations

import argparse
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, TextIO

from chconform.commands._common import EXIT_OK, command
from chconform.errors import ConfigError, EnvironmentUnusable

if TYPE_CHECKING:
    from chconform.sql.source import Source

__all__ = ["FileFacts", "Guess", "Survey", "cmd_init", "guess", "render_toml", "survey"]

CONFIG_NAME = "chconform.toml"
_SKIP_DIRS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", "data", "logs", ".chconform", "build",
              "dist", ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache", "mutants"}
_VERSION_DIR = re.compile(r"^v?\d+(?:[._-]\d+)*$")  # 1.23.0, v2, 20240101
_NUMBERED = re.compile(r"^\d+[_-]")  # 001_create.sql, 20240101120000_x.sql (goose, dbmate without markers)
_MIGRATION_DIR_NAMES = {"migrations", "migration", "migrate", "db_migrations", "changes", "changelog", "patches"}
# A name that says "this is the whole schema": each hint and what it adds to the canonical score.
_CANON_HINTS = (("schema", 3), ("bootstrap", 2), ("canonical", 4), ("dump", 2), ("structure", 2), ("ddl", 1))
_SYSTEM_DATABASES = {"default", "system", "information_schema", "INFORMATION_SCHEMA"}


@dataclass(frozen=True)
class FileFacts:
    """What one .sql file does, read without an engine."""

    path: str  # relative to the surveyed folder
    creates: tuple[str, ...]  # tables, views and dictionaries it defines (db.name), in order
    tables: tuple[str, ...]  # of those, the tables (what can be a key table: rows go in, DESCRIBE reads it)
    drops: tuple[str, ...]  # tables it drops
    access: int  # user, role and grant statements
    alters: int  # ALTER / RENAME statements: a file that changes tables is a migration
    databases_created: tuple[str, ...]
    bare_database_create: bool  # CREATE DATABASE without IF NOT EXISTS
    idempotent: bool  # every CREATE is IF NOT EXISTS or OR REPLACE
    tool: str  # plain | golang-migrate | goose | dbmate
    down: bool  # a golang-migrate .down.sql file


@dataclass(frozen=True)
class Survey:
    folder: Path
    files: tuple[FileFacts, ...]
    unreadable: tuple[str, ...] = ()  # one line each: file and why


@dataclass(frozen=True)
class MigrationFolder:
    folder: str  # relative to the root
    format: str
    files: int
    why: str
    step: str = ""  # the [[path]] steps entry (default: the folder itself)


@dataclass(frozen=True)
class Guess:
    root: str
    canonical: str | None
    canonical_why: str
    roles: tuple[tuple[str, str, str], ...]  # (path relative to root, role, why)
    migrations: tuple[MigrationFolder, ...]
    key_tables: tuple[tuple[str, int], ...]  # (table, number of sources defining it)
    prelude: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


# --- reading (the one edge before the pure middle) ------------------------------------------------


def survey(folder: Path) -> Survey:
    """Every .sql file under `folder` (skipping VCS, virtualenv, build and runtime folders), read and classified."""
    from chconform.errors import SourceError
    from chconform.sql.migrations import detect_format, is_down_file
    from chconform.sql.source import read_source

    files: list[FileFacts] = []
    unreadable: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(n for n in filenames if n.lower().endswith(".sql")):
            full = Path(dirpath) / name
            rel = full.relative_to(folder).as_posix()
            if full.is_symlink():
                unreadable.append(f"{rel}: a symbolic link; not followed")
                continue
            try:
                source = read_source(full, rel)
            except SourceError as exc:
                unreadable.append(str(exc))
                continue
            files.append(_facts(rel, source, detect_format(name, source.text), is_down_file(name)))
    return Survey(folder, tuple(files), tuple(unreadable))


def _facts(rel: str, source: Source, tool: str, down: bool) -> FileFacts:
    statements = source.statements
    kinds = ("create_table", "create_view", "create_materialized_view", "create_dictionary")
    creates = [(s.kind, s.target) for s in statements if s.kind in kinds and s.target]
    dbs = [s.target for s in statements if s.kind == "create_database" and s.target]
    return FileFacts(
        path=rel,
        creates=tuple(dict.fromkeys(t for _, t in creates)),
        tables=tuple(dict.fromkeys(t for k, t in creates if k == "create_table")),
        drops=tuple(s.target for s in statements if s.kind == "drop_table" and s.target),
        access=sum(1 for s in statements if s.kind == "access"),
        alters=sum(1 for s in statements if s.kind in ("alter", "rename")),
        databases_created=tuple(db.split(".")[-1] for db in dbs),
        bare_database_create=any(not s.if_not_exists for s in statements if s.kind == "create_database"),
        idempotent=all(s.if_not_exists or s.or_replace for s in statements if s.kind in kinds),
        tool=tool,
        down=down,
    )


# --- guessing (pure) -------------------------------------------------------------------------------


def _common_root(paths: list[str]) -> str:
    parents = [PurePosixPath(p).parent.parts for p in paths]
    common: list[str] = []
    for parts in zip(*parents):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common) or "."


def _under(root: str, path: str) -> str:
    return path if root == "." else path[len(root) + 1:]


def _versioned(folder: str, path: str) -> bool:
    """`path` is `<folder>/<version>/<file>.sql`."""
    parent = PurePosixPath(path).parent
    return str(parent.parent) == folder and bool(_VERSION_DIR.match(parent.name))


def _member(folder: str, fmt: str, why: str, path: str) -> bool:
    return _versioned(folder, path) if why.startswith("versioned") else _in(folder, path)


def _migration_folders(files: list[FileFacts], downs: Counter[str]) -> dict[str, tuple[str, str]]:
    """Folder -> (format, why) for folders whose files follow a migration tool's conventions."""
    by_dir: dict[str, list[FileFacts]] = {}
    for f in files:
        by_dir.setdefault(str(PurePosixPath(f.path).parent), []).append(f)
    out: dict[str, tuple[str, str]] = {}
    for folder, members in sorted(by_dir.items()):
        tools = Counter(f.tool for f in members)
        names = [PurePosixPath(f.path).name for f in members]
        parent = PurePosixPath(folder)
        if tools["goose"] or tools["dbmate"]:
            tool = "goose" if tools["goose"] >= tools["dbmate"] else "dbmate"
            marker = "-- +goose Up" if tool == "goose" else "-- migrate:up"
            out[folder] = (tool, f"{tools[tool]} of {len(members)} files mark their up part with `{marker}`")
        elif tools["golang-migrate"]:
            twins = downs[folder]
            out[folder] = ("golang-migrate", f"{tools['golang-migrate']} files named NNN_name.up.sql"
                           + (f" ({twins} .down.sql twins, never applied)" if twins else ""))
        elif _VERSION_DIR.match(parent.name) and parent.parent.name:
            versioned = str(parent.parent)
            if versioned not in out:
                out[versioned] = ("plain", f"versioned directories ({parent.name}/...): applied in version order")
        elif len(members) > 1 and sum(1 for n in names if _NUMBERED.match(n)) == len(members):
            out[folder] = ("plain", f"all {len(members)} files are numbered (NNN_name.sql): applied in that order")
    return out


def _in(folder: str, path: str) -> bool:
    return folder == "." or path == folder or path.startswith(folder + "/")


def _canonical(candidates: list[FileFacts], root: str) -> tuple[FileFacts | None, str]:
    """The file most likely to be the whole schema: most objects, no DROP, idempotent, a name that says so."""
    if not candidates:
        return None, "no file outside the migration folders creates a table"

    def score(f: FileFacts) -> tuple[float, str]:
        stem = PurePosixPath(f.path).stem.lower()
        hints = [(h, w) for h, w in _CANON_HINTS if h in stem]
        value = len(f.creates) + sum(w for _, w in hints) + (2 if not f.drops else -2) + (1 if f.idempotent else 0)
        if "init" in stem or "migrat" in f.path.lower() or f.alters:
            value -= 2
        reasons = [f"defines {len(f.creates)} objects"]
        reasons.append("drops nothing" if not f.drops else f"drops {len(f.drops)} tables")
        if f.idempotent:
            reasons.append("every CREATE is IF NOT EXISTS")
        if hints:
            reasons.append(f"its name says {', '.join(repr(h) for h, _ in hints)}")
        return value, ", ".join(reasons)

    ranked = sorted(candidates, key=lambda f: (-score(f)[0], f.path.count("/"), f.path))
    best = ranked[0]
    runner = f"; next: {_under(root, ranked[1].path)}" if len(ranked) > 1 else ""
    return best, f"{score(best)[1]}{runner}"


def _role(f: FileFacts, canonical: FileFacts | None) -> tuple[str, str]:
    if canonical is not None and f.path == canonical.path:
        return "dump", "the canonical source"
    lowered = f.path.lower()
    if any(part in _MIGRATION_DIR_NAMES for part in PurePosixPath(lowered).parts[:-1]) or "migrat" in lowered:
        return "migration", "named or filed as a migration: may drop a table right before re-creating it"
    if f.alters:
        return "migration", f"alters tables ({f.alters} ALTER/RENAME): a migration"
    if f.drops:
        return "init", f"drops {len(f.drops)} table(s) it re-creates"
    if "init" in PurePosixPath(lowered).stem:
        return "init", "its name says init"
    return "dump", "creates without dropping (idempotent dump)" if f.idempotent else "creates without dropping"


def guess(s: Survey) -> Guess:
    """Everything init writes, with a reason per guess (pure: the survey in, the guess out)."""
    creating = [f for f in s.files if f.creates and not f.down]
    if not creating:
        raise ConfigError(f"{s.folder}: no .sql file here creates a table; point chconform init at the folder "
                          "that holds the schema")
    root = _common_root([f.path for f in creating])
    migrations = _migration_folders(creating, Counter(str(PurePosixPath(f.path).parent) for f in s.files if f.down))
    stepped = [f for f in creating if any(_member(m, fmt, why, f.path) for m, (fmt, why) in migrations.items())]
    sources = [f for f in creating if f not in stepped]
    canonical, why = _canonical(sources, root)
    notes: list[str] = []
    if canonical is None:
        canonical, why = _canonical(stepped, root)
        notes.append("every table-creating file follows a migration convention; the canonical source is a guess "
                     "among them: point `canonical` at the file that holds the whole schema")
        if canonical is not None:
            sources.append(canonical)
    assert canonical is not None  # creating is not empty
    ordered = sorted(sources, key=lambda f: (f.path != canonical.path, f.path))  # the canonical first
    roles = tuple((_under(root, f.path), *_role(f, canonical)) for f in ordered)
    counts = Counter(t for f in sources + stepped for t in set(f.tables))
    keys = sorted(((t, n) for t, n in counts.items() if t in canonical.tables and n > 1),
                  key=lambda item: (-item[1], item[0]))[:20]
    if not keys:
        keys = [(t, counts[t]) for t in canonical.tables[:10]]
        notes.append("no table is defined in more than one file: the key tables are the canonical source's tables")
    prelude, prelude_notes = _prelude(sources + stepped)
    folders = []
    for m, (fmt, reason) in sorted(migrations.items()):
        shown = _under(root, m) if m != root else "."
        step = f"{shown}/*/*.sql" if reason.startswith("versioned") else shown
        folders.append(MigrationFolder(shown, fmt, sum(1 for f in stepped if _member(m, fmt, reason, f.path)), reason,
                                       step))
    return Guess(root, _under(root, canonical.path), why, roles, tuple(folders), tuple(keys), prelude,
                 tuple(notes + prelude_notes))


def _prelude(files: list[FileFacts]) -> tuple[tuple[str, ...], list[str]]:
    """Databases a source uses without creating: a fresh engine needs them before every source."""
    missing = sorted({t.split(".", 1)[0] for f in files for t in f.creates
                      if "." in t and t.split(".", 1)[0] not in f.databases_created} - _SYSTEM_DATABASES)
    bare = sorted({db for f in files if f.bare_database_create for db in f.databases_created})
    notes = [f"database {db}: a file creates it without IF NOT EXISTS, so it is not in the prelude"
             for db in missing if db in bare]
    return tuple(f"CREATE DATABASE IF NOT EXISTS {db}" for db in missing if db not in bare), notes


# --- writing ---------------------------------------------------------------------------------------


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_toml(g: Guess) -> str:
    """The configuration text, every guess commented with its reason."""
    lines = [
        "# Written by `chconform init`: guesses, each with its reason. Read them, then run",
        "# `chconform validate` (no engine) and `chconform check` (the real engine).",
        f"root = {_toml_string(g.root)}",
        f"canonical = {_toml_string(g.canonical or '')}  # {g.canonical_why}",
    ]
    if g.prelude:
        lines.append("# run on every fresh engine first: the sources use these databases without creating them")
        lines.append("prelude = [" + ", ".join(_toml_string(p) for p in g.prelude) + "]")
    lines.append("# defined in the most sources (count in the comment)")
    lines.append("key_tables = [")
    lines.extend(f"    {_toml_string(t)},  # {n} source{'s' if n != 1 else ''}" for t, n in g.key_tables)
    lines.append("]")
    for path, role, why in g.roles:
        lines += ["", "[[source]]", f"path = {_toml_string(path)}", f"role = {_toml_string(role)}  # {why}"]
        if path == g.canonical:
            lines.append('must_define = "all"')
    for m in g.migrations:
        lines += ["", f"# {m.why}", "[[path]]", f"name = {_toml_string(PurePosixPath(m.folder).name or 'migrations')}",
                  f"steps = [{_toml_string(m.step or m.folder)}]", f"format = {_toml_string(m.format)}"]
    return "\n".join(lines) + "\n"


def render_report(g: Guess, s: Survey, written: str) -> str:
    lines = [f"chconform init: {len(s.files)} .sql files under {s.folder}"]
    lines.extend(f"  unreadable: {u}" for u in s.unreadable)
    lines.append(f"root: {g.root} (the folder holding every table-creating file)")
    lines.append(f"canonical: {g.canonical} ({g.canonical_why})")
    width = max((len(p) for p, _, _ in g.roles), default=0)
    lines.append("sources:")
    lines.extend(f"  {p.ljust(width)}  {role:9}  {why}" for p, role, why in g.roles)
    if g.migrations:
        lines.append("migration folders ([[path]], applied in version order; never checked one by one):")
        lines.extend(f"  {m.folder}  {m.format}, {m.files} files: {m.why}" for m in g.migrations)
    lines.append("key tables: " + ", ".join(f"{t} ({n})" for t, n in g.key_tables))
    if g.prelude:
        lines.append("prelude: " + "; ".join(g.prelude) + " (used by sources that do not create it)")
    lines.extend(f"note: {n}" for n in g.notes)
    lines.append(f"wrote {written}; next: chconform validate --config {written}, then chconform check")
    return "\n".join(lines) + "\n"


def _existing(folder: Path) -> Path | None:
    own = folder / CONFIG_NAME
    if own.exists():
        return own
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and b"[tool.chconform]" in pyproject.read_bytes():
        return pyproject
    return None


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", nargs="?", type=Path, default=Path("."),
                   help="the repository (or the folder of its SQL) to take the inventory of (default: here)")


@command("init", "take the inventory of a folder's SQL and write a first chconform.toml (every guess explained)",
         _arguments)
def cmd_init(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.config import load_config

    folder = args.folder.resolve()
    if not folder.is_dir():
        raise ConfigError(f"{args.folder}: not a folder")
    existing = _existing(folder)
    if existing is not None:
        raise ConfigError(f"{existing} already configures chconform; init never overwrites it (edit it, or remove it "
                          "and run init again)")
    found = survey(folder)
    g = guess(found)
    text = render_toml(g)
    target = folder / CONFIG_NAME
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ConfigError(f"{target} appeared while init was reading; init never overwrites it") from None
    except OSError as exc:
        raise EnvironmentUnusable(f"cannot write {target}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    try:
        load_config(target)  # what init writes must load; a wrong guess is one line, and the file is kept to edit
    except ConfigError as exc:
        out.write(render_report(g, found, target.name))
        raise ConfigError(f"{target.name} was written but does not load: {exc}; edit it") from None
    report = render_report(g, found, target.name)
    out.write(report.splitlines()[-1] + "\n" if args.quiet else report)  # quiet: what was written, and what next
    return EXIT_OK
