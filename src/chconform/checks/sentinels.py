"""Sentinel rows of an upgrade path, and counting what a step kept of them.

One sentinel row goes into every empty stored table, built to survive what the schema legitimately does:
dates in the future (a table TTL keeps it), a key of its own and non-zero numbers (no Replacing, Summing or
Aggregating merge folds or drops it), sign 1 and is_deleted 0, and a value of the new type when a String
column is retyped. Rows are counted after every statement that may destroy them; a table's rows count as
kept while its name or the table itself (its UUID, which RENAME and EXCHANGE carry) holds them at the step's
end, and a loss names the statement after which they were gone for good. Pure, except `row_counts`'s query.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chconform.checks.blame import code_tokens
from chconform.schema.queries import snapshot_query
from chconform.sql.source import Statement

__all__ = [
    "NO_UUID",
    "Census",
    "DataLoss",
    "base_type",
    "literal",
    "marker_condition",
    "may_destroy",
    "quoted",
    "replaced",
    "retyped_columns",
    "retyped_value",
    "row_counts",
    "seedable",
    "sentinel_values",
    "step_losses",
]

_SEEDABLE = ("Memory", "Log", "TinyLog", "StripeLog")
NO_UUID = "00000000-0000-0000-0000-000000000000"
NOT_INSERTED = ("MATERIALIZED", "ALIAS", "EPHEMERAL")


@dataclass(frozen=True)
class DataLoss:
    """Rows of one table that one step destroyed, and the statement after which they were gone."""

    table: str
    before: int
    after: int
    step: str
    line: int | None = None
    statement: str = ""

    @property
    def lost(self) -> int:
        return self.before - self.after


def seedable(engine: str) -> str | None:
    """None if a sentinel row can go into a table with this engine, else why not."""
    if engine.endswith("MergeTree") or engine in _SEEDABLE:
        return None
    return f"engine {engine} (not a plain stored table)"


# A value per column type, as an expression of the sentinel's number n (1, 2, …, one per sentinel of a
# path): distinct keys so no merge folds two sentinels, non-zero numbers so SummingMergeTree keeps the row,
# dates after today so no TTL deletes it. Types not listed keep their default.
_VALUES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], int], str]], ...] = (
    (re.compile(r"Date(32)?"), lambda m, n: f"today() + {n}"),
    (re.compile(r"DateTime(64)?(\(.*\))?"), lambda m, n: f"now() + toIntervalDay({n})"),
    (re.compile(r"U?Int(8|16)"), lambda m, n: str(n % 100 + 1)),
    (re.compile(r"U?Int(32|64|128|256)|Float(32|64)|BFloat16"), lambda m, n: str(n)),
    (re.compile(r"Decimal(32|64|128|256)?\(.*\)"), lambda m, n: str(n % 9 + 1)),
    (re.compile(r"String"), lambda m, n: f"'chconform sentinel {n}'"),
    (re.compile(r"FixedString\((\d+)\)"), lambda m, n: f"left('{n}', {m.group(1)})"),
    (re.compile(r"UUID"), lambda m, n: f"generateUUIDv4({n})"),
)
_WRAPPERS = re.compile(r"^(?:Nullable|LowCardinality)\((.*)\)$")
# Engine arguments that hold a row's role, by position: (engine, argument index, value).
_ROLE_ARGS = (
    ("CollapsingMergeTree", 0, "1"),  # sign: 1 is a row that stays; 0 is dropped at the next merge
    ("VersionedCollapsingMergeTree", 0, "1"),
    ("ReplacingMergeTree", 1, "0"),  # is_deleted: 0 is a live row
)


def _engine_args(engine_full: str) -> tuple[str, list[str]]:
    """Engine name (without Replicated) and its arguments, the replication path and replica left out."""
    head = re.match(r"\s*(\w*)\s*(\()?", engine_full)
    name = head.group(1) if head else ""
    rest = engine_full[head.end():] if head and head.group(2) else ")"  # no arguments: ORDER BY (…) is not one
    args: list[str] = []
    depth, current = 0, ""
    for ch in rest:
        if ch == ")" and depth == 0:
            break
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            args.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        args.append(current.strip())
    if name.startswith("Replicated"):
        name = name.removeprefix("Replicated")
        while args and args[0].startswith("'"):  # ClickHouse writes string arguments in single quotes
            args.pop(0)
    return name, [a.strip("`\"") for a in args]


def base_type(type_: str) -> str:
    while (wrapped := _WRAPPERS.match(type_)) is not None:
        type_ = wrapped.group(1)
    return type_


def sentinel_values(columns: Sequence[tuple[str, str, str]], engine_full: str, n: int) -> list[tuple[str, str]]:
    """(column, SQL expression) of sentinel number `n` for a table's (name, type, default_kind) columns."""
    engine, args = _engine_args(engine_full)
    fixed = {args[i]: value for name, i, value in _ROLE_ARGS if name == engine and i < len(args)}
    out = []
    for column, type_, default_kind in columns:
        if default_kind in NOT_INSERTED:
            continue
        if column in fixed:
            out.append((column, fixed[column]))
            continue
        base = base_type(type_)
        for pattern, value in _VALUES:
            if (match := pattern.fullmatch(base)) is not None:
                out.append((column, value(match, n)))
                break
    return out


def marker_condition(columns: Sequence[tuple[str, str, str]], text: str, day: str) -> str | None:
    """WHERE a row carries a sentinel's marks: its text in a String column or its day in a date column.

    None if the table has no column that could carry them (then a copy of the sentinel cannot be recognised).
    """
    terms = []
    for name, type_, default_kind in columns:
        base = base_type(type_)
        column = "`" + name.replace("`", "\\`") + "`"
        if default_kind in NOT_INSERTED:
            continue
        if base == "String":
            terms.append(f"{column} = {literal(text)}")
        elif re.fullmatch(r"Date(32)?|DateTime(64)?(\(.*\))?", base):
            terms.append(f"toDate({column}) = toDate({literal(day)})")
    return " OR ".join(terms) or None


@dataclass(frozen=True)
class Census:
    """Rows per table at one moment: by name, and by the table's UUID (which RENAME and EXCHANGE carry)."""

    by_name: dict[str, tuple[str, int]]  # name → (uuid, rows)

    def held(self, table: str, uuid: str) -> int:
        """Rows still where `table`'s rows were: under its name, or in the table itself wherever it went."""
        here = self.by_name.get(table, ("", 0))[1]
        moved = max((rows for u, rows in self.by_name.values() if uuid != NO_UUID and u == uuid), default=0)
        return max(here, moved)


def row_counts(query: Callable[[str], list[dict[str, Any]]]) -> dict[str, tuple[str, int | None, str]]:
    """Every table → (engine, rows, uuid); rows are None where the engine does not keep a count."""
    out: dict[str, tuple[str, int | None, str]] = {}
    for r in query(snapshot_query("row_counts")):
        if str(r["name"]).startswith(".inner"):
            continue
        rows = r.get("total_rows")
        out[f"{r['database']}.{r['name']}"] = (str(r["engine"]), int(rows) if rows is not None else None,
                                               str(r.get("uuid") or NO_UUID))
    return out


# Statement kinds that never take a row away; every other statement is followed by a count.
_KEEPS_ROWS = frozenset({"create_table", "create_view", "create_materialized_view", "create_dictionary",
                         "create_database", "create_function", "insert", "insert_function", "select", "set", "use",
                         "show", "access", "kill"})


def may_destroy(stmt: Statement) -> bool:
    """True unless the statement's kind cannot remove rows (`CREATE OR REPLACE` and `REPLACE TABLE` can)."""
    replace = [word.upper() for word in stmt.first_line.split()[:1]] == ["REPLACE"]
    return stmt.kind not in _KEEPS_ROWS or stmt.or_replace or replace


def _gone_since(marks: Sequence[tuple[Statement | None, bool]]) -> tuple[int | None, str]:
    """Line and first line of the statement after which the rows were absent (False) to the end; (None, "") if none.

    `marks` are (statement, rows present) after each statement that may destroy rows, the step's end (None) last.
    """
    gone = [stmt for stmt, _ in itertools.takewhile(lambda mark: not mark[1], reversed(marks)) if stmt is not None]
    return (gone[-1].line, gone[-1].first_line) if gone else (None, "")


def step_losses(baseline: Census, checkpoints: Sequence[tuple[Statement | None, Census]], step: str) -> list[DataLoss]:
    """Pure: tables whose rows the step did not keep, each blamed on the statement after which they stayed gone.

    `checkpoints` are the counts after each statement that may destroy rows, in order, the last one at the
    step's end (statement None). Rows gone and back by the end (a table copied aside and restored) are kept.
    """
    end = checkpoints[-1][1]
    out = []
    for table, (uuid, before) in sorted(baseline.by_name.items()):
        if end.held(table, uuid) >= before:  # also every table that had no rows
            continue
        line, statement = _gone_since([(s, census.held(table, uuid) >= before) for s, census in checkpoints])
        out.append(DataLoss(table, before, end.held(table, uuid), step, line, statement))
    return out


def replaced(baseline: Census, checkpoints: Sequence[tuple[Statement | None, Census]],
             step: str) -> list[DataLoss]:
    """Pure: tables whose own table is gone while another table holds their name and count.

    The counts cannot tell a copy of the rows from other rows (a table an earlier step made, with its own
    sentinel, swapped in by EXCHANGE and the old one dropped): each is a loss unless its sentinel is found.
    Blamed on the statement after which its own table was gone for good.
    """
    end = checkpoints[-1][1]
    out = []
    for table, (uuid, before) in sorted(baseline.by_name.items()):
        here = end.by_name.get(table)
        if before <= 0 or uuid == NO_UUID or here is None or here[1] < before:
            continue
        if any(u == uuid for u, _ in end.by_name.values()):  # its own table lives on (here or elsewhere)
            continue
        line, statement = _gone_since([(s, any(u == uuid for u, _ in c.by_name.values())) for s, c in checkpoints])
        out.append(DataLoss(table, before, 0, step, line, statement))
    return out


# Words that end the type of a `MODIFY COLUMN name type …` command.
_AFTER_TYPE = frozenset({"DEFAULT", "MATERIALIZED", "ALIAS", "EPHEMERAL", "CODEC", "COMMENT", "TTL", "AFTER", "FIRST",
                         "SETTINGS", "NULL", "NOT", "STATISTICS", "PRIMARY", "REMOVE", "MODIFY", "RESET"})


def retyped_columns(stmt: Statement) -> list[tuple[str, str]]:
    """(column, new type) of each `MODIFY COLUMN name type` command of an ALTER."""
    if stmt.kind != "alter":
        return []
    code, out, i = code_tokens(stmt), [], 0
    while i + 2 < len(code):
        if (code[i].upper, code[i + 1].upper) != ("MODIFY", "COLUMN"):
            i += 1
            continue
        j = i + 2 + (2 if [t.upper for t in code[i + 2:i + 4]] == ["IF", "EXISTS"] else 0)
        if j >= len(code):
            break
        column, start, depth = code[j].value, j + 1, 0
        j = start
        while j < len(code) and (depth or not (code[j].text == "," or code[j].upper in _AFTER_TYPE)):
            depth += {"(": 1, ")": -1}.get(code[j].text, 0)
            j += 1
        if j > start:
            out.append((column, stmt.text[code[start].start:code[j - 1].start + len(code[j - 1].text)]))
        i = j
    return out


def retyped_value(old_type: str, new_type: str) -> str | None:
    """What a sentinel's text in a String column becomes before the column takes `new_type` (None: nothing)."""
    old, new = base_type(old_type), base_type(new_type)
    if old != "String" or new == "String":
        return None
    if re.fullmatch(r"Date(32)?|DateTime(64)?(\(.*\))?", new):
        return f"toString(CAST(now() + toIntervalDay(1), {literal(new)}))"
    return f"toString(defaultValueOfTypeName({literal(new)}))"


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quoted(fqn: str) -> str:
    return ".".join("`" + part.replace("`", "\\`") + "`" for part in fqn.split(".", 1))
