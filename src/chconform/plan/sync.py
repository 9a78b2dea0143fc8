"""`chconform sync`: rewrite every drifted key-table definition to the canonical text.

Planning is pure (text in, edits and new text out); only `write_atomic` touches the disk.
Everything outside the edited statements stays byte for byte: comments, other
statements, encoding, line endings. A definition is rewritten only when the static
validator finds it different from the canon (spellings ClickHouse builds the same are
left as they are), so a second run changes nothing.

DROP TABLE IF EXISTS is added only in init and migration sources, only right before a
definition this run rewrites or adds (it must be re-created for the change to take effect
on a server that already has the table), and never in a dump.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from chconform.config import Config, SourceSpec
from chconform.errors import SourceError
from chconform.sql.lexer import tokenize
from chconform.sql.source import Source, Statement

_SYNCED = ("create_table", "create_view", "create_materialized_view", "create_dictionary")

__all__ = ["Edit", "FilePlan", "canonical_texts", "encode", "plan", "plan_source", "unified_diff", "write_atomic", "beyond_sync"]


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] with `text`; `why` is shown to the user."""

    start: int
    end: int
    text: str
    why: str
    object: str = ""  # the object whose definition the edit makes canonical


@dataclass(frozen=True)
class FilePlan:
    path: str
    file: Path
    encoding: str
    old: str
    new: str
    edits: tuple[Edit, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.new != self.old


def newline_of(text: str) -> str:
    """The file's own line ending: CRLF if most of its lines end so, else LF."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def _with_newlines(text: str, nl: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", nl)


def canonical_texts(canon: Source, key_tables: tuple[str, ...] | None = None,
                    prelude: tuple[str, ...] = ()) -> dict[str, str]:
    """The statement text (without `;`) that defines each object (default: every one the canon creates:
    tables, views, materialized views, dictionaries) in the canonical source's end state."""
    from chconform.schema.static import simulate

    objects = simulate(canon, prelude).objects
    out = {}
    for table in sorted(objects) if key_tables is None else key_tables:
        d = objects.get(table)
        if d is None or d.undecidable or d.altered:
            continue  # no text to copy: absent, or its end state is only the engine's to know
        stmt = next((s for s in canon.statements if s.line == d.line and s.target == table), None)
        if stmt is not None:
            out[table] = stmt.text
    return out


def _name(fqn: str) -> str:
    return ".".join(p if (p[:1].isalpha() or p[:1] == "_") and all(c.isalnum() or c == "_" for c in p)
                    else "`" + p.replace("`", "``") + "`" for p in fqn.split("."))


def plan_source(source: Source, spec: SourceSpec, texts: dict[str, str], prelude: tuple[str, ...] = ()) -> FilePlan:
    """The edits that make one source define every key table exactly as the canon does.

    A templated source (placeholders substituted from [variables]) is left alone: its file is not the text
    that was checked. A clustered one is edited in its own text (the one-node rewrite keeps every offset),
    except the statements that rewrite touched."""
    from chconform.schema.static import compare_definitions, parse_definition, simulate
    from chconform.sql.source import split_statements

    if source.templated:
        return FilePlan(source.path, spec.file, source.encoding, source.original, source.original, (),
                        (f"{source.path}: a template (placeholders from [variables]); sync does not rewrite it, "
                         "apply the canonical definitions by hand",))

    nl = newline_of(source.text)
    canon_defs = {t: parse_definition(split_statements(x)[0]) for t, x in texts.items()}
    canon_flags = {t: split_statements(x)[0] for t, x in texts.items()}
    drops = spec.role in ("init", "migration")
    edits: list[Edit] = []
    notes: list[str] = []
    stmts = source.statements
    last_key: Statement | None = None
    for i, stmt in enumerate(stmts):
        if stmt.kind not in _SYNCED or stmt.target not in texts:
            continue
        last_key = stmt
        if _rewritten(source, stmt):
            notes.append(f"{source.path}:{stmt.line}  {stmt.target}: left alone, written for a cluster (ON CLUSTER "
                         "or a Replicated engine); apply the canonical definition by hand")
            continue
        got = parse_definition(stmt)
        if got.undecidable:
            notes.append(f"{source.path}:{stmt.line}  {stmt.target}: left alone, undecidable statically ({got.undecidable})")
            continue
        flags = canon_flags[stmt.target]
        differs = compare_definitions(canon_defs[stmt.target], got)
        if not differs and (stmt.if_not_exists, stmt.or_replace) == (flags.if_not_exists, flags.or_replace):
            continue
        why = ", ".join(sorted({d.aspect for d in differs})) or "IF NOT EXISTS / OR REPLACE"
        edits.append(Edit(stmt.start, stmt.start + len(stmt.text), _with_newlines(texts[stmt.target], nl),
                          f"{source.path}:{stmt.line}  {stmt.target}: rewritten to the canonical text ({why})",
                          stmt.target))
        word = "TABLE" if stmt.kind == "create_table" else "DICTIONARY" if stmt.kind == "create_dictionary" else "VIEW"
        if drops and not _dropped_before(stmts, i) and not flags.or_replace:
            edits.append(Edit(stmt.start, stmt.start, f"DROP {word} IF EXISTS {_name(stmt.target)};{nl}",
                              f"{source.path}:{stmt.line}  {stmt.target}: DROP {word} IF EXISTS added before it "
                              f"({spec.role})"))
    defined = simulate(source, prelude).objects
    missing = [t for t in spec.must_define if t not in defined]
    anchor = last_key or next((s for s in reversed(stmts) if s.kind == "create_database"), None)
    at = anchor.end if anchor is not None else len(source.text)
    bodies = []
    for table in missing:
        if table not in texts:
            notes.append(f"{source.path}  {table}: must_define asks for it, but the canonical source does not define it")
            continue
        drop = f"DROP TABLE IF EXISTS {_name(table)};{nl}" if drops else ""
        bodies.append(f"{drop}{_with_newlines(texts[table], nl)};")
    if bodies:
        added = (nl + nl).join(bodies)
        if anchor is not None:  # right after the anchor's `;`; what followed it still follows
            closed = _terminated(source, anchor)
            text, where = ("" if closed else ";") + nl + nl + added, f"after line {anchor.line}"
        else:
            head = "" if not source.text or source.text.endswith(nl) else nl
            text, where = head + (nl if source.text else "") + added + nl, "at the end of the file"
        names = ", ".join(t for t in missing if t in texts)
        edits.append(Edit(at, at, text, f"{source.path}  {names}: added (must_define) {where}"))
    old = source.original or source.text  # the file as it is: the one-node rewrite kept every offset
    new = old
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        new = new[: edit.start] + edit.text + new[edit.end :]
    return FilePlan(source.path, spec.file, source.encoding, old, new, tuple(edits), tuple(notes))


def _dropped_before(stmts: tuple[Statement, ...], i: int) -> bool:
    """A DROP of the same object stands earlier, after its previous CREATE (a block of drops at the top counts)."""
    target = stmts[i].target
    for stmt in reversed(stmts[:i]):
        if stmt.target == target and stmt.kind == "drop_table":
            return True
        if stmt.target == target and stmt.kind.startswith("create_"):
            return False
    return False


def _terminated(source: Source, stmt: Statement) -> bool:
    """Whether the statement ends with its own `;`, not with a comment that does (`… -- done;` at the end)."""
    tail = source.text[stmt.start + len(stmt.text):stmt.end]  # what follows its code: space, comments, the `;`
    return any(t.kind == "punct" for t in tokenize(tail))  # the only punctuation a tail can hold is its `;`


def _rewritten(source: Source, stmt: Statement) -> bool:
    """Whether the one-node rewrite changed this statement (its text is not the file's)."""
    return any(stmt.start <= r.offset < stmt.end for r in source.rewrites)


def plan(config: Config) -> list[FilePlan]:
    """A plan for every configured source; the canonical one (the reference) only ever gets notes."""
    from chconform.checks.static import read_sources
    from chconform.schema.static import simulate

    sources = read_sources(config)
    canon = sources[config.canonical]
    texts = canonical_texts(canon, None, config.prelude)
    clustered = {t for t in texts if any(_rewritten(canon, s) for s in canon.creates(t))}
    texts = {t: x for t, x in texts.items() if t not in clustered}  # its text here lacks ON CLUSTER / replication
    objects = simulate(canon, config.prelude).objects
    notes = tuple(f"{config.canonical}  {t}: the canonical definition is undecidable statically "
                  f"({objects[t].undecidable or objects[t].altered}); sync leaves every copy of it alone"
                  for t in config.key_tables if t in objects and t not in texts and t not in clustered)
    notes += tuple(f"{config.canonical}  {t}: must_define asks for it in the canonical source, which sync never "
                   "rewrites; add it there by hand" for t in config.canonical_source.must_define if t not in objects)
    notes += tuple(f"{config.canonical}  {t}: the canonical definition is written for a cluster; sync leaves every "
                   "copy of it alone" for t in sorted(clustered))
    head = FilePlan(config.canonical, config.canonical_source.file, canon.encoding, canon.original or canon.text,
                    canon.original or canon.text, (), notes)
    return [head] + [plan_source(sources[s.path], s, texts, config.prelude)
                     for s in config.sources if s.path != config.canonical]


_NOT_DEFINITIONS = ("drop_", "duplicate_", "not_idempotent", "nondeterministic", "unknown_", "unconfigured", "ignore")


def _a_definition(aspect: str, check: str) -> bool:
    """A difference of what a definition builds (plan's business), not a rule about how the file is written."""
    return check != "role" and not aspect.startswith(_NOT_DEFINITIONS)


def beyond_sync(plans: list[FilePlan], report: object) -> list[tuple[str, str]]:
    """(source, finding) the static validator reports that no edit of these plans touches: only `plan` fixes them
    (an ALTER in a migration, a definition left alone, a table the canon changes after creating it)."""
    edited = {(p.path, e.object) for p in plans for e in p.edits if e.object}
    out = []
    for s in getattr(report, "sources", ()):
        for d in s.differences:
            if (s.path, d.object) not in edited and _a_definition(d.aspect, d.check):
                obj = f"{d.object}.{d.column}" if d.column else d.object
                out.append((s.path, f"{s.path}:{d.line}  {obj}  {d.aspect}" if d.line else f"{s.path}  {obj}  {d.aspect}"))
    return out


def unified_diff(p: FilePlan) -> str:
    return "".join(difflib.unified_diff(p.old.splitlines(keepends=True), p.new.splitlines(keepends=True),
                                        fromfile=f"a/{p.path}", tofile=f"b/{p.path}"))


def encode(text: str, encoding: str, path: str) -> bytes:
    """Bytes in the file's own encoding (a BOM stays a BOM); a character it cannot hold is one clear error."""
    try:
        return text.encode(encoding)  # "utf-8-sig" writes the BOM itself
    except UnicodeEncodeError as exc:
        raise SourceError(f"{path}: the canonical text has {exc.object[exc.start:exc.end]!r}, which {encoding} "
                          "cannot hold; save the file as UTF-8 and run sync again") from None


def write_atomic(file: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, then rename over the original."""
    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, file.stat().st_mode & 0o7777)
        os.replace(tmp, file)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
