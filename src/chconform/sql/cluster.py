"""Clustered SQL on one node: `ON CLUSTER` dropped, `Replicated*` engines applied as their base engine.

A throwaway engine has no ZooKeeper and no distributed DDL queue, so `ON CLUSTER x` fails with
`Replicated DDL queries are disabled` and `ReplicatedMergeTree('/clickhouse/tables/{shard}/t', '{replica}')`
with `NO_ZOOKEEPER`. What the statement builds on each node is the same with the clause dropped and the
engine's first two (replication) arguments removed, so that is what runs; the removed arguments are kept
and compared as an aspect of their own (`replication`), and the report says what was rewritten.

The rewrite works on tokens and is length-preserving: removed text becomes spaces (line breaks stay), so
every statement keeps its line, column and offsets. `Distributed(cluster, db, table)` and `{macros}` need
no rewrite: the embedded engine declares one-node clusters and the macros (engines/server_defaults.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from chconform.errors import SourceError
from chconform.model import Snapshot
from chconform.sql.lexer import Token, tokenize

__all__ = ["Rewrite", "one_node", "replication_by_target", "with_replication", "note", "cluster_names"]

_REPLICATED = re.compile(r"Replicated(\w*MergeTree)")
_STOP = frozenset({"SELECT", "WITH", "AS", "ENGINE"})  # ON CLUSTER stands before these and the first "("
_NAME_KINDS = ("word", "ident", "string")
DEFAULT_REPLICATION = "(server default path and replica)"


@dataclass(frozen=True)
class Rewrite:
    """One change that lets a clustered statement run on one node."""

    offset: int  # in the source text
    line: int
    change: str  # e.g. "ON CLUSTER main dropped", "ReplicatedMergeTree applied as MergeTree"
    replication: str = ""  # the replication arguments removed, as written


def one_node(text: str) -> tuple[str, tuple[Rewrite, ...]]:
    """`text` rewritten for one node (same length, same lines) and what was changed, in text order."""
    if "cluster" not in text.lower() and "Replicated" not in text:
        return text, ()

    try:
        tokens = tokenize(text)
    except SourceError:
        return text, ()  # the splitter reports the unterminated quote with its position
    chars = list(text)
    rewrites: list[Rewrite] = []
    for code in _statements(tokens):  # in a statement, ON CLUSTER (its head) comes before ENGINE
        rewrites.extend(_drop_on_cluster(code, chars, text))
        rewrites.extend(_base_engines(code, chars, text))
    return "".join(chars), tuple(rewrites)


def _statements(tokens: list[Token]) -> Iterable[list[Token]]:
    code: list[Token] = []
    for tok in tokens:
        if tok.kind in ("space", "comment"):
            continue
        if tok.kind == "punct" and tok.text == ";":
            yield code
            code = []
        else:
            code.append(tok)
    if code:
        yield code


def _blank(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] not in "\r\n":
            chars[i] = " "


def _end(tok: Token) -> int:
    return tok.start + len(tok.text)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _drop_on_cluster(code: list[Token], chars: list[str], text: str) -> list[Rewrite]:
    """`ON CLUSTER name` in a statement's head (before its body: the first "(", ENGINE, AS, SELECT or WITH).

    Written after the body it is no clause ClickHouse accepts: it is left for the engine to refuse.
    """
    for i, tok in enumerate(code):
        if tok.upper in _STOP or tok.text == "(":
            break
        if (tok.upper == "ON" and i + 2 < len(code) and code[i + 1].upper == "CLUSTER"
                and code[i + 2].kind in _NAME_KINDS):
            name = code[i + 2]
            _blank(chars, tok.start, _end(name))
            return [Rewrite(tok.start, _line(text, tok.start), f"ON CLUSTER {name.text} dropped")]
    return []


def _arguments(code: list[Token], open_at: int) -> tuple[list[list[Token]], int]:
    """The arguments of the call whose "(" is code[open_at] (`()` has one empty argument), and the index of
    its ")" (the statement's last token when it is never closed)."""
    args: list[list[Token]] = [[]]
    depth = 0
    for j in range(open_at, len(code)):
        t = code[j].text  # only punctuation tokens are exactly "(", "[", ")", "]" or ","
        if t in ("(", "["):
            depth += 1
            if depth == 1:
                continue
        elif t in (")", "]"):
            depth -= 1
            if depth == 0:
                return args, j
        elif t == "," and depth == 1:
            args.append([])
            continue
        args[-1].append(code[j])
    return args, len(code) - 1


def _base_engines(code: list[Token], chars: list[str], text: str) -> list[Rewrite]:
    """Each `ENGINE = Replicated…MergeTree(path, replica, …)` applied as its base engine, a Replicated
    database as Atomic; the replication arguments removed are kept in the Rewrite."""
    out = []
    is_database = tuple(t.upper for t in code[:2]) in (("CREATE", "DATABASE"), ("ATTACH", "DATABASE"))
    for i, tok in enumerate(code):
        if tok.upper != "ENGINE":
            continue
        k = i + 1
        if k < len(code) and code[k].text == "=":  # `ENGINE = Name` or `ENGINE Name`
            k += 1
        if k >= len(code) or code[k].kind != "word":
            continue  # a column named `engine`, or a statement cut short: ClickHouse reports it
        name = code[k]
        has_args = k + 1 < len(code) and code[k + 1].text == "("
        args, close = _arguments(code, k + 1) if has_args else ([], k)
        match = _REPLICATED.fullmatch(name.text)
        if is_database and name.text == "Replicated":
            replication = ", ".join(text[a[0].start:_end(a[-1])] for a in args if a) or DEFAULT_REPLICATION
            chars[name.start:_end(name)] = list("Atomic".rjust(len(name.text)))
            if has_args:
                _blank(chars, code[k + 1].start, _end(code[close]))
            out.append(Rewrite(name.start, _line(text, name.start), "Replicated database applied as Atomic",
                               replication))
        elif match and not is_database:
            base = match.group(1)
            chars[name.start:_end(name)] = list(base.rjust(len(name.text)))
            replication = DEFAULT_REPLICATION
            # path and replica: the first two arguments, the first a string; an empty argument is a syntax
            # error ClickHouse reports, so the arguments are then left as written
            if len(args) >= 2 and len(args[0]) == 1 and args[0][0].kind == "string" and all(args):
                replication = ", ".join(text[a[0].start:_end(a[-1])] for a in args[:2])
                stop = args[2][0].start if len(args) > 2 else _end(args[1][-1])
                _blank(chars, args[0][0].start, stop)
            out.append(Rewrite(name.start, _line(text, name.start), f"{name.text} applied as {base}", replication))
    return out


class _Statement(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def target(self) -> str | None: ...
    @property
    def kind(self) -> str: ...


class Source(Protocol):
    """What these functions read of a chconform.sql.source.Source (which imports this module: no cycle back)."""

    @property
    def statements(self) -> tuple[_Statement, ...]: ...
    @property
    def rewrites(self) -> tuple[Rewrite, ...]: ...


def replication_by_target(source: Source) -> dict[str, str]:
    """Table → the replication arguments its CREATE carried (the last CREATE of a table wins)."""
    out: dict[str, str] = {}
    for rewrite in source.rewrites:
        if not rewrite.replication:
            continue
        for stmt in source.statements:
            if stmt.start <= rewrite.offset < stmt.end and stmt.target and stmt.kind.startswith("create_"):
                out[stmt.target] = rewrite.replication
    return out


def with_replication(snapshot: Snapshot, source: Source | None, macros: dict[str, str] | None = None) -> Snapshot:
    """The snapshot as the node sees it: each replicated table's replication arguments set (compared as
    `replication`), and `{macro}` in a Distributed engine's arguments expanded as the server expands it."""
    found = replication_by_target(source) if source is not None and source.rewrites else {}
    if not found and not macros:
        return snapshot
    tables = []
    for t in snapshot.tables:
        if t.fqn in found:
            t = replace(t, replication=found[t.fqn])
        if macros and t.engine.startswith("Distributed(") and "{" in t.engine:
            t = replace(t, engine=_MACRO.sub(lambda m: macros.get(m.group(1), m.group(0)), t.engine))
        tables.append(t)
    return replace(snapshot, tables=tuple(tables))


_MACRO = re.compile(r"\{(\w+)\}")


def note(source: Source) -> str:
    """One line for the report saying what ran differently from the file (empty when nothing did)."""
    if not source.rewrites:
        return ""
    dropped = sum(1 for r in source.rewrites if r.change.startswith("ON CLUSTER"))
    based = len(source.rewrites) - dropped
    parts = []
    if dropped:
        parts.append(f"{dropped} ON CLUSTER clause{'s' * (dropped != 1)} dropped")
    if based:
        parts.append(f"{based} Replicated engine{'s' * (based != 1)} applied as the base engine "
                     "(replication arguments compared as `replication`)")
    return "applied on one node: " + "; ".join(parts) + f" (first at line {source.rewrites[0].line})"


def cluster_names(texts: Iterable[str]) -> set[str]:
    """Cluster names the texts use (`ON CLUSTER x`, `Distributed(x, …)`), macros left unexpanded."""
    out: set[str] = set()
    for text in texts:
        if "cluster" not in text.lower() and "Distributed" not in text:
            continue
        try:
            code = [t for t in tokenize(text) if t.kind not in ("space", "comment")]
        except SourceError:
            continue  # the source itself reports where it is broken
        for i, tok in enumerate(code[:-2]):
            if tok.upper == "ON" and code[i + 1].upper == "CLUSTER" and code[i + 2].kind in _NAME_KINDS:
                out.add(_unquoted(code[i + 2]))
            elif tok.text == "Distributed" and code[i + 1].text == "(" and code[i + 2].kind in _NAME_KINDS:
                out.add(_unquoted(code[i + 2]))
    return out


def _unquoted(tok: Token) -> str:
    return tok.text[1:-1] if tok.kind in ("string", "ident") else tok.text
