"""What a statement may do on a backend: run it, skip it (with the reason), or refuse it.

Sources come from pull requests, so every statement is untrusted. One decision, from ClickHouse's
own parse (chconform.gate.parse: the newest embedded engine's `parseQueryToJSON`, whatever engine
or server applies the statement afterwards), judged by chconform.gate.decide:

  * `judge_many(texts, engine, access_control)` is the whole gate for texts a backend is asked to
    run: it reads the tokens only to classify (access control is skipped where there is none; an
    INSERT's inline data is set apart from its head), has `engine` parse every head and the SQL the
    statements carry as text, and decides on those trees. No tree, no run.
  * `gate(stmt, access_control)` is the classification alone, for callers that hand the statement
    to a backend which then judges the tree (it never refuses: it cannot see what the tree shows);
    with `ast` it decides on that tree as well.
  * `gate_ast(ast)` decides on one `parseQueryToJSON` tree.
A refusal is a finding with file:line and the reason; a refused statement never runs. Skips are
reported as skipped, never as passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chconform.errors import SourceError
from chconform.gate.decide import (
    RUN,
    SKIP_ACCESS,
    SubText,
    Verdict,
    decide,
    subtexts_of,
    values_rows,
)
from chconform.gate.parse import Engine, Parsed, parse_many
from chconform.sql.source import Statement, split_statements

__all__ = ["SKIP_ACCESS", "GateStopped", "Verdict", "gate", "gate_ast", "gate_sql", "judge_many", "parse_target"]


class GateStopped(Exception):
    """The engine stopped (timeout, crash) while parsing the text at `index`; `error` says how."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index, self.error = index, error


def gate(stmt: Statement, access_control: bool, ast: dict[str, Any] | None = None) -> Verdict:
    """Classify one statement (skip access control without a server); with `ast`, decide on that tree too."""
    if stmt.kind == "access" and not access_control:
        return Verdict("skip", SKIP_ACCESS)
    return gate_ast(ast, access_control) if ast is not None else RUN


def gate_sql(text: str, access_control: bool, ast: dict[str, Any] | None = None) -> Verdict:
    """`gate` for a text a backend is asked to run (one statement; INSERT data after the head is fine)."""
    head, _ = _insert_parts(text)
    try:
        stmts = split_statements(head)
    except SourceError:
        stmts = []  # ClickHouse's parse decides; this reading only classifies
    if len(stmts) > 1:
        return Verdict("refuse", "several statements in one call; send them one at a time so each is gated")
    if stmts and stmts[0].kind == "access" and not access_control:
        return Verdict("skip", SKIP_ACCESS)
    return gate_ast(ast, access_control) if ast is not None else RUN


def gate_ast(ast: dict[str, Any], access_control: bool = False) -> Verdict:
    """Decide on one `parseQueryToJSON` tree (nothing it carries as text is parsed: such text is refused)."""
    return decide(Parsed("", tree=ast), {}, access_control)


def parse_target(text: str) -> str:
    """What to hand ClickHouse's parser: an INSERT without its inline data (the parser refuses data)."""
    head, _ = _insert_parts(text)
    return head.strip().rstrip(";").strip()


@dataclass(frozen=True)
class _Pending:
    index: int  # of the text in judge_many's list
    head: str
    data: str | None  # an INSERT's inline data (None: none)


def judge_many(texts: Sequence[str], engine: Engine, access_control: bool = False) -> list[Verdict]:
    """The gate's verdict on each text, from ClickHouse's parse of it (batched: a few engine calls in all).

    Raises GateStopped when the engine stops while parsing (the index names the first text not judged).
    """
    verdicts: list[Verdict | None] = [None] * len(texts)
    pending: list[_Pending] = []
    for i, text in enumerate(texts):
        classified = gate_sql(text, access_control)
        if classified is not RUN:
            verdicts[i] = classified
            continue
        head, data = _insert_parts(text)
        pending.append(_Pending(i, parse_target(head), data))
    heads = _parse(engine, [p.head for p in pending], [p.index for p in pending])
    carried = {p.index: _carried(parsed, p.data) for p, parsed in zip(pending, heads)}
    literal = _literal_rows(engine, [sub.text for subs in carried.values() for sub in subs])
    carried = {i: [sub for sub in subs if sub.text not in literal] for i, subs in carried.items()}
    wanted: dict[str, int] = {}  # sub-text → the first text that carries it
    rows: dict[str, int] = {}  # VALUES rows that are more than literals
    for p, parsed in zip(pending, heads):
        for sub in carried[p.index]:
            rows.setdefault(sub.text, p.index)
        for sub in subtexts_of(parsed):
            wanted.setdefault(sub.text, p.index)
    subtrees = dict(zip(wanted, _parse(engine, list(wanted), list(wanted.values())))) if wanted else {}
    if rows:
        subtrees.update(zip(rows, _parse(engine, list(rows), list(rows.values()), "parseDataToJSON")))
    for p, parsed in zip(pending, heads):
        if p.data is not None and parsed.tree is not None and not _format_agrees(parsed.tree, p.head):
            verdicts[p.index] = Verdict("refuse", "ClickHouse does not read this INSERT's inline data where it seems to "
                                                  "start (its parse names no such format); write the data format plainly")
        else:
            verdicts[p.index] = decide(parsed, subtrees, access_control, carried[p.index])
    return [v if v is not None else RUN for v in verdicts]


def _format_agrees(tree: dict[str, Any], head: str) -> bool:
    """The head ends where ClickHouse starts reading data: its parse names the format the head ends with
    (`VALUES` is format Values; a head with data always has words, INSERT first)."""
    *_, (_, start, end) = _words(head)
    return tree.get("type") == "InsertQuery" and str(tree.get("format", "")).lower() == head[start:end].lower()


def _literal_rows(engine: Engine, texts: list[str]) -> set[str]:
    """VALUES rows ClickHouse's own lexer reads as literals only (`normalizeQuery` leaves no word but the
    literal keywords): nothing in them can be evaluated, so they need no tree (a megabyte of data would
    make tens of megabytes of one)."""
    if not texts:
        return set()
    texts = list(dict.fromkeys(texts))
    try:
        replies = engine.call("normalizeQuery", texts)
    except Exception:  # the engine stopped: the parse that follows says so
        return set()
    return {text for text, reply in zip(texts, replies) if reply.ok is not None and _only_literals(reply.ok)}


_LITERAL_WORDS = frozenset({"SELECT", "NULL", "TRUE", "FALSE", "INF", "NAN"})


_NAMES = re.compile(r"[^\W\d]\w*|[`\"$]")  # words of normalizeQuery's text (literals are `?` there), quoted names


def _only_literals(normalized: str) -> bool:
    return all(word.upper() in _LITERAL_WORDS for word in set(_NAMES.findall(normalized)))


def _parse(engine: Engine, texts: list[str], origins: list[int], function: str = "parseQueryToJSON") -> list[Parsed]:
    try:
        return parse_many(engine, texts, function)
    except GateStopped:
        raise
    except Exception as exc:  # the engine's timeout or crash, whatever its class
        stopped = getattr(exc, "index", 0)
        raise GateStopped(origins[stopped] if stopped < len(origins) else origins[0], exc) from exc


def _carried(parsed: Parsed, data: str | None) -> list[SubText]:
    """An INSERT's VALUES rows (inline data of format Values, as the tree says) are SQL to gate."""
    if data is None or parsed.tree is None:
        return []
    if str(parsed.tree.get("format", "")).lower() == "values" and data.strip().rstrip(";").strip():
        return [values_rows(data)]
    return []


def _insert_parts(text: str) -> tuple[str, str | None]:
    """(head, inline data) of an INSERT with inline data; (text, None) otherwise.

    The target (`INSERT INTO [TABLE] name`, `INTO FUNCTION f(…)`) is skipped first, so a table named
    `format` or `values` is a name, not where the data starts.
    """
    words = _words(text)
    first = next(words, None)
    if first is None or first[0] != "INSERT":
        return text, None
    item = next(words, None)
    if item is not None and item[0] == "INTO":
        item = next(words, None)
    if item is not None and item[0] == "TABLE":
        item = next(words, None)
    if item is not None and item[0] == "FUNCTION":
        item = next(words, None)  # the function's name; its arguments are skipped with the parentheses
    elif item is not None:
        nxt = next(words, None)
        if nxt is not None and nxt[0] == ".":
            next(words, None)
        elif nxt is not None:
            words = _chain(nxt, words)
    depth, select, previous = 0, False, ""
    for word, _, end in words:
        if word == "(":
            if previous == "INPUT":
                select = False  # INSERT … SELECT … FROM input(…) FORMAT x: inline data follows the format
            depth += 1
        elif word == ")":
            depth -= 1
        elif select:
            pass
        elif depth == 0 and word in ("SELECT", "WITH"):
            select = True
        elif depth == 0 and word == "VALUES":
            return text[:end], text[end:]
        elif depth == 0 and word == "FORMAT":
            name = next(words, None)
            if name is None:
                return text, None
            return text[: name[2]], text[name[2]:]
        previous = word
    return text, None


def _chain(first: tuple[str, int, int], rest: Iterator[tuple[str, int, int]]) -> Iterator[tuple[str, int, int]]:
    yield first
    yield from rest


def _words(text: str) -> Iterator[tuple[str, int, int]]:
    """Upper-cased words, quoted names (as `), dots and parentheses of a head, lazily: data is never lexed."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or ch in "\ufeff\u200b":
            i += 1
        elif text.startswith("--", i) or ch == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif ch in "'\"`":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            if ch != "'":
                yield "`", i, j + 1
            i = j + 1
        elif ch.isalnum() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            yield text[i:j].upper(), i, j
            i = j
        else:
            if ch in "().":
                yield ch, i, i + 1
            i += 1
