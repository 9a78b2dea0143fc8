"""The result cache's keys and entries, and the answer of a run whose every result is cached.

Kept apart from checks/run.py so that an unchanged re-run imports no engine, gate or schema code: it reads
a few small entries and renders them (a fraction of a second). The keys are computed here for both paths,
so the cached path and the run agree on them by construction.

What applying a source yields depends on the engine (backend, release, image, hardening, the server profile
the engine is configured with), chconform's own code, the configuration file, the prelude and the source's
own bytes and settings; its compared result adds the canon's key. Nothing else reaches the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chconform.checks.cache import ResultCache, code_digest
from chconform.checks.results import RunResult, SourceResult
from chconform.config import Config, SourceSpec
from chconform.model import Snapshot

__all__ = ["CachedSource", "CachedFinal", "engine_identity", "backend_identity", "source_key", "final_key",
           "cached_run"]


@dataclass(frozen=True)
class CachedSource:
    """What the result cache keeps of an applied source (the Source itself is re-read: it is cheap)."""

    result: SourceResult
    snapshot: Snapshot | None
    clickhouse_version: str
    sandbox: str


@dataclass(frozen=True)
class CachedFinal:
    """A source's result compared with the canon, and the engine facts a report shows beside it."""

    result: SourceResult
    clickhouse_version: str
    sandbox: str


def engine_identity(backend: str, requirement: str, image: str, hardening: str, server: str) -> str:
    """Everything about the engine that can change what a source builds, as one string."""
    return "|".join((backend, requirement, image, hardening, server))


def backend_identity(backend: Any, config: Config) -> str:
    """`engine_identity` of a backend object (the run's path)."""
    release = getattr(backend, "release", None)
    hardening = getattr(backend, "hardening", None)
    shown = "" if hardening is None or hardening == type(hardening)() else repr(hardening)
    server = getattr(backend, "server", None)
    return engine_identity(str(backend.name), str(getattr(release, "requirement", "")), str(config.image), shown,
                           repr(server) if server is not None else "")


def source_key(cache: ResultCache, config: Config, engine: str, spec: SourceSpec) -> str | None:
    """Every input of what applying `spec` yields; None when a file cannot be read (then nothing is cached)."""
    try:
        body = spec.file.read_bytes()
        settings = config.config_file.read_bytes() if config.config_file else b""
    except OSError:
        return None
    return cache.key("chconform-source", code_digest(), engine, settings, "\0".join(config.prelude), spec.path,
                     spec.role, "\0".join(spec.must_define), "\0".join(f"{k}={v}" for k, v in spec.variables),
                     str(spec.max_bytes), str(config.timeout_s), body)


def final_key(cache: ResultCache, keys: dict[str, str | None], path: str, canon: str) -> str | None:
    """A source's compared result depends on its own inputs and the canon's: both keys together."""
    mine, theirs = keys.get(path), keys.get(canon)
    return cache.key("chconform-final", mine, theirs) if mine and theirs else None


def specs_of(config: Config, only: Sequence[str] | None) -> list[SourceSpec]:
    """The sources a run applies: the canon first, then the others (those of `only`, when given)."""
    canon = config.canonical_source
    return [canon, *(s for s in config.sources if s.path != config.canonical and (only is None or s.path in only))]


def cached_run(config: Config, cache: ResultCache, engine: str, backend_name: str, only: Sequence[str] | None = None,
               progress: Callable[[str, float], None] | None = None) -> RunResult | None:
    """The whole run's result when every source's compared result is cached, else None (then the run applies
    what changed). No engine is started, none of its code imported."""
    specs = specs_of(config, only)
    keys = {s.path: source_key(cache, config, engine, s) for s in specs}
    finals: list[CachedFinal] = []
    for spec in specs:
        key = final_key(cache, keys, spec.path, specs[0].path)
        entry = cache.get(key, CachedFinal) if key else None
        if entry is None:
            return None
        finals.append(entry)
    for spec in specs:
        if progress is not None:
            progress(spec.path + " (cached)", 0.0)
    shown = [f.result for f in finals if only is None or f.result.path != config.canonical or config.canonical in only]
    return RunResult(backend=backend_name, clickhouse_version=finals[0].clickhouse_version, canonical=config.canonical,
                     key_tables=config.key_tables, sources=tuple(shown), sandbox=finals[0].sandbox,
                     extra={"cached": f"{len(specs)} of {len(specs)}"})
