"""Smoke test of the persistent target: every key table and view answers, and sample payloads fit the live types.

What it reads and writes is the repository's `[tool.chconform.smoke]`: the job table (the
ETL's run log), the payload folder, more objects to read, and the row a real run logs.
The dry run writes nothing: payload rows are parsed by the engine with the live column
types through the `format()` table function and read back, and the row counts of the job
table (and of every table) are compared before and after. Without `--dry-run` the rows
are written, with the configured job row, and each materialized view reading a written
table must have received rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chconform.config import Config, SmokeSettings
from chconform.errors import EngineError, SourceError
from chconform.evidence.bootstrap import Session, Target, open_target, sql_ident, sql_string
from chconform.sql.source import read_source

__all__ = [
    "Check",
    "Payload",
    "SmokeResult",
    "expected_views",
    "format_query",
    "job_row_sql",
    "load_payloads",
    "payload_problems",
    "readback_problems",
    "run_smoke",
]

_VIEW_ENGINES = ("View", "MaterializedView")
_STRICT = ("input_format_skip_unknown_fields = 0, input_format_null_as_default = 0, "
           "input_format_parallel_parsing = 0")


@dataclass(frozen=True)
class Payload:
    """Sample rows for one table, as the ETL writes them."""

    file: str
    table: str
    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""

    def log_line(self) -> str:
        return f"{'OK' if self.ok else 'FAIL':5} {self.name}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class SmokeResult:
    target: str
    version: str
    dry_run: bool
    count_before: int | None
    count_after: int | None
    checks: tuple[Check, ...]
    job_table: str | None = "configured"  # None: no job table is configured, so there is no count to compare
    job_rows: int = 1  # rows a real (not dry) run adds to the job table

    @property
    def count_ok(self) -> bool:
        if self.job_table is None:
            return True
        if self.count_before is None or self.count_after is None:
            return False
        return self.count_after == self.count_before + (0 if self.dry_run else self.job_rows)

    @property
    def ok(self) -> bool:
        return self.count_ok and all(c.ok for c in self.checks) and bool(self.checks)


def load_payloads(folder: Path, shown: str) -> list[Payload]:
    """Every `*.json` in the folder: {"table": "db.t", "rows": [{column: value}, ...]}."""
    if not folder.is_dir():
        raise SourceError(f"{shown}: payload folder not found")
    payloads = []
    for file in sorted(folder.glob("*.json")):
        where = f"{shown}/{file.name}"
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SourceError(f"{where}:{exc.lineno}: invalid JSON ({exc.msg}); fix the file") from None
        except UnicodeDecodeError:
            raise SourceError(f"{where}: not UTF-8 text; save it as UTF-8") from None
        table, rows = (doc.get("table"), doc.get("rows")) if isinstance(doc, dict) else (None, None)
        if not isinstance(table, str) or table.count(".") != 1:
            raise SourceError(f"{where}: needs \"table\": \"database.table\"")
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise SourceError(f"{where}: needs \"rows\": a non-empty list of objects (one per row)")
        payloads.append(Payload(where, table, tuple(rows)))
    return payloads


def payload_problems(payload: Payload, columns: list[dict[str, Any]]) -> list[str]:
    """Fields that are not columns, and columns without a DEFAULT that a row leaves out (pure)."""
    names = {c["name"] for c in columns}
    required = [c["name"] for c in columns if not c.get("default_type")]
    problems: list[str] = []
    for field in sorted({k for row in payload.rows for k in row} - names):
        problems.append(f"field {field!r} is not a column of {payload.table}")
    for number, row in enumerate(payload.rows, 1):
        missing = [name for name in required if name not in row]
        if missing:
            problems.append(f"row {number} lacks {', '.join(missing)} (no DEFAULT in {payload.table})")
    return problems


def format_query(payload: Payload, columns: list[dict[str, Any]]) -> str:
    """A read-only query that parses the rows with the live types of the payload's columns (pure)."""
    present = [c for c in columns if any(c["name"] in row for row in payload.rows)]
    structure = ", ".join(f"{sql_ident(c['name'])} {c['type']}" for c in present)
    data = "\n".join(json.dumps(row, ensure_ascii=False) for row in payload.rows)
    names = ", ".join(sql_ident(c["name"]) for c in present)
    return (f"SELECT {names} FROM format(JSONEachRow, {sql_string(structure)}, {sql_string(data)}) "
            f"SETTINGS {_STRICT}")


_JOB_VALUES: dict[str, Callable[[int], str]] = {"now()": lambda rows: "now()", "{rows}": str}  # not literals


def job_row_sql(table: str, row: tuple[tuple[str, str | int | float | bool], ...], rows: int) -> str:
    """The INSERT of the job row a real run logs: literals, `now()`, and `{rows}` for the rows written (pure)."""
    def value(v: str | int | float | bool) -> str:
        if isinstance(v, bool):
            return "1" if v else "0"
        if isinstance(v, (int, float)):
            return repr(v)
        return _JOB_VALUES[v](rows) if v in _JOB_VALUES else sql_string(v)

    names = ", ".join(sql_ident(k) for k, _ in row)
    return f"INSERT INTO {sql_ident(table)} ({names}) VALUES ({', '.join(value(v) for _, v in row)})"


def _same(sent: Any, got: Any) -> bool:
    if sent is None or got is None:
        return sent is None and got is None
    if isinstance(sent, bool):
        return str(got).lower() in (str(sent).lower(), str(int(sent)))
    if isinstance(sent, (int, float)):
        try:
            return float(got) == float(sent)
        except (TypeError, ValueError):
            return False
    return str(got).rstrip("\x00") == str(sent)


def readback_problems(payload: Payload, parsed: list[dict[str, Any]]) -> list[str]:
    """Values the engine read differently from what was sent (an overflow, an impossible date) (pure)."""
    if len(parsed) != len(payload.rows):
        return [f"{len(payload.rows)} rows sent, {len(parsed)} parsed"]
    problems = []
    for number, (row, got) in enumerate(zip(payload.rows, parsed), 1):
        for key, value in row.items():
            if key in got and not _same(value, got[key]):
                problems.append(f"row {number} {key}: sent {value!r}, the live type reads {got[key]!r}")
    return problems


def expected_views(config: Config) -> list[str]:
    """Views and materialized views the canonical source defines: each must exist on the target."""
    source = read_source(config.canonical_source.file, config.canonical)
    kinds = ("create_view", "create_materialized_view")
    return sorted({s.target for s in source.statements if s.kind in kinds and s.target})


def _describe(session: Session, table: str) -> list[dict[str, Any]]:
    return session.query(f"DESCRIBE TABLE {sql_ident(table)}")


def _row_counts(session: Session) -> dict[str, int]:
    rows = session.query(
        "SELECT database, name, total_rows FROM system.tables "
        "WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') "
        "AND total_rows IS NOT NULL ORDER BY database, name")
    return {f"{r['database']}.{r['name']}": int(r["total_rows"]) for r in rows}


def _count(session: Session, table: str) -> int:
    return int(session.query(f"SELECT count() AS n FROM {sql_ident(table)}")[0]["n"])


def _probe(session: Session, name: str) -> list[Check]:
    """`LIMIT 0` (the query analyses: every column it reads exists) and one real read."""
    checks = []
    try:
        header = session.raw(f"SELECT * FROM {sql_ident(name)} LIMIT 0 FORMAT TabSeparatedWithNames").splitlines()
        columns = header[0].split("\t") if header else []
        checks.append(Check(f"{name}: SELECT * LIMIT 0", True, f"{len(columns)} columns"))
        rows = session.query(f"SELECT * FROM {sql_ident(name)} LIMIT 1")
        checks.append(Check(f"{name}: SELECT * LIMIT 1", True, f"{len(rows)} row{'s' if len(rows) != 1 else ''}"))
    except EngineError as exc:
        checks.append(Check(f"{name}: query", False, str(exc)))
    return checks


def _validate_payload(session: Session, payload: Payload, existing: set[str]) -> Check:
    name = f"payload {payload.file} as {payload.table}"
    if payload.table not in existing:
        return Check(name, False, f"{payload.table} does not exist on the target")
    columns = _describe(session, payload.table)
    problems = payload_problems(payload, columns)
    if not problems:
        try:
            problems = readback_problems(payload, session.query(format_query(payload, columns)))
        except EngineError as exc:
            problems = [str(exc)]
    if problems:
        return Check(name, False, "; ".join(problems))
    used = len({k for row in payload.rows for k in row})
    return Check(name, True,
                 f"{len(payload.rows)} rows parse with the live types of {used} columns and read back unchanged")


def _write_payloads(session: Session, payloads: list[Payload]) -> list[Check]:
    """Insert the rows; every materialized view reading a written table must grow."""
    checks = []
    for payload in payloads:
        deps = session.query(
            "SELECT arrayJoin(arrayZip(dependencies_database, dependencies_table)) AS dep FROM system.tables "
            f"WHERE database = {sql_string(payload.table.split('.')[0])} "
            f"AND name = {sql_string(payload.table.split('.')[1])}")
        views = [f"{d['dep'][0]}.{d['dep'][1]}" for d in deps]
        before = {v: _count(session, v) for v in views}
        data = "\n".join(json.dumps(row, ensure_ascii=False) for row in payload.rows)
        try:
            session.execute(f"INSERT INTO {sql_ident(payload.table)} FORMAT JSONEachRow\n{data}")
        except EngineError as exc:
            checks.append(Check(f"insert {payload.file} into {payload.table}", False, str(exc)))
            continue
        checks.append(Check(f"insert {payload.file} into {payload.table}", True, f"{len(payload.rows)} rows"))
        for view in views:
            after = _count(session, view)
            checks.append(Check(f"{view} saw the rows written to {payload.table}", after > before[view],
                                f"count {before[view]} -> {after}"))
    return checks


def run_smoke(
    config: Config,
    target: Target,
    payload_dir: Path | None,
    dry_run: bool,
    write: Callable[[str], None] = lambda _: None,
) -> SmokeResult:
    """Count, probe, validate (or write), count again; log every step."""
    settings: SmokeSettings = config.smoke
    job = settings.job_table
    repo = config.config_file.parent
    shown = ""
    payloads: list[Payload] = []
    if payload_dir is not None:
        shown = payload_dir.relative_to(repo).as_posix() if payload_dir.is_relative_to(repo) else str(payload_dir)
        payloads = load_payloads(payload_dir, shown)
    views = expected_views(config)
    started = time.monotonic()
    session = open_target(target, write, start=False, timeout_s=config.timeout_s)
    checks: list[Check] = []

    def record(check: Check) -> None:
        checks.append(check)
        write(check.log_line())

    def count(when: str) -> int | None:
        if job is None:
            return None
        try:
            n = _count(session, job)
        except EngineError as exc:
            record(Check(f"{job} count {when}", False, str(exc)))
            return None
        if when == "before":
            write(f"{job} count before: {n}")
        return n

    job_rows = 1 if settings.job_row else 0
    before = after = None
    try:
        logged = f" and one {job} row" if job and job_rows else ""
        mode = "dry run: nothing is written" if dry_run else f"writes the sample rows{logged}"
        write(f"chconform smoke ({mode}): target {target.label()}, ClickHouse {session.version}")
        before = count("before")
        counts_before = _row_counts(session)
        live = session.query("SELECT database, name, engine FROM system.tables "
                             "WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') "
                             "AND NOT startsWith(name, '.inner') ORDER BY database, name")
        existing = {f"{r['database']}.{r['name']}" for r in live}
        live_views = [f"{r['database']}.{r['name']}" for r in live if r["engine"] in _VIEW_ENGINES]
        first = [job] if job else []
        objects = list(dict.fromkeys([*first, *config.key_tables, *settings.reads, *views, *live_views]))
        for name in objects:
            if name not in existing:
                record(Check(name, False, "absent on the target (the configuration or the canonical source names it)"
                             if name in settings.reads or name == job else
                             "absent on the target (the canonical source defines it)"))
                continue
            for check in _probe(session, name):
                record(check)
        if payload_dir is None:
            write("no payload folder: pass --payloads or set [tool.chconform.smoke] payloads")
        elif not payloads:
            record(Check(f"payloads in {shown}", False, "no *.json payload files"))
        for payload in payloads:
            record(_validate_payload(session, payload, existing))
        if not dry_run:
            for check in _write_payloads(session, payloads):
                record(check)
            if job and settings.job_row:
                rows = sum(len(p.rows) for p in payloads)
                try:
                    session.execute(job_row_sql(job, settings.job_row, rows))
                    record(Check(f"insert one {job} row", True))
                except EngineError as exc:
                    record(Check(f"insert one {job} row", False, str(exc)))
        after = count("after")
        if dry_run:
            changed = {t: (n, counts_before.get(t)) for t, n in _row_counts(session).items()
                       if counts_before.get(t) != n}
            record(Check("row counts of every table unchanged", not changed,
                         ", ".join(f"{t}: {b} -> {n}" for t, (n, b) in sorted(changed.items()))
                         or "dry run wrote nothing"))
    finally:
        session.close()
    result = SmokeResult(target.label(), session.version, dry_run, before, after, tuple(checks), job, job_rows)
    if job is not None and after is not None:
        expectation = "unchanged" if dry_run or not job_rows else "one row more"
        write(f"{job} count after: {after} ({expectation}: {'yes' if result.count_ok else 'NO'})")
    failed = sum(1 for c in checks if not c.ok) + (0 if result.count_ok else 1)
    write(f"elapsed: {time.monotonic() - started:.2f}s")
    counted = f", {job} count {before} -> {after}" if job else ""
    write(f"smoke: {len(checks)} checks, {failed} failed{counted} => {'OK' if result.ok else 'FAILED'}")
    return result
