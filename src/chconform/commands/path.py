"""`chconform path`: prove that an existing database, upgraded by the configured steps, reaches the canon.

Exit codes: 0 every path reaches the canon and loses no rows (or the loss is
accepted with --accept-data-loss), 1 findings, 2 bad input or environment.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from chconform.checks.path import PathResult
from chconform.commands._common import CI_FORMATS, EXIT_FOUND, EXIT_OK, command, display_for, emit, render_outcome
from chconform.errors import ConfigError
from chconform.reports.escape import safe
from chconform.reports.render import difference_line

__all__ = ["cmd_path", "render_paths_text", "paths_json"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    p.add_argument("--name", help="run only the path with this name (default: every configured path)")
    p.add_argument("--from-rev", metavar="REV",
                   help="start from the canonical file as it was at this git revision (overrides from_rev)")
    p.add_argument("--backend", choices=("embedded", "docker"), help="engine (default: config, CHCONFORM_BACKEND)")
    p.add_argument("--accept-data-loss", action="store_true",
                   help="report lost rows but do not fail on them (the steps drop tables on purpose)")
    p.add_argument("--format", choices=("text", "json", *CI_FORMATS), default="text",
                   help=f"report format: text, json, {', '.join(CI_FORMATS)} (default text)")
    p.add_argument("--output", type=Path, help="write the report to this file instead of stdout")


def _same(path: str) -> str:
    return path


def _path_text(r: PathResult, accept: bool, display: Callable[[str], str] = _same, verbose: bool = False) -> list[str]:
    start = f"{r.from_rev} (canonical file at that revision)" if r.from_rev else "an empty server"
    steps = [safe(display(s)) for s in r.steps]
    through = " → ".join(steps) if len(steps) <= 6 else \
        f"{' → '.join(steps[:2])} → … ({len(steps) - 4} more) … → {' → '.join(steps[-2:])}"
    out = [f"path {r.name}: from {start} through {through}  ({r.duration_s:.2f}s)"]
    out.append(f"  seeded {len(r.seeded)} tables with one sentinel row each"
               + (f"; not seeded: {', '.join(f'{t} ({why})' for t, why in r.not_seeded)}" if r.not_seeded else ""))
    for e in r.errors:
        out.append(f"  error  {safe(display(e.source))}:{e.line}  {e.code or ''} {e.name or ''}: {safe(e.message)}  "
                   f"[{safe(e.statement)}]")
    if r.differences:
        off = sorted({d.object for d in r.differences})
        out.append(f"  DIFFERS  {len(off)} tables do not reach the canon: {', '.join(off)}")
        out.extend("    " + difference_line(d, display) for d in r.differences)
    elif not r.errors:
        out.append(f"  reaches the canon: {len(r.key_tables)} key tables identical to the canonical definition")
    label = "data loss (accepted)" if accept else "DATA LOSS"
    for loss in r.data_loss:
        if loss.line:
            cause = f"{safe(display(loss.step))}:{loss.line}  [{safe(loss.statement)}]"
        else:  # counted after every statement that may destroy rows, and none did
            cause = f"{safe(display(loss.step))}  (no statement of it removed them: a merge or TTL of the table's engine did)"
        out.append(f"  {label}  {loss.table}: {loss.before} → {loss.after} rows ({loss.lost} lost)  {cause}")
    if not r.data_loss:
        out.append("  no rows lost")
    shown = r.skipped if verbose else r.skipped[:3]
    out.extend(f"  skipped {s.line}: {safe(s.reason)}  [{safe(s.statement)}]" for s in shown)
    if len(r.skipped) > len(shown):
        out.append(f"  ... and {len(r.skipped) - 3} more skipped")
    out.extend(f"  warning: {safe(w)}" for w in r.warnings)
    return out


def render_paths_text(results: list[PathResult], backend: str, version: str, canonical: str, accept: bool,
                      display: Callable[[str], str] = _same, quiet: bool = False, verbose: bool = False) -> str:
    """Every path's story; `quiet`: only the paths that fail, and the verdict; `verbose`: every skipped statement."""
    out = [] if quiet else [f"chconform path: {len(results)} path(s) on {backend} (ClickHouse {version}), "
                            f"canonical {safe(display(canonical))}", ""]
    for r in results:
        if quiet and r.ok(accept):
            continue
        out.extend(_path_text(r, accept, display, verbose))
        out.append("")
    bad = [r.name for r in results if not r.ok(accept)]
    if bad:
        out.append(f"FAIL: {', '.join(bad)}")
    else:
        lost = any(r.data_loss for r in results)
        out.append("OK: every path reaches the canon" + ("; the lost rows are accepted" if lost else ", no rows lost"))
    return "\n".join(out) + "\n"


def paths_json(results: list[PathResult], backend: str, version: str, canonical: str, accept: bool,
               display: Callable[[str], str] = _same) -> dict[str, Any]:
    """Stable keys, in the spirit of `check --format json`; files as the repository names them."""
    from chconform.reports.findings import json_header

    return {
        **json_header(),
        "ok": all(r.ok(accept) for r in results),
        "backend": backend,
        "clickhouse_version": version,
        "canonical": display(canonical),
        "paths": [
            {
                "name": r.name,
                "from_rev": r.from_rev,
                "steps": [display(s) for s in r.steps],
                "ok": r.ok(accept),
                "reaches_canon": r.reaches_canon,
                "errors": [{"source": display(e.source), "line": e.line, "code": e.code, "name": e.name, "message": e.message,
                            "statement": e.statement} for e in r.errors],
                "differences": [{"object": d.object, "aspect": d.aspect, "column": d.column, "canonical": d.canonical,
                                 "actual": d.actual, "source": display(d.source), "line": d.line}
                                for d in r.differences],
                "data_loss": [{"table": x.table, "before": x.before, "after": x.after, "lost": x.lost, "step": display(x.step),
                               "line": x.line, "statement": x.statement} for x in r.data_loss],
                "seeded": list(r.seeded),
                "not_seeded": [{"table": t, "reason": why} for t, why in r.not_seeded],
                "skipped": [{"line": s.line, "reason": s.reason, "statement": s.statement} for s in r.skipped],
                "warnings": list(r.warnings),
                "duration_s": r.duration_s,
            }
            for r in results
        ],
    }


@command("path", "apply an upgrade path on one instance with sentinel rows; report schema drift and lost rows",
         _arguments)
def cmd_path(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.checks.path import canonical_snapshot, load_step, read_at_revision, run_path
    from chconform.config import load_config
    from chconform.engines import get_backend
    from chconform.engines.server_defaults import profile_for

    config = load_config(args.config)
    specs = [p for p in config.paths if args.name is None or p.name == args.name]
    if not specs:
        known = ", ".join(p.name for p in config.paths) or "none"
        raise ConfigError(f"{config.config_file}: no upgrade path {args.name or ''} configured (configured: {known}); "
                          "add a [[tool.chconform.path]] table with name and steps")
    for rev in sorted({r for r in (args.from_rev or spec.from_rev for spec in specs) if r}):
        read_at_revision(config, rev)  # a bad revision is reported before any engine starts
    for step in dict.fromkeys(f for spec in specs for f in spec.files):
        load_step(step, config.variables)  # so is an unreadable step, or one without its migration tool's up marker
    backend = get_backend(args.backend or config.backend, image=config.image, timeout_s=config.timeout_s,
                          root=config.root, server=profile_for(config), engine=config.engine)
    try:
        canon = canonical_snapshot(config, backend)
        results = [run_path(config, backend, spec, canon, args.from_rev) for spec in specs]
        version = backend.version()
    finally:
        backend.close()
    accept = args.accept_data_loss
    if args.format in CI_FORMATS:
        from chconform.reports.findings import from_path

        text = render_outcome(args.format, from_path(results, accept, display_for(config), version))
    elif args.format == "json":
        text = json.dumps(paths_json(results, backend.name, version, config.canonical, accept, display_for(config)),
                          indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_paths_text(results, backend.name, version, config.canonical, accept, display_for(config),
                                 args.quiet, args.verbose)
    emit(args, text, out)
    return EXIT_OK if all(r.ok(accept) for r in results) else EXIT_FOUND
