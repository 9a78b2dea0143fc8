"""Idempotency and DESCRIBE: sentinel rows between the two bootstraps, the schema after the second, and each
key table's DESCRIBE compared with what the canonical source builds on a fresh engine."""

from __future__ import annotations

import difflib
import os
import time
from typing import Any

from chconform.errors import ChconformError, EngineError
from chconform.evidence.bootstrap import sql_ident, sql_string
from chconform.evidence.checklist import FAIL, OK, Row, describe_file
from chconform.evidence.steps import Run

__all__ = ["after_second", "base_type", "insert_sentinels", "sentinel_sql"]


def base_type(type_name: str) -> str:
    """`LowCardinality(Nullable(String))` → `String`."""
    for wrapper in ("LowCardinality(", "Nullable("):
        if type_name.startswith(wrapper) and type_name.endswith(")"):
            return base_type(type_name[len(wrapper):-1])
    return type_name


def sentinel_sql(table: str, columns: list[dict[str, Any]], tag: str) -> tuple[str, str]:
    """(INSERT of one row marked with `tag`, SELECT counting it); columns are DESCRIBE rows."""
    plain = [c for c in columns if not c.get("default_type")]
    marker = next((c["name"] for c in plain if base_type(c["type"]) == "String"), None)
    values = []
    for c in plain:
        kind = base_type(c["type"])
        if kind == "String":
            values.append(sql_string(tag))
        elif kind.startswith("FixedString(") and kind[12:-1].isdigit():
            values.append(f"toFixedString({sql_string(tag[: int(kind[12:-1])])}, {int(kind[12:-1])})")
        else:
            values.append(f"defaultValueOfTypeName({sql_string(c['type'])})")
    names = ", ".join(sql_ident(c["name"]) for c in plain)
    insert = f"INSERT INTO {sql_ident(table)} ({names}) SELECT {', '.join(values)}"
    where = f" WHERE {sql_ident(marker)} = {sql_string(tag)}" if marker else ""
    return insert, f"SELECT count() AS n FROM {sql_ident(table)}{where}"



def insert_sentinels(run: Run) -> None:
    """After the first run: snapshot, then one marked row in every key table."""
    from chconform.schema.snapshot import take_snapshot

    if "idempotent" in run.options.skip:
        return
    lines, tag = [], f"chconform-sentinel-{os.getpid()}-{int(time.time())}"
    try:
        session = run.session()
        try:
            run.first_snapshot = take_snapshot(session.query)
            failed = []
            for table in run.config.key_tables:
                try:
                    columns = session.query(f"DESCRIBE TABLE {sql_ident(table)}")
                    insert, count = sentinel_sql(table, columns, tag)
                    session.execute(insert)
                    n = int(session.query(count)[0]["n"])
                except EngineError as exc:
                    failed.append(table)
                    lines.append(f"FAIL  {table}: no sentinel row: {exc}")
                    continue
                run.sentinels[table] = (count, n)
                lines.append(f"OK    {table}: sentinel row inserted; `{count}` = {n}")
            if failed:
                run.sentinel_error = f"no sentinel row in {', '.join(failed)}"
        finally:
            session.close()
    except (ChconformError, OSError) as exc:
        run.sentinel_error = f"sentinel rows could not be inserted: {exc}"
        lines.append(run.sentinel_error)
    run.log("bootstrap_sentinels.log", "\n".join(lines) + "\n")


def after_second(run: Run) -> tuple[Row, Row]:
    """Idempotency (snapshot + sentinels) and the DESCRIBE files, on one session after the second run."""
    from chconform.reports.render import difference_line
    from chconform.schema.compare import compare
    from chconform.schema.snapshot import take_snapshot

    idem = run.skipped("idempotent", ("bootstrap_idempotency.log",))
    desc = run.skipped("describe", ("describe.log",))
    if idem is not None and desc is not None:
        return idem, desc
    lines: list[str] = []
    describes: dict[str, str] = {}
    second = None
    try:
        session = run.session()
        try:
            second = take_snapshot(session.query)
            for table, (count_sql, expected) in run.sentinels.items():
                got = int(session.query(count_sql)[0]["n"])
                lines.append(f"{'OK' if got == expected else 'LOST'}  {table}: sentinel rows {expected} -> {got}")
            for table in run.config.key_tables:
                try:
                    describes[table] = session.raw(f"DESCRIBE TABLE {sql_ident(table)} FORMAT TabSeparatedWithNames")
                except EngineError as exc:
                    describes[table] = ""
                    lines.append(f"DESCRIBE {table} failed: {exc}")
        finally:
            session.close()
    except (ChconformError, OSError) as exc:
        lines.append(f"the target could not be read after the second run: {exc}")
    if idem is None:
        idem = _idempotency_row(run, second, lines, compare, difference_line)
    if desc is None:
        desc = _describe_row(run, second, describes, compare, difference_line)
    return idem, desc


def _idempotency_row(run: Run, second: Any, lines: list[str], compare: Any, difference_line: Any) -> Row:
    problems = []
    if run.sentinel_error:
        problems.append(run.sentinel_error)
    if run.first_snapshot is None or second is None:
        problems.append("no snapshot of both runs")
    else:
        names = sorted(set(run.first_snapshot.names) | set(second.names))
        diffs = compare(run.first_snapshot, second, names, missing=True)
        lines.extend(f"DIFF  {difference_line(d)}" for d in diffs)
        lines.append(f"schema after run 2 vs run 1: {len(diffs)} differences over {len(names)} objects")
        if diffs:
            problems.append(f"schema changed by the second run: {len(diffs)} differences")
    lost = [ln.split()[1].rstrip(":") for ln in lines if ln.startswith("LOST")]
    if lost:
        problems.append(f"sentinel rows lost in {', '.join(lost)}")
    if not run.sentinels and not run.sentinel_error:
        problems.append("no sentinel rows were inserted")
    run.log("bootstrap_idempotency.log", "\n".join(lines) + "\n")
    logs = ("bootstrap_sentinels.log", "bootstrap_idempotency.log")
    if problems:
        return Row("idempotent", FAIL, "; ".join(problems), logs)
    return Row("idempotent", OK, f"snapshot unchanged; sentinel rows kept in all {len(run.sentinels)} key tables", logs)


def _canonical_build(run: Run) -> tuple[Any, dict[str, str], list[str]]:
    """The canonical source on a fresh embedded instance: its snapshot and its DESCRIBE output."""
    from chconform.checks.run import _prelude, apply_statements, load_source
    from chconform.engines.embedded import EmbeddedBackend
    from chconform.schema.snapshot import take_snapshot

    backend = EmbeddedBackend(prestart=False, engine=run.config.engine)  # the release the check judges with
    instance = backend.instance()
    try:
        deadline = time.monotonic() + run.config.timeout_s
        errors, _, _ = apply_statements(instance, _prelude(run.config), 1, deadline, False, "prelude")
        more, _, _ = apply_statements(instance, load_source(run.config.canonical_source).statements, 1, deadline, False,
                                      run.config.canonical)
        problems = [f"canonical build: {e.source}:{e.line}: {e.name}: {e.message}" for e in errors + more]
        snap = take_snapshot(instance.query)
        out = {}
        for table in run.config.key_tables:
            try:
                describe = f"DESCRIBE TABLE {sql_ident(table)} FORMAT TabSeparatedWithNames"
                out[table] = instance.worker.call({"sql": describe,
                                                   "fmt": "TabSeparated", "own": True}, run.config.timeout_s, "describe")
            except EngineError as exc:
                out[table] = ""
                problems.append(f"canonical build has no {table}: {exc}")
        return snap, out, problems
    finally:
        instance.close()
        backend.close()


def _describe_row(run: Run, live: Any, describes: dict[str, str], compare: Any, difference_line: Any) -> Row:
    files = tuple(describe_file(t, run.config) for t in run.config.key_tables)
    for table in run.config.key_tables:
        run.log(describe_file(table, run.config), describes.get(table, ""))
    lines: list[str] = []
    problems: list[str] = []
    try:
        canon, canon_desc, build_problems = _canonical_build(run)
    except ChconformError as exc:
        run.log("describe.log", f"the canonical build failed: {exc}\n")
        return Row("describe", FAIL, f"the canonical build failed: {exc}", ("describe.log", *files))
    lines.extend(build_problems)
    problems.extend(build_problems)
    for table in run.config.key_tables:
        got, want = describes.get(table, ""), canon_desc.get(table, "")
        name = describe_file(table, run.config)
        if not got:
            problems.append(f"{table}: no DESCRIBE output")
            lines.append(f"FAIL  {table}: no DESCRIBE output ({name} is empty)")
        elif got != want:
            problems.append(f"{table}: DESCRIBE differs from the canonical build")
            lines.append(f"FAIL  {table}: {name} differs from the canonical build:")
            lines.extend("      " + d for d in difflib.unified_diff(want.splitlines(), got.splitlines(), "canonical",
                                                                     "live", lineterm="", n=0))
        else:
            lines.append(f"OK    {table}: {name} equals the canonical build ({len(got.splitlines()) - 1} columns)")
    if live is not None:
        keys = run.config.key_tables
        diffs = [d for d in compare(canon, live, keys, missing=True) if d.object in keys]
        lines.extend(f"DIFF  {difference_line(d)}" for d in diffs)
        lines.append(f"snapshot of the key tables vs the canonical build: {len(diffs)} differences "
                     "(engine, keys, settings, columns)")
        if diffs:
            problems.append(f"{len(diffs)} snapshot differences from the canonical build")
    else:
        problems.append("no snapshot of the target after the second run")
    run.log("describe.log", "\n".join(lines) + "\n")
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        return Row("describe", FAIL, "; ".join(problems[:3]) + more,
                   ("describe.log", *files))
    return Row("describe", OK, f"{len(files)} key tables described; all equal to the canonical build",
               ("describe.log", *files))
