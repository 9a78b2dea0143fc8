"""Renderers: the text matrix and difference lines, and the stable JSON shape."""

from __future__ import annotations

import json
from typing import Any

from chconform.model import Difference
from chconform.checks.run import RunResult, SourceResult

__all__ = ["render_text", "render_json", "render_markdown", "to_json", "difference_line", "status_of", "CAP"]

CAP = 50  # lines per list before "... and N more"


def status_of(result: SourceResult, table: str) -> str:
    """identical / differs / absent for one table in one source."""
    if table not in result.defined:
        return "absent"
    if any(d.object == table and d.check in ("canonical", "idempotency", "duplicate") for d in result.differences):
        return "differs"
    return "identical"


def difference_line(d: Difference) -> str:
    """`file:line  table.column  aspect: canonical → actual`."""
    obj = f"{d.object}.{d.column}" if d.column else d.object
    return f"{d.where()}  {obj}  {d.aspect}: {d.canonical or '∅'} → {d.actual or '∅'}"


def _capped(lines: list[str], cap: int = CAP) -> list[str]:
    return lines if len(lines) <= cap else lines[:cap] + [f"... and {len(lines) - cap} more"]


def render_source(result: SourceResult) -> list[str]:
    """The findings of one source, as the CLI and the pytest failure messages show them."""
    lines: list[str] = []
    for e in result.errors:
        if e.round == 0 and e.message.startswith(f"{e.source}:"):  # unreadable: the message names file:line:column
            lines.append(f"{e.message}  ({e.name})")
            continue
        where = f"{e.source}:{e.line}:{e.column}" if e.column else f"{e.source}:{e.line}"
        lines.append(f"{where}  round {e.round}  error {e.code or ''} {e.name or ''}: {e.message}  [{e.statement}]")
    lines.extend(difference_line(d) for d in result.differences)
    lines.extend(f"{result.path}  {t}  missing_table: defined by must_define → absent" for t in result.missing_tables)
    return _capped(lines)


def render_text(run: RunResult, verbose: bool = False) -> str:
    tables = list(run.key_tables) or sorted({t for s in run.sources for t in s.defined})
    paths = [s.path for s in run.sources]
    width = max([len(t) for t in tables] + [5])
    out = [f"chconform: {len(run.sources)} sources on {run.backend} (ClickHouse {run.clickhouse_version}), "
           f"canonical {run.canonical}, sandbox {run.sandbox}", ""]
    for i, p in enumerate(paths, 1):
        out.append(f"  [{i}] {p}")
    out.append("")
    out.append(" " * width + "  " + "  ".join(f"[{i}]".ljust(9) for i in range(1, len(paths) + 1)))
    for t in tables:
        out.append(t.ljust(width) + "  " + "  ".join(status_of(s, t).ljust(9) for s in run.sources))
    out.append("")
    for s in run.sources:
        verdict = "OK" if s.ok else "FAIL"
        extra = f", {len(s.skipped)} skipped" if s.skipped else ""
        out.append(f"{verdict:4}  {s.path}  ({s.duration_s:.2f}s{extra})")
        out.extend("      " + line for line in render_source(s))
        out.extend(f"      warning: {w}" for w in s.warnings)
        for sk in s.skipped if verbose else s.skipped[:3]:
            out.append(f"      skipped {s.path}:{sk.line}: {sk.reason}  [{sk.statement}]")
        if not verbose and len(s.skipped) > 3:
            out.append(f"      ... and {len(s.skipped) - 3} more skipped")
    failed = [s.path for s in run.sources if not s.ok]
    out.append("")
    out.append("conforms: every source builds the canonical schema" if not failed
               else f"DIFFERS: {len(failed)} of {len(run.sources)} sources: {', '.join(failed)}")
    return "\n".join(out) + "\n"


def to_json(run: RunResult) -> dict[str, Any]:
    """The machine-readable result; key names are a stable contract (ARCHITECTURE.md)."""
    return {
        "ok": run.ok,
        "backend": run.backend,
        "clickhouse_version": run.clickhouse_version,
        "canonical": run.canonical,
        "sandbox": run.sandbox,
        "sources": [
            {
                "path": s.path,
                "role": s.role,
                "ok": s.ok,
                "errors": [
                    {"round": e.round, "line": e.line, "column": e.column, "code": e.code, "name": e.name, "message": e.message,
                     "statement": e.statement}
                    for e in s.errors
                ],
                "differences": [
                    {"object": d.object, "aspect": d.aspect, "column": d.column, "canonical": d.canonical,
                     "actual": d.actual, "line": d.line, "check": d.check}
                    for d in s.differences
                ],
                "missing_tables": list(s.missing_tables),
                "skipped": [{"line": k.line, "reason": k.reason, "statement": k.statement} for k in s.skipped],
                "warnings": list(s.warnings),
                "tables": {t: status_of(s, t) for t in run.key_tables},
                "duration_s": s.duration_s,
            }
            for s in run.sources
        ],
    }


def render_json(run: RunResult) -> str:
    return json.dumps(to_json(run), indent=2, ensure_ascii=False) + "\n"


def render_markdown(run: RunResult) -> str:
    """The matrix and findings as Markdown, for pull-request comments and evidence files."""
    tables = list(run.key_tables) or sorted({t for s in run.sources for t in s.defined})
    out = [f"**{'Conforms' if run.ok else 'Differs'}**: {len(run.sources)} sources on {run.backend} "
           f"(ClickHouse {run.clickhouse_version}), canonical `{run.canonical}`", "",
           "| table | " + " | ".join(f"`{s.path}`" for s in run.sources) + " |",
           "|---|" + "---|" * len(run.sources)]
    out.extend(f"| `{t}` | " + " | ".join(status_of(s, t) for s in run.sources) + " |" for t in tables)
    findings = [line for s in run.sources for line in render_source(s)]
    if findings:
        out += ["", "```"] + findings + ["```"]
    return "\n".join(out) + "\n"
