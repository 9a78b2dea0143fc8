"""`chconform diff --url URL`: has a running server drifted from the canon?

Reads the server's catalog only (a `readonly=1` user suffices), builds the
canonical source on a throwaway engine, and reports every difference in the
same text and JSON forms as `check`. The password comes from an environment
variable, never from a flag or the URL.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from chconform.checks.run import RunResult, SourceResult
from chconform.commands._common import CI_FORMATS, EXIT_FOUND, EXIT_OK, command, emit, render_outcome
from chconform.engines.server import ServerAddress, connect, parse_url
from chconform.errors import ChconformError, ConfigError, EngineError
from chconform.model import Difference, Snapshot
from chconform.schema.access import take_access
from chconform.schema.compare import compare
from chconform.schema.snapshot import take_snapshot

__all__ = ["cmd_diff", "drift", "restrict", "password_from_env", "server_snapshot"]

DEFAULT_PASSWORD_ENV = "CLICKHOUSE_PASSWORD"


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    p.add_argument("--url", required=True, help="the server's HTTP interface, e.g. http://host:8123 (no credentials)")
    p.add_argument("--user", help="user to log in as (default: default); a readonly=1 user suffices")
    p.add_argument("--password-env", metavar="VAR",
                   help=f"environment variable holding the password (default {DEFAULT_PASSWORD_ENV}, if set)")
    p.add_argument("--database", action="append", metavar="DB",
                   help="compare only this database (repeatable; default: the databases the canon defines)")
    p.add_argument("--backend", choices=("embedded", "docker"),
                   help="engine that builds the canon (docker also compares users, roles and grants)")
    p.add_argument("--format", choices=("text", "json", *CI_FORMATS), default="text",
                   help=f"report format: text, json, {', '.join(CI_FORMATS)} (default text)")
    p.add_argument("--output", type=Path, help="write the report to this file instead of stdout")


def password_from_env(var: str | None, environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The password from `var`; an explicitly named variable that is unset is a mistake, the default is optional."""
    if var is None:
        return environ.get(DEFAULT_PASSWORD_ENV, "")
    if not var or not var.replace("_", "").isalnum():
        raise ConfigError(f"--password-env takes the NAME of an environment variable, not {var!r}")
    if var not in environ:
        raise ConfigError(f"--password-env {var}: the environment variable {var} is not set; export it first")
    return environ[var]


def restrict(snapshot: Snapshot, databases: Iterable[str]) -> Snapshot:
    """Only the tables (and database names) of `databases`; access rows are server-wide and kept."""
    keep = set(databases)
    return replace(snapshot, databases=tuple(d for d in snapshot.databases if d in keep),
                   tables=tuple(t for t in snapshot.tables if t.database in keep))


def drift(canonical: Snapshot, live: Snapshot, databases: Iterable[str] | None = None) -> list[Difference]:
    """Every difference of the live server from the canon, over the canon's databases by default."""
    if databases is None:
        databases = set(canonical.databases) | {t.database for t in canonical.tables}
    chosen = sorted(set(databases))
    return compare(restrict(canonical, chosen), restrict(live, chosen), missing=True)


def server_snapshot(instance: Any) -> tuple[Snapshot, list[str]]:
    """The server's schema, plus its access control where this user may read it (else a warning)."""
    snap = take_snapshot(lambda sql: instance.query(sql))
    try:
        return replace(snap, grants=take_access(lambda sql: instance.query(sql))), []
    except EngineError as exc:
        why = (f"users, roles and grants not compared: this user may not read them ({exc.name or exc}); "
               "grant SHOW USERS, SHOW ROLES to compare them")
        return snap, [why]


def _canonical(config: Any, backend_name: str) -> Snapshot:
    from chconform.checks.run import check_source
    from chconform.engines import get_backend
    from chconform.engines.server_defaults import profile_for
    from chconform.reports.render import render_source

    backend = get_backend(backend_name, image=config.image, timeout_s=config.timeout_s, root=config.root,
                          server=profile_for(config), engine=config.engine)
    try:
        result, snap = check_source(backend, config, config.canonical_source, None)
    finally:
        backend.close()
    if result.errors or snap is None:
        first = render_source(result)[0] if render_source(result) else "no snapshot"
        raise ChconformError(f"the canonical source {config.canonical} does not build ({first}); run `chconform check`")
    return snap


def connect_live(address: ServerAddress, user: str | None, password: str, timeout_s: float) -> Any:
    """The read-only connection; a seam so the tests can stand the embedded engine in for a server."""
    return connect(address, user, password, read_only=True, timeout_s=timeout_s)


@command("diff", "compare a running server's schema with the canon (read-only; password from an environment variable)",
         _arguments)
def cmd_diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.config import load_config
    from chconform.reports.render import render_json, render_text

    config = load_config(args.config)
    address = parse_url(args.url)
    password = password_from_env(args.password_env)
    instance = connect_live(address, args.user, password, config.timeout_s)
    try:
        live, warnings = server_snapshot(instance)
        rows = instance.query("SELECT version() AS v")
        version = str(rows[0]["v"]) if rows else ""
    finally:
        instance.close()
    backend_name = args.backend or config.backend
    canon = _canonical(config, backend_name)
    if not canon.grants:
        warnings.append(f"users, roles and grants not compared: the canon was built on {backend_name}, "
                        "which has no access storage (use --backend docker)")
    databases = args.database or (address.database and [address.database]) or None
    differences = tuple(replace(d, source=address.shown) for d in drift(canon, live, databases))
    result = SourceResult(
        path=address.shown,
        role="server",
        differences=differences,
        warnings=tuple(warnings),
        defined=tuple(live.names),
    )
    run = RunResult(backend="server", clickhouse_version=version, canonical=config.canonical,
                    key_tables=config.key_tables, sources=(result,), extra={"canon_backend": backend_name})
    if args.format in CI_FORMATS:
        from chconform.reports.findings import from_check

        text = render_outcome(args.format, from_check(run, command="diff"))
    else:
        text = render_json(run) if args.format == "json" else render_text(run, args.verbose, quiet=args.quiet)
    emit(args, text, out)
    return EXIT_OK if result.ok else EXIT_FOUND
