"""ClickHouse's own parse of a statement: the one input the gate decides on.

The parse comes from one place, an `Engine`: anything that answers `call(function, texts)` for
`parseQueryToJSON`, `formatQuery` and `explainAST`, one reply per text, in order (the embedded
backend's worker; a newest-release parse worker for other engines and servers). `parse_many` is
the entry point: texts in, one `Parsed` per text out, each with ClickHouse's tree or the reason
there is none.

ClickHouse parses some statements it cannot serialise as JSON. For those the text is first
normalised by ClickHouse (`formatQuery`: escapes decoded, one canonical spelling), then
  * a `JSON(…)` column type (its arguments are type arguments, never evaluated) is lifted out and
    replaced by a marker type name; the rest is parsed to JSON, and the marker must come back as a
    data type where the `JSON(…)` stood, or there is no tree;
  * `DESCRIBE t` is parsed as `SELECT * FROM t` (the same table expression, the same tail);
  * any other kind gets ClickHouse's `EXPLAIN AST` dump (node kinds and names) as its tree.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chconform.errors import SourceError
from chconform.sql.source import tokenize

__all__ = ["MARKER", "Engine", "EngineReply", "ExplainNode", "Parsed", "lift_json_types", "parse_many"]

MARKER = "ChconformJsonType"  # + a number: a data type name no source uses


@dataclass(frozen=True)
class EngineReply:
    """One text's answer: the function's output, or ClickHouse's error message."""

    ok: str | None
    error: str = ""


class Engine(Protocol):
    """Where the parse comes from: `function` is parseQueryToJSON, parseDataToJSON, formatQuery, normalizeQuery
    or explainAST."""

    def call(self, function: str, texts: Sequence[str]) -> list[EngineReply]: ...


@dataclass(frozen=True)
class ExplainNode:
    """One line of `EXPLAIN AST`: the node's kind and its label (a name, a literal), with its children."""

    kind: str
    label: str
    children: tuple[ExplainNode, ...] = ()


@dataclass(frozen=True)
class Parsed:
    """ClickHouse's parse of one text: a JSON tree, or an EXPLAIN AST tree, or the reason for neither."""

    text: str
    tree: dict[str, Any] | None = None
    explain: ExplainNode | None = None
    kind: str = ""  # the node type ClickHouse could not serialise (when `explain` or a rewrite stands in)
    markers: tuple[str, ...] = ()  # lifted JSON(...) types: each must be a data type in `tree`
    error: str = ""
    canonical: str = field(default="", compare=False)  # formatQuery's text, when it was needed


_UNSERIALISABLE = re.compile(r"AST node of type '([^']*)' does not support JSON serialization")


def parse_many(engine: Engine, texts: Sequence[str], function: str = "parseQueryToJSON") -> list[Parsed]:
    """ClickHouse's parse of each text, in as few engine calls as the texts allow (one when all serialise).

    `function` "parseDataToJSON": the same parse without the query size limits, for an INSERT's VALUES rows
    (the engine reads inline data of any size).
    """
    replies = engine.call(function, texts) if texts else []
    out: list[Parsed | None] = [None] * len(texts)
    stuck: dict[int, str] = {}
    for i, (text, reply) in enumerate(zip(texts, replies)):
        if reply.ok is not None:
            out[i] = _from_json(text, reply.ok)
        elif m := _UNSERIALISABLE.search(reply.error):
            stuck[i] = m.group(1)
        else:
            out[i] = Parsed(text, error=_first_line(reply.error))
    if stuck:
        for i, parsed in zip(stuck, _unserialisable(engine, [(texts[i], kind) for i, kind in stuck.items()])):
            out[i] = parsed
    return [p for p in out if p is not None]


def _from_json(text: str, reply: str) -> Parsed:
    try:
        tree = _deep_json(reply)
    except (ValueError, RecursionError):
        return Parsed(text, error="ClickHouse's parse is not valid JSON")
    if not isinstance(tree, dict):
        return Parsed(text, error="ClickHouse's parse is not a tree")
    return Parsed(text, tree=tree)


_DEPTH_LOCK = threading.Lock()


def _deep_json(reply: str) -> Any:
    """json.loads, also for the deepest tree ClickHouse parses (its AST depth limit is 1000, three JSON levels
    a node): Python's decoder recurses, so the interpreter's limit is raised for that one decode."""
    try:
        return json.loads(reply)
    except RecursionError:
        with _DEPTH_LOCK:
            old = sys.getrecursionlimit()
            sys.setrecursionlimit(max(old, 20_000))
            try:
                return json.loads(reply)
            finally:
                sys.setrecursionlimit(old)


def _first_line(error: str) -> str:
    line = error.strip().splitlines()[0] if error.strip() else "no reply"
    return line if len(line) <= 300 else line[:299] + "…"


def _unserialisable(engine: Engine, items: list[tuple[str, str]]) -> list[Parsed]:
    """Trees for what parses but does not serialise: canonical text first, then a rewrite or EXPLAIN AST."""
    formatted = engine.call("formatQuery", [text for text, _ in items])
    out: list[Parsed | None] = [None] * len(items)
    rewrites: dict[int, tuple[str, tuple[str, ...]]] = {}
    explains: dict[int, str] = {}
    for i, ((text, kind), reply) in enumerate(zip(items, formatted)):
        if reply.ok is None:
            out[i] = Parsed(text, kind=kind, error=f"ClickHouse cannot format it: {_first_line(reply.error)}")
            continue
        canonical = reply.ok.strip()
        if kind == "ASTObjectTypeArgument":
            lifted = lift_json_types(canonical)
            if lifted is None:
                out[i] = Parsed(text, kind=kind, error="the JSON(...) type arguments cannot be told apart")
            else:
                rewrites[i] = lifted
        elif kind == "DescribeQuery" and (select := _describe_as_select(canonical)) is not None:
            rewrites[i] = (select, ())
        else:
            explains[i] = canonical
    if rewrites:
        order = list(rewrites)
        replies = engine.call("parseQueryToJSON", [rewrites[i][0] for i in order])
        for i, reply in zip(order, replies):
            text, kind = items[i]
            rewritten, markers = rewrites[i]
            if reply.ok is None:
                out[i] = Parsed(text, kind=kind, error=f"the rewritten text does not parse: {_first_line(reply.error)}")
            else:
                parsed = _from_json(rewritten, reply.ok)
                out[i] = Parsed(text, parsed.tree, kind=kind, markers=markers, error=parsed.error, canonical=rewritten)
    if explains:
        order = list(explains)
        replies = engine.call("explainAST", [explains[i] for i in order])
        for i, reply in zip(order, replies):
            text, kind = items[i]
            if reply.ok is None:
                out[i] = Parsed(text, kind=kind, error=f"EXPLAIN AST fails: {_first_line(reply.error)}")
            else:
                try:
                    out[i] = Parsed(text, explain=explain_tree(reply.ok), kind=kind, canonical=explains[i])
                except RecursionError:
                    out[i] = Parsed(text, kind=kind, error="EXPLAIN AST is deeper than the gate reads")
    return [p for p in out if p is not None]


def lift_json_types(canonical: str) -> tuple[str, tuple[str, ...]] | None:
    """`JSON(args)` → a marker name, in ClickHouse's canonical text; None if the text cannot be lexed."""
    try:
        tokens = tokenize(canonical)
    except SourceError:
        return None
    parts: list[str] = []
    markers: list[str] = []
    at, i = 0, 0
    while i < len(tokens) - 1:
        tok = tokens[i]
        if tok.kind == "word" and tok.text.upper() == "JSON" and tokens[i + 1].text == "(":
            close = _closing(tokens, i + 1)
            if close is None:
                return None
            marker = f"{MARKER}{len(markers)}"
            parts.append(canonical[at:tok.start] + marker)
            markers.append(marker)
            at = tokens[close].start + 1
            i = close + 1
        else:
            i += 1
    parts.append(canonical[at:])
    return "".join(parts), tuple(markers)


def _closing(tokens: list[Any], i: int) -> int | None:
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].kind == "punct" and tokens[j].text == "(":
            depth += 1
        elif tokens[j].kind == "punct" and tokens[j].text == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


def _describe_as_select(canonical: str) -> str | None:
    """`DESCRIBE TABLE x …` (as formatQuery prints it) → `SELECT * FROM x …`."""
    for head in ("DESCRIBE TABLE ", "DESCRIBE TABLE\n", "DESCRIBE "):
        if canonical.startswith(head):
            return "SELECT * FROM " + canonical[len(head):]
    return None


_EXPLAIN_LINE = re.compile(r"^( *)(\S.*?)(?: \(children \d+\))?$")


def explain_tree(dump: str) -> ExplainNode:
    """`EXPLAIN AST` output (one node a line, indented by depth) as a tree; the first word is the kind."""
    root: list[tuple[int, str, str, list[Any]]] = []
    stack: list[tuple[int, list[Any]]] = [(-1, root)]
    for line in dump.splitlines():
        m = _EXPLAIN_LINE.match(line)
        if not m:
            continue
        depth, body = len(m.group(1)), m.group(2)
        kind, _, label = body.partition(" ")
        while stack[-1][0] >= depth:
            stack.pop()
        children: list[Any] = []
        stack[-1][1].append((depth, kind, label.strip(), children))
        stack.append((depth, children))

    def build(item: tuple[int, str, str, list[Any]]) -> ExplainNode:
        _, kind, label, children = item
        return ExplainNode(kind, label, tuple(build(c) for c in children))

    nodes = [build(item) for item in root]
    if len(nodes) == 1:
        return nodes[0]
    return ExplainNode("", "", tuple(nodes))
