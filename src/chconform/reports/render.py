"""Renderers of a check: the text matrix and difference lines, Markdown, and the stable JSON shape.

Every value that came from a source (names, comments, expressions, messages) passes through
`safe()`, so no source can print a line of its own in a report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chconform.checks.results import RunResult, SourceResult
from chconform.model import Difference
from chconform.reports.escape import markdown_cell, safe
from chconform.reports.findings import error_rule, from_difference, json_header, rule

__all__ = ["render_text", "render_json", "render_markdown", "to_json", "difference_line", "status_of", "CAP",
           "Style", "PLAIN", "SMALL_MATRIX", "json_difference"]

CAP = 50  # lines per list before "... and N more"
SMALL_MATRIX = 20  # a matrix this small is shown whole; a larger one shows the rows that differ


def _same(path: str) -> str:
    return path


@dataclass(frozen=True)
class Style:
    """ANSI colour on a terminal, nothing elsewhere; `PLAIN` is the default everywhere."""

    color: bool = False

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def ok(self, text: str) -> str:
        return self.paint(text, "32")

    def bad(self, text: str) -> str:
        return self.paint(text, "1;31")

    def warn(self, text: str) -> str:
        return self.paint(text, "33")

    def dim(self, text: str) -> str:
        return self.paint(text, "2")


PLAIN = Style()


def status_of(result: SourceResult, table: str) -> str:
    """identical / differs / absent for one table in one source."""
    if table not in result.defined:
        return "absent"
    if any(d.object == table and d.check in ("canonical", "idempotency", "duplicate") for d in result.differences):
        return "differs"
    return "identical"


def difference_line(d: Difference, display: Callable[[str], str] = _same) -> str:
    """`file:line  table.column  aspect: canonical → actual`, every part one escaped line."""
    obj = f"{d.object}.{d.column}" if d.column else d.object
    where = f"{display(d.source)}:{d.line}" if d.line else display(d.source)
    return f"{safe(where)}  {safe(obj)}  {d.aspect}: {safe(d.canonical) or '∅'} → {safe(d.actual) or '∅'}"


def _capped(lines: list[str], cap: int = CAP) -> list[str]:
    return lines if len(lines) <= cap else lines[:cap] + [f"... and {len(lines) - cap} more"]


def render_source(result: SourceResult, display: Callable[[str], str] = _same) -> list[str]:
    """The findings of one source, as the CLI and the pytest failure messages show them."""
    lines: list[str] = []
    for e in result.errors:
        if e.round == 0 and e.message.startswith(f"{e.source}:"):  # unreadable: the message names file:line:column
            lines.append(f"{safe(display(e.source) + e.message[len(e.source):])}  ({e.name})")
            continue
        source = display(e.source)
        where = f"{source}:{e.line}:{e.column}" if e.column else f"{source}:{e.line}"
        lines.append(f"{safe(where)}  round {e.round}  error {e.code or ''} {e.name or ''}: {safe(e.message)}  "
                     f"[{safe(e.statement)}]")
    lines.extend(difference_line(d, display) for d in result.differences)
    lines.extend(f"{safe(display(result.path))}  {safe(t)}  missing_table: defined by must_define → absent"
                 for t in result.missing_tables)
    return _capped(lines)


def _matrix(run: RunResult, all_rows: bool | None, style: Style) -> list[str]:
    tables = list(run.key_tables) or sorted({t for s in run.sources for t in s.defined})
    whole = all_rows or (all_rows is None and len(tables) <= SMALL_MATRIX)
    shown = tables if whole else [t for t in tables if any(status_of(s, t) != "identical" for s in run.sources)]
    width = max([len(safe(t)) for t in shown] + [5])
    paint = {"identical": style.ok, "differs": style.bad, "absent": style.dim}
    out = [" " * width + "  " + "  ".join(f"[{i}]".ljust(9) for i in range(1, len(run.sources) + 1))]
    for t in shown:
        out.append(safe(t).ljust(width) + "  " + "  ".join(paint[status_of(s, t)](status_of(s, t).ljust(9))
                                                           for s in run.sources))
    hidden = len(tables) - len(shown)
    if hidden:
        out.append(style.dim(f"({hidden} of {len(tables)} tables identical in every source; --all shows them)"))
    return out


def render_text(run: RunResult, verbose: bool = False, *, all_rows: bool | None = None, quiet: bool = False,
                style: Style = PLAIN, display: Callable[[str], str] = _same) -> str:
    """The header, the matrix (the rows that differ once it is large), each source's findings, the verdict.

    `quiet` keeps only the findings and the verdict line."""
    paths = [safe(display(s.path)) for s in run.sources]
    out: list[str] = []
    if not quiet:
        out = [f"chconform: {len(run.sources)} sources on {run.backend} (ClickHouse {safe(run.clickhouse_version)}), "
                f"canonical {safe(display(run.canonical))}, sandbox {run.sandbox}"
                + (f"; {run.extra['cached']} sources unchanged, from the cache" if run.extra.get("cached", "0 ")[0] != "0"
                   else ""), ""]
        out += [f"  [{i}] {p}" for i, p in enumerate(paths, 1)]
        out += ["", *_matrix(run, all_rows, style), ""]
    for s, path in zip(run.sources, paths):
        if quiet and s.ok:
            continue
        verdict = style.ok("OK  ") if s.ok else style.bad("FAIL")
        extra = f", {len(s.skipped)} skipped" if s.skipped else ""
        out.append(f"{verdict}  {path}  ({s.duration_s:.2f}s{extra})")
        out.extend("      " + line for line in render_source(s, display))
        out.extend("      " + style.warn("warning: ") + safe(w) for w in s.warnings)
        out.extend("      ignored: " + safe(w) for w in s.ignored)
        out.extend("      note: " + safe(w) for w in s.notes)
        if quiet:
            continue
        for sk in s.skipped if verbose else s.skipped[:3]:
            out.append(f"      skipped {path}:{sk.line}: {safe(sk.reason)}  [{safe(sk.statement)}]")
        if not verbose and len(s.skipped) > 3:
            out.append(f"      ... and {len(s.skipped) - 3} more skipped")
    failed = [p for s, p in zip(run.sources, paths) if not s.ok]
    if out:
        out.append("")
    out.append(style.ok("conforms: every source builds the canonical schema") if not failed
               else style.bad(f"DIFFERS: {len(failed)} of {len(run.sources)} sources: {', '.join(failed)}"))
    return "\n".join(out) + "\n"


def json_difference(d: Difference, display: Callable[[str], str]) -> dict[str, Any]:
    f = from_difference(d, display)
    return {"object": d.object, "aspect": d.aspect, "column": d.column, "canonical": d.canonical,
            "actual": d.actual, "line": d.line, "check": d.check, "rule": f.rule, "severity": f.level,
            "hint": f.hint}


def _json_error(e: Any) -> dict[str, Any]:
    rule_id = error_rule(e)
    return {"round": e.round, "line": e.line, "col": e.column or None, "code": e.code, "name": e.name,
            "message": e.message, "statement": e.statement, "rule": rule_id, "severity": "error",
            "hint": rule(rule_id).help}


def to_json(run: RunResult, display: Callable[[str], str] = _same) -> dict[str, Any]:
    """The machine-readable result; key names are a stable contract documented in docs/JSON.md.

    In `errors`, `line`/`col` are a position in the file; in `differences`, `column` is a table column."""
    return {
        **json_header(),
        "ok": run.ok,
        "backend": run.backend,
        "clickhouse_version": run.clickhouse_version,
        "canonical": display(run.canonical),
        "sandbox": run.sandbox,
        "sources": [
            {
                "path": display(s.path),
                "role": s.role,
                "ok": s.ok,
                "errors": [_json_error(e) for e in s.errors],
                "differences": [json_difference(d, display) for d in s.differences],
                "missing_tables": list(s.missing_tables),
                "skipped": [{"line": k.line, "reason": k.reason, "statement": k.statement} for k in s.skipped],
                "warnings": list(s.warnings),
                "ignored": list(s.ignored),
                "notes": list(s.notes),
                "tables": {t: status_of(s, t) for t in run.key_tables},
                "duration_s": s.duration_s,
            }
            for s in run.sources
        ],
    }


def render_json(run: RunResult, display: Callable[[str], str] = _same) -> str:
    return json.dumps(to_json(run, display), indent=2, ensure_ascii=False) + "\n"


def render_markdown(run: RunResult, display: Callable[[str], str] = _same) -> str:
    """The matrix and findings as Markdown, for pull-request comments and evidence files."""
    tables = list(run.key_tables) or sorted({t for s in run.sources for t in s.defined})
    out = [f"**{'Conforms' if run.ok else 'Differs'}**: {len(run.sources)} sources on {run.backend} "
           f"(ClickHouse {markdown_cell(run.clickhouse_version)}), canonical `{markdown_cell(display(run.canonical))}`",
           "", "| table | " + " | ".join(f"`{markdown_cell(display(s.path))}`" for s in run.sources) + " |",
           "|---|" + "---|" * len(run.sources)]
    out.extend(f"| `{markdown_cell(t)}` | " + " | ".join(status_of(s, t) for s in run.sources) + " |" for t in tables)
    findings = [line for s in run.sources for line in render_source(s, display)]
    if findings:  # each line begins with a path, so no line of a source can close the fence
        out += ["", "```text", *findings, "```"]
    return "\n".join(out) + "\n"
