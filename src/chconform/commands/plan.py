"""`chconform plan SOURCE | --url URL`: the SQL that brings a source or a live server to the canon, proven first.

Exit codes: 0 a plan that reaches the canon (or nothing to do), printed; 1 no plan reaches the canon
(why, and nothing printed as a plan); 2 bad usage or an unusable environment.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from chconform.commands._common import EXIT_FOUND, EXIT_OK, command, emit
from chconform.reports.escape import safe

__all__ = ["cmd_plan", "render_plan", "plan_json"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="?", help="a configured source (as the config names it): plan from what it builds")
    p.add_argument("--url", help="plan from a running server's schema instead (read-only; http://host:8123)")
    p.add_argument("--user", help="--url: user to log in as (a readonly=1 user suffices)")
    p.add_argument("--password-env", metavar="VAR", help="--url: environment variable holding the password")
    p.add_argument("--database", action="append", metavar="DB", help="--url: only this database (repeatable)")
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    p.add_argument("--engine", metavar="RELEASE", help="the ClickHouse release the plan is proven on (default: config)")
    p.add_argument("--format", choices=("sql", "json"), default="sql", help="sql (default) or json")
    p.add_argument("--output", type=Path, help="write the plan to this file instead of stdout")


def _comment(text: str) -> str:
    return "-- " + safe(text)


def render_plan(proof: Any, verbose: bool = False) -> str:
    """The plan as SQL a user can append to the source, headed by what the proof showed (losses first)."""
    out = [_comment(f"chconform plan: {proof.origin} → the canon (proven on ClickHouse {proof.clickhouse_version})")]
    if not proof.proven:
        out.append(_comment("NO PLAN: the generated plan does not reach the canon; nothing here is to be run"))
        out += [_comment(f"  error at plan line {e.line}: {e.message}") for e in proof.errors]
        out += [_comment(f"  still differs: {d.object}{'.' + d.column if d.column else ''} {d.aspect}: "
                         f"{d.canonical or '∅'} → {d.actual or '∅'}") for d in proof.remaining]
        out += [_comment(f"  not re-runnable: {r}") for r in proof.rerun]
        if verbose:
            out += [_comment("  tried: " + line) for s in proof.steps for line in s.statement.splitlines()]
        return "\n".join(out) + "\n"
    if not proof.steps:
        return "\n".join(out + [_comment("nothing to do: it already builds the canon")]) + "\n"
    for loss in proof.data_loss:
        out.append(_comment(f"LOSES ROWS: {loss.table}: {loss.before} → {loss.after} ({loss.lost} lost) "
                            f"at [{loss.statement}]"))
    kinds: dict[str, int] = {}
    for s in proof.steps:
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    out.append(_comment(f"{len(proof.steps)} steps ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}); "
                        "reaches the canon; runs again without change"
                        + ("" if proof.data_loss else "; no row lost")))
    for i, s in enumerate(proof.steps, 1):
        out += ["", _comment(f"[{i}] {s.kind}: {', '.join(s.tables) or 'databases'}")]
        if s.note:
            out.append(_comment(f"    {s.note}"))
        out.append(s.statement + ";")
    return "\n".join(out) + "\n"


def plan_json(proof: Any) -> dict[str, Any]:
    from chconform.reports.findings import json_header

    lost = {x.table: x.lost for x in proof.data_loss}
    return {
        **json_header(),
        "origin": proof.origin,
        "clickhouse_version": proof.clickhouse_version,
        "proven": proof.proven,
        "steps": [{"kind": s.kind, "statements": [x.strip() for x in s.statement.split(";\n")], "tables": list(s.tables),
                   "rows_at_risk": sum(lost.get(t, 0) for t in s.tables), "note": s.note} for s in proof.steps],
        "data_loss": [{"table": x.table, "before": x.before, "after": x.after, "lost": x.lost,
                       "statement": x.statement} for x in proof.data_loss],
        "remaining": [{"object": d.object, "aspect": d.aspect, "column": d.column, "canonical": d.canonical,
                       "actual": d.actual} for d in proof.remaining],
        "errors": [{"line": e.line, "code": e.code, "name": e.name, "message": e.message} for e in proof.errors],
        "rerun": list(proof.rerun),
    }


@command("plan", "print the SQL that brings a source or a live server to the canon, proven on a throwaway engine",
         _arguments)
def cmd_plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.config import load_config
    from chconform.engines import get_backend
    from chconform.engines.server_defaults import profile_for
    from chconform.errors import ConfigError
    from chconform.plan.prove import build_canon, plan_server, plan_source

    if bool(args.source) == bool(args.url):
        raise ConfigError("plan takes a SOURCE (a configured source's path) or --url URL, not both or neither")
    config = load_config(args.config)
    spec = config.source(args.source) if args.source else None
    engine = args.engine or config.engine
    backend = get_backend(config.backend, image=config.image, timeout_s=config.timeout_s, root=config.root,
                          server=profile_for(config), **({"engine": engine} if engine else {}))
    try:
        canon = build_canon(config, backend)
        if spec is not None:
            proof = plan_source(config, backend, spec, canon)
        else:
            from chconform.commands.diff import connect_live, password_from_env
            from chconform.engines.server import parse_url

            address = parse_url(args.url)
            server = connect_live(address, args.user, password_from_env(args.password_env), config.timeout_s)
            try:
                proof = plan_server(config, backend, canon, server, address.shown, args.database)
            finally:
                server.close()
    finally:
        backend.close()
    text = json.dumps(plan_json(proof), indent=2, ensure_ascii=False) + "\n" if args.format == "json" \
        else render_plan(proof, args.verbose)
    emit(args, text, out)
    return EXIT_OK if proof.proven else EXIT_FOUND
