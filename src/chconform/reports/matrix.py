"""Renderers of an engine matrix: each release's verdict side by side, then the upgrade risks.

Every value that came from a source passes through `safe()` (see reports/escape.py).
"""

from __future__ import annotations

import json
from typing import Any

from chconform.checks.matrix import MatrixResult
from chconform.checks.run import SourceResult
from chconform.reports.escape import markdown_cell, safe

__all__ = ["render_matrix_text", "render_matrix_json", "render_matrix_markdown", "verdict_cell", "matrix_to_json"]

_DIFF_CAP = 10  # differences listed per source that builds differently


def verdict_cell(source: SourceResult | None) -> str:
    """One source on one release in a few words: OK, or what failed."""
    if source is None:
        return "-"
    if source.ok:
        return "OK"
    parts = []
    if source.errors:
        parts.append(f"{len(source.errors)} error" + ("s" if len(source.errors) > 1 else ""))
    if source.differences:
        parts.append(f"{len(source.differences)} difference" + ("s" if len(source.differences) > 1 else ""))
    if source.missing_tables:
        parts.append(f"{len(source.missing_tables)} missing")
    return "FAIL: " + ", ".join(parts)


def _rows(matrix: MatrixResult) -> list[tuple[str, list[str]]]:
    paths: list[str] = []
    for run in matrix.runs:
        paths += [s.path for s in run.result.sources if s.path not in paths]
    by_release = [{s.path: s for s in run.result.sources} for run in matrix.runs]
    return [(path, [verdict_cell(cells.get(path)) for cells in by_release]) for path in paths]


def _headline(matrix: MatrixResult) -> str:
    engines = ", ".join(f"{run.release} ({safe(run.result.clickhouse_version)})" for run in matrix.runs)
    count = max((len(run.result.sources) for run in matrix.runs), default=0)
    return f"chconform matrix: {count} sources on ClickHouse {engines}"


def render_matrix_text(matrix: MatrixResult) -> str:
    releases = [f"ClickHouse {r}" for r in matrix.releases]
    rows = [(safe(path), cells) for path, cells in _rows(matrix)]
    width = max([len("source"), *(len(p) for p, _ in rows)])
    widths = [max([len(r), *(len(c[i]) for _, c in rows)]) for i, r in enumerate(releases)]
    out = [_headline(matrix), ""]
    out.append("  ".join(["source".ljust(width), *(r.ljust(w) for r, w in zip(releases, widths))]).rstrip())
    for path, cells in rows:
        out.append("  ".join([path.ljust(width), *(c.ljust(w) for c, w in zip(cells, widths))]).rstrip())
    out.append("")
    if matrix.divergences:
        n = len(matrix.divergences)
        out.append(f"Upgrade risk: {n} statement{'s' if n > 1 else ''} whose outcome differs between releases")
        for d in matrix.divergences:
            round_note = "" if d.round == 1 else f" (round {d.round})"
            out.append(f"  {safe(d.source)}:{d.line}{round_note}  {safe(d.statement)}")
            out.append(f"      {safe(d.summary)}")
    else:
        out.append("Upgrade risk: every statement has the same outcome on every release")
    if matrix.build_divergences:
        out.append("")
        out.append("Builds differently (applied cleanly on both, different schema):")
        for b in matrix.build_divergences:
            out.append(f"  {safe(b.source)}: {len(b.differences)} difference(s) between {b.base} and {b.other}")
            for diff in b.differences[:_DIFF_CAP]:
                column = f".{safe(diff.column)}" if diff.column else ""
                out.append(f"      {safe(diff.object)}{column} {safe(diff.aspect)}: "
                           f"{b.base} {safe(diff.canonical)} vs {b.other} {safe(diff.actual)}")
            if len(b.differences) > _DIFF_CAP:
                out.append(f"      ... and {len(b.differences) - _DIFF_CAP} more")
    out.append("")
    verdicts = ", ".join(f"{run.release} {'PASS' if run.result.ok else 'FAIL'}" for run in matrix.runs)
    out.append(f"Verdict: {verdicts}")
    return "\n".join(out) + "\n"


def matrix_to_json(matrix: MatrixResult) -> dict[str, Any]:
    from chconform.reports.render import to_json  # the single-run shape, per release

    return {
        "ok": matrix.ok,
        "releases": [
            {"engine": run.release, "clickhouse_version": run.result.clickhouse_version, "ok": run.result.ok,
             "duration_s": run.duration_s, "run": to_json(run.result)}
            for run in matrix.runs
        ],
        "divergences": [
            {"source": d.source, "line": d.line, "round": d.round, "statement": d.statement,
             "outcomes": {release: outcome for release, outcome in d.outcomes}, "summary": d.summary}
            for d in matrix.divergences
        ],
        "build_divergences": [
            {"source": b.source, "base": b.base, "other": b.other,
             "differences": [d.to_dict() for d in b.differences]}
            for b in matrix.build_divergences
        ],
    }


def render_matrix_json(matrix: MatrixResult) -> str:
    return json.dumps(matrix_to_json(matrix), indent=2) + "\n"


def render_matrix_markdown(matrix: MatrixResult) -> str:
    out = [f"### {markdown_cell(_headline(matrix))}", ""]
    out.append("| source | " + " | ".join(f"ClickHouse {r}" for r in matrix.releases) + " |")
    out.append("|---|" + "---|" * len(matrix.runs))
    for path, cells in _rows(matrix):
        out.append(f"| `{markdown_cell(path)}` | " + " | ".join(cells) + " |")
    out.append("")
    if matrix.divergences:
        out.append("**Upgrade risk**: statements whose outcome differs between releases")
        out.append("")
        for d in matrix.divergences:
            where = f"`{markdown_cell(d.source)}:{d.line}` `{markdown_cell(d.statement)}`"
            out.append(f"- {where}: {markdown_cell(d.summary)}")
    else:
        out.append("Every statement has the same outcome on every release.")
    for b in matrix.build_divergences:
        out.append(f"- `{markdown_cell(b.source)}` builds differently on {b.base} and {b.other}: "
                   f"{len(b.differences)} difference(s)")
    return "\n".join(out) + "\n"
