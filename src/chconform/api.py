"""chconform from Python: the three verdicts the CLI gives, as values instead of text and exit codes.

    import chconform

    report = chconform.validate()                 # static, no engine, about a second
    assert report.ok, [d.aspect for s in report.sources for d in s.differences]

    result = chconform.check("pyproject.toml")    # every source applied twice on the real engine
    for source in result.sources:
        print(source.path, source.ok, [d.aspect for d in source.differences])

    for path in chconform.path(name="up"):        # upgrade paths with sentinel rows
        print(path.name, path.reaches_canon, path.data_loss)

`config` is a loaded Config, a path to pyproject.toml or chconform.toml, or None for the nearest one (as the
CLI finds it). Bad input raises chconform.errors.ChconformError (ConfigError, SourceError, EnvironmentUnusable)
with the one line the CLI would print; differences are never exceptions, they are in the result.
The results are the frozen records the reports render: RunResult / SourceResult (chconform.checks.run),
StaticReport (chconform.checks.static), PathResult (chconform.checks.path).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from chconform.config import Config, load_config

if TYPE_CHECKING:
    from chconform.checks.path import PathResult
    from chconform.checks.run import RunResult
    from chconform.checks.static import StaticReport
    from chconform.engines.base import Backend

__all__ = ["check", "path", "validate"]

ConfigLike = Config | Path | str | None


def _config(config: ConfigLike) -> Config:
    return config if isinstance(config, Config) else load_config(config)


def _backend(config: Config, backend: str | None, engine: str | None) -> Backend:
    from chconform.engines import get_backend
    from chconform.engines.server_defaults import profile_for

    release = engine or config.engine
    return get_backend(backend or config.backend, image=config.image, timeout_s=config.timeout_s, root=config.root,
                       server=profile_for(config), **({"engine": release} if release else {}))


def validate(config: ConfigLike = None) -> StaticReport:
    """The static verdict (`chconform validate`): every source against the canon from the SQL text alone."""
    from chconform.checks.static import validate as static_validate

    return static_validate(_config(config))


def check(config: ConfigLike = None, *, sources: list[str] | None = None, backend: str | None = None,
          engine: str | None = None, jobs: int = 2) -> RunResult:
    """The live verdict (`chconform check`): each source (or only `sources`) applied twice to its own engine."""
    from chconform.checks.run import run_check

    conf = _config(config)
    for name in sources or ():
        conf.source(name)  # an unknown source is a ConfigError before any engine starts
    engines = _backend(conf, backend, engine)
    try:
        return run_check(conf, engines, jobs=jobs, only=sources)
    finally:
        engines.close()


def path(config: ConfigLike = None, *, name: str | None = None, from_rev: str | None = None,
         backend: str | None = None, engine: str | None = None) -> list[PathResult]:
    """The upgrade-path verdicts (`chconform path`): each configured path (or the one called `name`) walked once."""
    from chconform.checks.path import canonical_snapshot, read_at_revision, run_path
    from chconform.errors import ConfigError

    conf = _config(config)
    specs = [p for p in conf.paths if name is None or p.name == name]
    if not specs:
        known = ", ".join(p.name for p in conf.paths) or "none"
        raise ConfigError(f"{conf.config_file}: no upgrade path {name or ''} configured (configured: {known})")
    for rev in sorted({r for r in (from_rev or spec.from_rev for spec in specs) if r}):
        read_at_revision(conf, rev)  # a bad revision is reported before any engine starts
    engines = _backend(conf, backend, engine)
    try:
        canon = canonical_snapshot(conf, engines)
        return [run_path(conf, engines, spec, canon, from_rev) for spec in specs]
    finally:
        engines.close()
