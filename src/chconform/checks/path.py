"""Upgrade-path proof: an existing database, upgraded step by step, must end at the canon without losing rows.

A path starts from nothing or from the canonical file as it was at a git
revision, then applies its steps in order on ONE instance. After the start
and after every step, each empty plain table gets one sentinel row built to
survive what the schema legitimately does: dates in the future (a table TTL
keeps it), a key of its own (merges fold nothing), sign 1 and is_deleted 0.
Within a step, rows are counted after every statement that may destroy them;
a table's rows count as kept while its name or the table itself (its UUID,
followed through RENAME and EXCHANGE) still holds them at the step's end, and
a loss names the statement after which they were gone for good.
At the end the schema is compared with the current canon (built once: its
idempotency is `check`'s finding). A difference is blamed on the step after
which it held until the end, and within it on the statement that made it,
following RENAME, EXCHANGE and `CREATE … AS` back to its origin.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chconform.checks.run import Skipped, StatementError, apply_statements, load_source
from chconform.config import Config, PathSpec, SourceSpec
from chconform.engines.base import Backend, Instance
from chconform.errors import ChconformError, ConfigError, EngineError, SourceError
from chconform.model import Difference, Snapshot
from chconform.schema.compare import compare, compare_tables
from chconform.schema.queries import snapshot_query
from chconform.schema.snapshot import take_snapshot
from chconform.sql.cluster import one_node
from chconform.sql.migrations import StepFile, detect_format, up_part
from chconform.sql.source import Source, Statement, decode, split_statements, tokenize
from chconform.sql.templates import substitute

__all__ = [
    "Census",
    "DataLoss",
    "PathResult",
    "blame",
    "canonical_snapshot",
    "failed_statements",
    "load_step",
    "marker_condition",
    "may_destroy",
    "retyped_columns",
    "retyped_value",
    "moves",
    "read_at_revision",
    "row_counts",
    "run_path",
    "seedable",
    "sentinel_values",
    "step_losses",
]

_SEEDABLE = ("Memory", "Log", "TinyLog", "StripeLog")
_VIEWS = ("View", "MaterializedView", "LiveView", "WindowView", "Dictionary")
_NO_UUID = "00000000-0000-0000-0000-000000000000"


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


@dataclass(frozen=True)
class PathResult:
    """What one path did: statement errors, distance from the canon, and lost rows."""

    name: str
    steps: tuple[str, ...]
    from_rev: str | None = None
    errors: tuple[StatementError, ...] = ()
    differences: tuple[Difference, ...] = ()
    data_loss: tuple[DataLoss, ...] = ()
    seeded: tuple[str, ...] = ()
    not_seeded: tuple[tuple[str, str], ...] = ()  # (table, why)
    skipped: tuple[Skipped, ...] = ()
    key_tables: tuple[str, ...] = ()
    duration_s: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def reaches_canon(self) -> bool:
        """A statement that failed on the way is never "reached": the schema may match by accident."""
        return not (self.errors or self.differences)

    def ok(self, accept_data_loss: bool = False) -> bool:
        return self.reaches_canon and (accept_data_loss or not self.data_loss)


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise ConfigError("--from-rev needs git on PATH") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"git {' '.join(args)}: {message[0] if message else 'failed'}")
    return done.stdout


def read_at_revision(config: Config, rev: str) -> Source:
    """The canonical source as it was at `rev` (`git show REV:path`, no shell)."""
    if not rev or rev.startswith("-"):
        raise ConfigError(f"--from-rev {rev!r} is not a revision")
    file = config.canonical_source.file.resolve()
    top = Path(_git(["rev-parse", "--show-toplevel"], file.parent).decode().strip()).resolve()
    try:
        rel = file.relative_to(top).as_posix()
    except ValueError:
        raise ConfigError(f"--from-rev: {file} is not inside the git repository {top}") from None
    data = _git(["show", f"{rev}:{rel}"], top)
    shown = f"{config.canonical}@{rev}"
    text, encoding, warnings = decode(data, shown)
    text, rewrites = one_node(substitute(text, dict(config.variables), shown))  # as read_source reads a file
    return Source(shown, text, encoding, tuple(split_statements(text)), tuple(warnings), rewrites)


def load_step(step: StepFile, variables: tuple[tuple[str, str], ...] = ()) -> Source:
    """A step as the migration tool applies it: only its up part, every statement at its line in the file."""
    source = load_source(SourceSpec(step.path, step.file, "step", variables=variables))
    fmt = detect_format(step.path, source.text) if step.format == "auto" else step.format
    text = up_part(source.text, fmt, step.path)
    if text == source.text:
        return source
    return replace(source, text=text, statements=tuple(split_statements(text)))


def seedable(engine: str) -> str | None:
    """None if a sentinel row can go into a table with this engine, else why not."""
    if engine.endswith("MergeTree") or engine in _SEEDABLE:
        return None
    return f"engine {engine} (not a plain stored table)"


# ---- sentinel rows ---------------------------------------------------------------------------------------

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
_NOT_INSERTED = ("MATERIALIZED", "ALIAS", "EPHEMERAL")


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
        while args and args[0][:1] in ("'", '"'):
            args.pop(0)
    return name, [a.strip("`\"") for a in args]


def _base_type(type_: str) -> str:
    while (wrapped := _WRAPPERS.match(type_)) is not None:
        type_ = wrapped.group(1)
    return type_


def sentinel_values(columns: Sequence[tuple[str, str, str]], engine_full: str, n: int) -> list[tuple[str, str]]:
    """(column, SQL expression) of sentinel number `n` for a table's (name, type, default_kind) columns."""
    engine, args = _engine_args(engine_full)
    fixed = {args[i]: value for name, i, value in _ROLE_ARGS if name == engine and i < len(args)}
    out = []
    for column, type_, default_kind in columns:
        if default_kind in _NOT_INSERTED:
            continue
        if column in fixed:
            out.append((column, fixed[column]))
            continue
        base = _base_type(type_)
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
        base = _base_type(type_)
        column = "`" + name.replace("`", "\\`") + "`"
        if default_kind in _NOT_INSERTED:
            continue
        if base == "String":
            terms.append(f"{column} = {_literal(text)}")
        elif re.fullmatch(r"Date(32)?|DateTime(64)?(\(.*\))?", base):
            terms.append(f"toDate({column}) = toDate({_literal(day)})")
    return " OR ".join(terms) or None


# ---- counting rows ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Census:
    """Rows per table at one moment: by name, and by the table's UUID (which RENAME and EXCHANGE carry)."""

    by_name: dict[str, tuple[str, int]]  # name → (uuid, rows)

    def held(self, table: str, uuid: str) -> int:
        """Rows still where `table`'s rows were: under its name, or in the table itself wherever it went."""
        here = self.by_name.get(table, ("", 0))[1]
        moved = max((rows for u, rows in self.by_name.values() if uuid != _NO_UUID and u == uuid), default=0)
        return max(here, moved)


def row_counts(query: Callable[[str], list[dict[str, Any]]]) -> dict[str, tuple[str, int | None, str]]:
    """Every table → (engine, rows, uuid); rows are None where the engine does not keep a count."""
    out: dict[str, tuple[str, int | None, str]] = {}
    for r in query(snapshot_query("row_counts")):
        if str(r["name"]).startswith(".inner"):
            continue
        rows = r.get("total_rows")
        out[f"{r['database']}.{r['name']}"] = (str(r["engine"]), int(rows) if rows is not None else None,
                                               str(r.get("uuid") or _NO_UUID))
    return out


# Statement kinds that never take a row away; every other statement is followed by a count.
_KEEPS_ROWS = frozenset({"create_table", "create_view", "create_materialized_view", "create_dictionary",
                         "create_database", "create_function", "insert", "insert_function", "select", "set", "use",
                         "show", "access", "kill"})


def may_destroy(stmt: Statement) -> bool:
    """True unless the statement's kind cannot remove rows (`CREATE OR REPLACE` and `REPLACE TABLE` can)."""
    first = stmt.text.split(None, 1)[0].upper() if stmt.text.strip() else ""
    return stmt.kind not in _KEEPS_ROWS or stmt.or_replace or first == "REPLACE"


def step_losses(baseline: Census, checkpoints: Sequence[tuple[Statement | None, Census]], step: str) -> list[DataLoss]:
    """Pure: tables whose rows the step did not keep, each blamed on the statement after which they stayed gone.

    `checkpoints` are the counts after each statement that may destroy rows, in order, the last one at the
    step's end (statement None). Rows gone and back by the end (a table copied aside and restored) are kept.
    """
    end = checkpoints[-1][1]
    out = []
    for table, (uuid, before) in sorted(baseline.by_name.items()):
        if before <= 0 or end.held(table, uuid) >= before:
            continue
        culprit: Statement | None = None
        for stmt, census in reversed(checkpoints):
            if census.held(table, uuid) >= before:
                break
            culprit = stmt or culprit
        out.append(DataLoss(table, before, end.held(table, uuid), step, culprit.line if culprit else None,
                            culprit.first_line if culprit else ""))
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
        if before <= 0 or uuid == _NO_UUID or here is None or here[0] == uuid or here[1] < before:
            continue
        if any(u == uuid for u, _ in end.by_name.values()):
            continue
        culprit: Statement | None = None
        for stmt, census in reversed(checkpoints):
            if any(u == uuid for u, _ in census.by_name.values()):
                break
            culprit = stmt or culprit
        out.append(DataLoss(table, before, 0, step, culprit.line if culprit else None,
                            culprit.first_line if culprit else ""))
    return out


# Words that end the type of a `MODIFY COLUMN name type …` command.
_AFTER_TYPE = frozenset({"DEFAULT", "MATERIALIZED", "ALIAS", "EPHEMERAL", "CODEC", "COMMENT", "TTL", "AFTER", "FIRST",
                         "SETTINGS", "NULL", "NOT", "STATISTICS", "PRIMARY", "REMOVE", "MODIFY", "RESET"})


def retyped_columns(stmt: Statement) -> list[tuple[str, str]]:
    """(column, new type) of each `MODIFY COLUMN name type` command of an ALTER."""
    if stmt.kind != "alter":
        return []
    code, out, i = _code(stmt), [], 0
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
    old, new = _base_type(old_type), _base_type(new_type)
    if old != "String" or new == "String":
        return None
    if re.fullmatch(r"Date(32)?|DateTime(64)?(\(.*\))?", new):
        return f"toString(CAST(now() + toIntervalDay(1), {_literal(new)}))"
    return f"toString(defaultValueOfTypeName({_literal(new)}))"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quoted(fqn: str) -> str:
    return ".".join("`" + part.replace("`", "\\`") + "`" for part in fqn.split(".", 1))


class _Walk:
    """The mutable walk of one path over one instance."""

    def __init__(self, instance: Instance, config: Config, access: bool) -> None:
        self.instance, self.config, self.access = instance, config, access
        self.seeded: list[str] = []
        self.not_seeded: dict[str, str] = {}
        self.errors: list[StatementError] = []
        self.skipped: list[Skipped] = []
        self.alive = True
        self.sentinels = 0
        self.markers: dict[str, tuple[str, str]] = {}  # table UUID and name → its sentinel's (text, day)

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.instance.query(sql, timeout=max(self.config.timeout_s, 10))

    def census(self) -> Census:
        """Rows of every stored table, counted (total_rows still counts rows a lightweight DELETE masked)."""
        stored = {t: uuid for t, (engine, _, uuid) in row_counts(self.query).items() if seedable(engine) is None}
        if not stored:
            return Census({})
        sql = " UNION ALL ".join(f"SELECT {_literal(t)} AS t, count() AS n FROM {_quoted(t)}" for t in stored)
        counted = {str(r["t"]): int(r["n"]) for r in self.query(sql)}
        return Census({t: (uuid, counted.get(t, 0)) for t, uuid in stored.items()})

    def snapshot(self) -> Snapshot:
        return take_snapshot(self.query, access=self.access)

    def apply(self, statements: list[Statement] | tuple[Statement, ...], source: str,
              deadline: float | None = None) -> None:
        deadline = time.monotonic() + self.config.timeout_s if deadline is None else deadline
        errs, skips, self.alive = apply_statements(self.instance, statements, 1, deadline, self.access, source)
        self.errors.extend(errs)
        self.skipped.extend(skips)

    def settle(self, deadline: float) -> None:
        """Wait for the mutations a statement started (ALTER … DELETE runs after the statement returns)."""
        pending = "SELECT count() AS n FROM system.mutations WHERE NOT is_done AND latest_fail_reason = ''"
        while time.monotonic() < deadline and int(self.query(pending)[0]["n"]):
            time.sleep(0.02)

    def step(self, source: Source) -> list[DataLoss]:
        """Apply one step; count rows after each statement that may destroy them; return the rows lost."""
        deadline = time.monotonic() + self.config.timeout_s
        baseline = self.census()
        kept = any(rows for _, rows in baseline.by_name.values())
        checkpoints: list[tuple[Statement | None, Census]] = []
        chunk: list[Statement] = []
        for stmt in source.statements:
            if kept and retyped_columns(stmt):  # the sentinels' text must not fail a conversion prod data passes
                self.apply(chunk, source.path, deadline)
                chunk = []
                self.adapt(stmt, deadline)
            chunk.append(stmt)
            if kept and may_destroy(stmt):
                self.apply(chunk, source.path, deadline)
                chunk = []
                if not self.alive:
                    return []
                if stmt.kind in ("alter", "other"):
                    self.settle(deadline)
                checkpoints.append((stmt, self.census()))
        if chunk or not source.statements:
            self.apply(chunk, source.path, deadline)
        if not (self.alive and kept):
            return []
        self.settle(deadline)
        checkpoints.append((None, self.census()))
        lost = step_losses(baseline, checkpoints, source.path)
        lost = [x for x in lost if not self._copied(x.table, baseline.by_name[x.table][0], elsewhere=True)]
        swapped = replaced(baseline, checkpoints, source.path)
        return lost + [x for x in swapped if self._copied(x.table, baseline.by_name[x.table][0], elsewhere=False)
                       is False]

    def adapt(self, stmt: Statement, deadline: float) -> None:
        """Before `MODIFY COLUMN` makes a String column another type, sentinels there take a value of that type."""
        if not self.alive or stmt.target is None:
            return
        types = {str(r["name"]): str(r["type"]) for r in self.query(snapshot_query("columns"))
                 if f"{r['database']}.{r['table']}" == stmt.target}
        for column, new_type in retyped_columns(stmt):
            value = retyped_value(types.get(column, ""), new_type)
            if value is None:
                continue
            name = "`" + column.replace("`", "\\`") + "`"
            try:  # a key column cannot be updated: then the statement meets the sentinel as it is
                getattr(self.instance, "execute_own", self.instance.execute)(
                    f"ALTER TABLE {_quoted(stmt.target)} UPDATE {name} = {value} "
                    f"WHERE {name} LIKE 'chconform sentinel %'", timeout=self.config.timeout_s)
            except EngineError:
                continue
        self.settle(deadline)

    def _copied(self, table: str, uuid: str, elsewhere: bool) -> bool | None:
        """True if the table's sentinel lives on in another table (copied there before the table went), or
        (not `elsewhere`) under its own name too; None if its sentinel carries nothing to recognise it by."""
        marker = self.markers.get(uuid) or self.markers.get(table)
        if marker is None:
            return None
        stored = {t for t, (engine, _, u) in row_counts(self.query).items()
                  if seedable(engine) is None and not (elsewhere and (t == table or (u == uuid != _NO_UUID)))}
        columns: dict[str, list[tuple[str, str, str]]] = {}
        for r in self.query(snapshot_query("columns")):
            fqn = f"{r['database']}.{r['table']}"
            if fqn in stored:
                columns.setdefault(fqn, []).append((str(r["name"]), str(r["type"]), str(r["default_kind"] or "")))
        for fqn, cols in sorted(columns.items()):
            where = marker_condition(cols, *marker)
            if where and int(self.query(f"SELECT count() AS n FROM {_quoted(fqn)} WHERE {where}")[0]["n"]):
                return True
        return False

    def seed(self) -> None:
        """One sentinel row into every empty plain table, so each later step's losses show."""
        tables = {f"{r['database']}.{r['name']}": str(r["engine_full"]) for r in self.query(snapshot_query("tables"))}
        columns: dict[str, list[tuple[str, str, str]]] = {}
        for r in self.query(snapshot_query("columns")):
            columns.setdefault(f"{r['database']}.{r['table']}", []).append(
                (str(r["name"]), str(r["type"]), str(r["default_kind"] or "")))
        for table, (engine, rows, uuid) in row_counts(self.query).items():
            if engine in _VIEWS or table in self.not_seeded or rows:
                continue
            why = seedable(engine)
            if why is None:
                why = self._insert_sentinel(table, uuid, tables.get(table, engine), columns.get(table, []))
                if why is None:
                    if table not in self.seeded:
                        self.seeded.append(table)
                    continue
            self.not_seeded[table] = why

    def _insert_sentinel(self, table: str, uuid: str, engine_full: str,
                         columns: list[tuple[str, str, str]]) -> str | None:
        """Insert the sentinel (defaults if the built row is refused); None if a row went in, else why not."""
        self.sentinels += 1
        values = sentinel_values(columns, engine_full, self.sentinels)
        marked = marker_condition([c for c in columns if c[0] in dict(values)], "", "") is not None
        tries = []
        if values:
            names = ", ".join("`" + c.replace("`", "\\`") + "`" for c, _ in values)
            tries.append((f"INSERT INTO {_quoted(table)} ({names}) SELECT {', '.join(v for _, v in values)}", marked))
        tries.append((f"INSERT INTO {_quoted(table)} FORMAT JSONEachRow {{}}", False))
        why = ""
        for sql, marker in tries:
            try:
                # chconform's own statement: in the verdict session where the engine has one (no source's SET)
                getattr(self.instance, "execute_own", self.instance.execute)(sql, timeout=self.config.timeout_s)
            except EngineError as exc:
                why = f"insert refused: {exc}"
                continue
            if marker:  # by UUID (it follows RENAME/EXCHANGE) and by name (a rebuilt table keeps it)
                day = str(self.query(f"SELECT toString(today() + {self.sentinels}) AS d")[0]["d"])
                for key in (uuid, table) if uuid != _NO_UUID else (table,):
                    self.markers[key] = (f"chconform sentinel {self.sentinels}", day)
            return None
        return why


def canonical_snapshot(config: Config, backend: Backend) -> Snapshot:
    """The current canon, built once on a fresh instance; a canon whose build fails stops the run.

    Only round 1 counts here: whether the canon can be applied twice is `check`'s finding, not the path's.
    """
    source = load_source(config.canonical_source)
    instance = backend.instance()
    walk = _Walk(instance, config, backend.supports_access_control)
    snap: Snapshot | None = None
    try:
        walk.apply([s for text in config.prelude for s in split_statements(text)], "prelude")
        if walk.alive:
            walk.apply(source.statements, source.path)
        if walk.alive and not walk.errors:
            snap = walk.snapshot()
    finally:
        instance.close()
    if walk.errors or snap is None:
        first = walk.errors[0] if walk.errors else None
        where = f" ({first.source}:{first.line} {first.name}: {first.message})" if first else ""
        raise ChconformError(f"the canonical source {config.canonical} does not build{where}; run `chconform check`")
    return snap


# ---- blame -----------------------------------------------------------------------------------------------

def _names(tokens: list[Any], i: int, database: str) -> tuple[str | None, int]:
    """The object name at tokens[i] (`db.name` or `name`) and the index after it."""
    if i >= len(tokens) or tokens[i].kind not in ("word", "ident"):
        return None, i + 1
    if i + 2 < len(tokens) and tokens[i + 1].text == "." and tokens[i + 2].kind in ("word", "ident"):
        return f"{tokens[i].value}.{tokens[i + 2].value}", i + 3
    return f"{database}.{tokens[i].value}", i + 1


def _code(stmt: Statement) -> list[Any]:
    try:
        return [t for t in tokenize(stmt.text) if t.kind not in ("space", "comment")]
    except SourceError:
        return []


def moves(stmt: Statement, database: str) -> list[tuple[str, str]]:
    """(from, to) of each object a RENAME or EXCHANGE moves: `EXCHANGE TABLES a AND b` moves both ways."""
    tokens = _code(stmt)
    words = [t.upper for t in tokens]
    if len(words) < 2 or words[0] not in ("RENAME", "EXCHANGE") or words[1] not in (
            "TABLE", "TABLES", "DICTIONARY", "DICTIONARIES"):
        return []
    out: list[tuple[str, str]] = []
    i = 2
    while i < len(tokens):
        a, i = _names(tokens, i, database)
        if i >= len(tokens) or words[i] not in ("TO", "AND"):
            break
        link = words[i]
        b, i = _names(tokens, i + 1, database)
        if a is None or b is None:
            break
        out.extend([(a, b), (b, a)] if link == "AND" else [(a, b)])
        if i < len(tokens) and tokens[i].text == ",":
            i += 1
        else:
            break
    return out


def _copied_from(stmt: Statement, database: str) -> str | None:
    """`y` of `CREATE TABLE x AS y …` (a copy of y's structure); None for `AS SELECT` and column lists."""
    if stmt.kind != "create_table" or stmt.target_span is None:
        return None
    rest = _code(replace(stmt, text=stmt.text[stmt.target_span[1]:]))
    if [t.upper for t in rest[:2]] == ["ON", "CLUSTER"]:
        rest = rest[3:]
    if len(rest) < 2 or rest[0].upper != "AS" or rest[1].upper in ("SELECT", "WITH") or rest[1].text == "(":
        return None
    if rest[1].kind == "word" and len(rest) > 2 and rest[2].text == "(":
        return None  # AS table_function(...)
    name, _ = _names(rest, 1, database)
    return name


def _has_engine(stmt: Statement) -> bool:
    return any(t.upper == "ENGINE" for t in _code(stmt))


def _databases(source: Source) -> list[str]:
    """The current database before each statement (USE changes it)."""
    out, database = [], "default"
    for stmt in source.statements:
        out.append(database)
        if stmt.kind == "use" and stmt.target:
            database = stmt.target
    return out


# ALTER commands that change a table-level aspect (an ALTER of a column changes that column's aspects).
_ALTER_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "sorting_key": (("ORDER", "BY"),),
    "primary_key": (("ORDER", "BY"), ("PRIMARY", "KEY")),
    "sampling_key": (("SAMPLE", "BY"),),
    "ttl": (("TTL",),),
    "settings": (("SETTING",),),
    "table_comment": (("MODIFY", "COMMENT"),),
    "view_query": (("MODIFY", "QUERY"),),
    "indices": (("INDEX",),),
    "column_order": (("COLUMN",),),
}


def _alters(stmt: Statement, d: Difference) -> bool:
    """Whether an ALTER changes the aspect of `d`: it names the column, or holds the command of the aspect."""
    code = _code(stmt)
    if d.column is not None:
        return any(t.kind in ("word", "ident") and t.value == d.column for t in code)
    words = [t.upper for t in code]
    return any(words[i:i + len(seq)] == list(seq) for seq in _ALTER_WORDS.get(d.aspect, ()) for i in range(len(words)))


def _no_ops(source: Source, existing: set[str], failed: Callable[[str, Statement], bool]) -> set[int]:
    """Indices of `CREATE … IF NOT EXISTS` statements that found their object there and changed nothing."""
    names, out = set(existing), set()
    for i, (stmt, database) in enumerate(zip(source.statements, _databases(source))):
        if failed(source.path, stmt) or stmt.target is None and stmt.kind != "rename":
            continue
        if stmt.kind.startswith("create_") and stmt.kind != "create_database":
            if stmt.if_not_exists and stmt.target in names:
                out.add(i)
            names.add(str(stmt.target))
        elif stmt.kind in ("drop_table", "detach"):
            names.discard(str(stmt.target))
        elif stmt.kind == "drop_database":
            names = {n for n in names if n.split(".")[0] != str(stmt.target).split(".")[-1]}
        else:
            moved = [(a, b) for a, b in moves(stmt, database) if (b, a) not in moves(stmt, database)]
            names = (names - {a for a, _ in moved}) | {b for a, b in moved if a in names}
    return out


def _culprit(d: Difference, obj: str, source: Source, failed: Callable[[str, Statement], bool],
             existing: set[str]) -> tuple[Statement | None, str | None]:
    """Within one step, the statement that made `d` on `obj`: walk back from the end, following its name.

    Statements that failed, and `CREATE … IF NOT EXISTS` of an object already there, changed nothing.
    Returns the statement, and the name the definition had when the step began if the step only moved or
    copied it there (RENAME, EXCHANGE, `CREATE … AS`), else None.
    """
    name, origin = obj, None
    skip = _no_ops(source, existing, failed)
    for i, stmt, database in reversed(list(zip(range(len(source.statements)), source.statements,
                                               _databases(source)))):
        if i in skip or failed(source.path, stmt):
            continue
        pairs = moves(stmt, database)
        if d.aspect == "missing_table":  # the statement that took the name away
            gone = any(a == name for a, b in pairs if (b, a) not in pairs) or (
                stmt.target == name and stmt.kind in ("drop_table", "detach")) or (
                stmt.kind == "drop_database" and (stmt.target or "").split(".")[-1] == name.split(".")[0])
            if gone:
                return stmt, None
            continue
        moved = [a for a, b in pairs if b == name]
        if moved:  # the definition here came from `a`: follow it; the move itself if nothing earlier made it
            origin, name = stmt, moved[0]
            continue
        if stmt.target != name:
            continue
        if stmt.kind == "alter":
            if _alters(stmt, d):
                return stmt, None
        elif stmt.kind.startswith("create_"):
            copied = _copied_from(stmt, database)
            if copied is None or (d.column is None and _has_engine(stmt)):  # its own ENGINE clause: table aspects
                return stmt, None
            origin, name = stmt, copied  # columns (and a copied engine) came from `copied`
    return origin, (name if origin is not None and name != obj else None)


def _holds(d: Difference, canon: Snapshot, snap: Snapshot, obj: str | None = None) -> bool:
    """True if `snap` already shows difference `d` exactly (same aspect, column and value) on `obj` (d's object)."""
    got = snap.table(obj or d.object)
    if d.aspect == "missing_table":
        return got is None
    want = canon.table(d.object)
    if got is None or want is None:
        return False
    return any((x.aspect, x.column, x.actual) == (d.aspect, d.column, d.actual) for x in compare_tables(want, got))


def blame(d: Difference, canon: Snapshot, stages: Sequence[tuple[Source | None, Snapshot]],
          failed: Callable[[str, Statement], bool], fallback: str) -> Difference:
    """Pure: the step after which `d` held until the end, and the statement in it that made `d`.

    `stages` are the snapshot after the start (its source, or None for an empty server) and after each step.
    """
    obj, end = d.object, len(stages)
    while True:
        k = end - 1
        while k > 0 and _holds(d, canon, stages[k - 1][1], obj):
            k -= 1
        source = stages[k][0] if stages else None
        if source is None:
            return replace(d, source=fallback, line=None, check="path")
        stmt, came_from = _culprit(d, obj, source, failed, set(stages[k - 1][1].names) if k > 0 else set())
        if came_from is None or k == 0 or not _holds(d, canon, stages[k - 1][1], came_from):
            return replace(d, source=source.path, line=stmt.line if stmt else None, check="path")
        obj, end = came_from, k  # moved here from a table an earlier step made: blame what made that one


def failed_statements(errors: Sequence[StatementError]) -> Callable[[str, Statement], bool]:
    """Whether a statement of a file was refused: a statement that failed changed nothing, so blame skips it."""
    lines = {(e.source, e.line) for e in errors}

    def failed(path: str, stmt: Statement) -> bool:
        return any((path, line) in lines for line in range(stmt.line, stmt.line + stmt.text.count("\n") + 1))

    return failed


# ---- the walk --------------------------------------------------------------------------------------------

def run_path(
    config: Config, backend: Backend, spec: PathSpec, canon: Snapshot, from_rev: str | None = None
) -> PathResult:
    """Walk one path on one fresh instance and judge where it ends."""
    started = time.monotonic()
    rev = from_rev or spec.from_rev
    start = read_at_revision(config, rev) if rev else None
    steps = [load_step(f, config.variables) for f in spec.files]
    prelude = [s for text in config.prelude for s in split_statements(text)]
    access = backend.supports_access_control
    data_loss: list[DataLoss] = []
    stages: list[tuple[Source | None, Snapshot]] = []
    instance = backend.instance()
    walk = _Walk(instance, config, access)
    try:
        walk.apply(prelude, "prelude")
        if start is not None and walk.alive:
            walk.apply(start.statements, start.path)
        if walk.alive:
            stages.append((start, walk.snapshot()))
            walk.seed()
        for source in steps:
            if not walk.alive:
                break
            data_loss.extend(walk.step(source))
            if not walk.alive:
                break
            stages.append((source, walk.snapshot()))
            walk.seed()
    except EngineError as exc:  # a catalog query failed: the instance is unusable
        walk.errors.append(StatementError(0, 0, exc.code, exc.name, exc.message, "(snapshot)", spec.name))
        walk.alive = False
    finally:
        instance.close()
    differences: list[Difference] = []
    if walk.alive and len(stages) == len(steps) + 1:
        final = stages[-1][1]
        keys = set(config.key_tables)
        shared = (set(canon.names) & set(final.names)) - keys
        judged = [d for d in compare(canon, final, sorted(keys), missing=True) if d.object in keys]
        judged += [d for d in compare(canon, final, sorted(shared)) if d.object in shared]
        failed = failed_statements(walk.errors)
        last = steps[-1].path if steps else ""
        differences = [blame(d, canon, stages, failed, last) for d in judged]
    warnings = tuple(w for s in ([start] if start else []) + steps for w in s.warnings)
    return PathResult(
        name=spec.name,
        steps=spec.step_paths,
        from_rev=rev,
        errors=tuple(walk.errors),
        differences=tuple(differences),
        data_loss=tuple(data_loss),
        seeded=tuple(walk.seeded),
        not_seeded=tuple(sorted(walk.not_seeded.items())),
        skipped=tuple(walk.skipped),
        key_tables=config.key_tables,
        duration_s=round(time.monotonic() - started, 3),
        warnings=warnings,
    )
