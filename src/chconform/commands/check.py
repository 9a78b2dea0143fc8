"""`chconform check`: apply every source twice to its own ClickHouse and compare what it builds with the canon."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from chconform.commands._common import (
    CI_FORMATS,
    EXIT_FOUND,
    EXIT_OK,
    Progress,
    command,
    common_options,
    display_for,
    emit,
    render_outcome,
    wants_color,
)
from chconform.errors import ConfigError

if TYPE_CHECKING:
    from chconform.checks.cache import ResultCache
    from chconform.checks.results import RunResult
    from chconform.config import Config
    from chconform.engines.server_defaults import ServerProfile


def _check_args(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--backend", choices=("embedded", "docker"), help="engine (default: config, CHCONFORM_BACKEND, embedded)")
    p.add_argument("--reuse", action="store_true", default=None,
                   help="docker: one container per process, reset between sources (or CHCONFORM_DOCKER_REUSE=1)")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 2, help="sources checked in parallel")
    p.add_argument("--engine", action="append", metavar="RELEASE",
                   help="embedded ClickHouse release, e.g. 24.8 (repeatable: a matrix of releases side by side; "
                        "default: config `engine`, CHCONFORM_ENGINE, the newest)")
    p.add_argument("--source", action="append", help="check only this source (repeatable); the canon is always built")
    p.add_argument("--shard", metavar="K/N", type=shard_arg,
                   help="check only the K-th of N shares of the configured sources, e.g. 2/4 (a CI matrix over "
                        "machines; every source is in one share; each share builds the canon: docs/SCALING.md)")
    p.add_argument("--no-cache", action="store_true",
                   help="apply every source again even if nothing it depends on changed")
    p.add_argument("--cache-dir", type=Path, help="where results are cached (default: $CHCONFORM_CACHE_DIR, "
                                                   "else $XDG_CACHE_HOME/chconform/results, else ~/.cache/…)")
    p.add_argument("--all", dest="all_rows", action="store_true", default=None,
                   help="show every table in the matrix (default: every row when small, else the rows that differ)")


@command("check", "apply every source twice to its own ClickHouse and compare what it builds with the canon", _check_args)
def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.checks.cache import ResultCache, default_cache_dir
    from chconform.config import load_config
    from chconform.engines.server_defaults import profile_for

    config = load_config(args.config)
    if args.shard is not None:
        if args.source:
            raise ConfigError("--shard and --source both choose sources; give one of them")
        args.source = shard_of(config, *args.shard)
    if args.source:
        for path in args.source:
            config.source(path)
    engines = _engines(args, config)
    if len(engines) > 1:
        return _check_matrix(args, config, engines, out)
    total = len(config.sources) if args.source is None else \
        len(args.source) + (0 if config.canonical in args.source else 1)
    progress = Progress.on(err, total, args.quiet)
    server = profile_for(config)
    cache = None if args.no_cache else ResultCache(args.cache_dir or default_cache_dir())
    result = _cached(args, config, engines, server, cache, progress) if cache is not None else None
    if result is None:  # something changed (or no cache): the engines run what did
        from chconform.checks.run import run_check
        from chconform.engines import get_backend

        backend = get_backend(args.backend or config.backend, image=config.image, timeout_s=config.timeout_s,
                              root=config.root, reuse=args.reuse, server=server,
                              **({"engine": engines[0]} if engines else {}))
        try:
            result = run_check(config, backend, jobs=args.jobs, only=args.source, progress=progress, cache=cache)
        finally:
            backend.close()
    from chconform.reports.render import Style, render_json, render_markdown, render_text

    display = display_for(config)
    if args.format in CI_FORMATS:
        from chconform.reports.findings import from_check

        text = render_outcome(args.format, from_check(result, display))
    elif args.format == "json":
        text = render_json(result, display)
    elif args.format == "markdown":
        text = render_markdown(result, display)
    else:
        style = Style(color=not args.output and wants_color(out))
        text = render_text(result, args.verbose, all_rows=args.all_rows, quiet=args.quiet, style=style,
                           display=display)
    emit(args, text, out)
    return EXIT_OK if result.ok else EXIT_FOUND


def shard_arg(text: str) -> tuple[int, int]:
    """`K/N` with 1 ≤ K ≤ N."""
    k, _, n = text.partition("/")
    if not (k.isdigit() and n.isdigit()) or not 1 <= int(k) <= int(n):
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N with 1 ≤ K ≤ N (e.g. 2/4)")
    return int(k), int(n)


def shard_of(config: Config, k: int, n: int) -> list[str]:
    """The configured sources of share `k` of `n`: every n-th in config order, so each is in exactly one share
    and a share's list changes only where the configuration does."""
    return [s.path for i, s in enumerate(config.sources) if i % n == k - 1]


def _cached(args: argparse.Namespace, config: Config, engines: tuple[str, ...], server: ServerProfile,
            cache: ResultCache, progress: Progress) -> RunResult | None:
    """The run's result when every answer is cached, without starting (or importing) an engine; else None.

    Only for the embedded backend, whose identity in the cache key is known before it starts: its release,
    default hardening and `server` (tests/unit/test_result_cache_key.py proves it equals the started one's).
    """
    from chconform.checks.cached import cached_run, engine_identity
    from chconform.engines.releases import get_release

    if (args.backend or config.backend) != "embedded" or not engines:
        return None
    engine = engine_identity("embedded", get_release(engines[0]).requirement, config.image, "", repr(server))
    return cached_run(config, cache, engine, "embedded", args.source, progress)


def _engines(args: argparse.Namespace, config: Config) -> tuple[str, ...]:
    """The releases to run: --engine, else config (or CHCONFORM_ENGINE); none for a backend with its own image."""
    from chconform.engines.releases import resolve_engines

    if (args.backend or config.backend) != "embedded":
        if args.engine:
            raise ConfigError("--engine picks an embedded ClickHouse release; the docker backend runs the image "
                              "in config `image`")
        return ()
    return tuple(r.name for r in resolve_engines(args.engine, config.engines))


def _check_matrix(args: argparse.Namespace, config: Config, engines: tuple[str, ...], out: TextIO) -> int:
    """One check per release, each release's verdict side by side and the statements whose outcome differs."""
    from chconform.checks.matrix import run_matrix
    from chconform.engines import get_backend
    from chconform.engines.server_defaults import profile_for
    from chconform.reports.matrix import render_matrix_json, render_matrix_markdown, render_matrix_text

    renderers = {"text": render_matrix_text, "json": render_matrix_json, "markdown": render_matrix_markdown}
    if args.format not in renderers:
        raise ConfigError(f"--format {args.format} reports one release; with several --engine use text, json or "
                          "markdown, or run once per release")
    server = profile_for(config)
    matrix = run_matrix(config, engines, lambda release: get_backend("embedded", timeout_s=config.timeout_s,
                                                                     engine=release, server=server),
                        jobs=args.jobs, only=args.source)
    emit(args, renderers[args.format](matrix), out)
    return EXIT_OK if matrix.ok else EXIT_FOUND
