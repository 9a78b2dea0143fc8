"""Load and validate the configuration: `[tool.chconform]` or a standalone TOML file.

Every mistake is a ConfigError with one line that names the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chconform.errors import ConfigError

__all__ = ["SourceSpec", "PathSpec", "Config", "load_config", "find_config", "ROLES"]

ROLES = ("dump", "init", "migration")
DEFAULT_IMAGE = "clickhouse/clickhouse-server:24.8"
_TOP_KEYS = {"root", "canonical", "prelude", "key_tables", "timeout_s", "source", "path", "backend", "image",
             "data_dir"}
_SOURCE_KEYS = {"path", "role", "must_define"}
_PATH_KEYS = {"name", "steps", "from_rev"}


@dataclass(frozen=True)
class SourceSpec:
    """One configured SQL source."""

    path: str  # relative to root, with forward slashes
    file: Path
    role: str
    must_define: tuple[str, ...] = ()


@dataclass(frozen=True)
class PathSpec:
    """An upgrade path: sources applied in order on one instance."""

    name: str
    steps: tuple[str, ...]
    from_rev: str | None = None


@dataclass(frozen=True)
class Config:
    """The validated configuration of one conformance run."""

    config_file: Path
    root: Path
    canonical: str
    sources: tuple[SourceSpec, ...]
    key_tables: tuple[str, ...] = ()
    prelude: tuple[str, ...] = ()  # statements (files are expanded at load time)
    timeout_s: float = 60.0
    backend: str = "embedded"
    image: str = DEFAULT_IMAGE
    data_dir: Path | None = None
    paths: tuple[PathSpec, ...] = field(default=())

    @property
    def canonical_source(self) -> SourceSpec:
        return next(s for s in self.sources if s.path == self.canonical)

    def source(self, path: str) -> SourceSpec:
        for spec in self.sources:
            if spec.path == path:
                return spec
        raise ConfigError(f"{self.config_file}: no source {path!r} is configured")


def find_config(start: Path | None = None) -> Path:
    """The nearest pyproject.toml (with [tool.chconform]) or chconform.toml upward."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in ("chconform.toml", "pyproject.toml"):
            candidate = folder / name
            if candidate.is_file() and (name == "chconform.toml" or b"[tool.chconform]" in candidate.read_bytes()):
                return candidate
    raise ConfigError(f"no chconform.toml or pyproject.toml with [tool.chconform] found from {here}; pass --config")


def load_config(path: Path | str | None = None) -> Config:
    """Read a config file; pyproject.toml uses [tool.chconform], any other file its top level."""
    file = Path(path) if path else find_config()
    if not file.is_file():
        raise ConfigError(f"config file not found: {file}")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: TOML syntax error: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text") from None
    if file.name == "pyproject.toml":
        data = data.get("tool", {}).get("chconform")
        if data is None:
            raise ConfigError(f"{file}: has no [tool.chconform] table")
    return _build(file.resolve(), data)


def _build(file: Path, data: dict[str, Any]) -> Config:
    where = str(file)
    _no_unknown(where, data, _TOP_KEYS, "")
    base = file.parent
    root = (base / _typed(where, data, "root", str, ".")).resolve()
    if not root.is_dir():
        raise ConfigError(f"{where}: root {root} is not a directory")
    canonical = _typed(where, data, "canonical", str, None)
    if canonical is None:
        raise ConfigError(f"{where}: missing key 'canonical' (the canonical source, relative to root)")
    key_tables = tuple(_str_list(where, data, "key_tables"))
    for name in key_tables:
        if name.count(".") != 1:
            raise ConfigError(f"{where}: key_tables entry {name!r} must be written as database.table")
    sources = tuple(_source(where, root, i, raw, key_tables) for i, raw in enumerate(_tables(where, data, "source")))
    seen: set[str] = set()
    for spec in sources:
        if spec.path in seen:
            raise ConfigError(f"{where}: source {spec.path!r} is configured twice")
        seen.add(spec.path)
    canonical = _relative(where, root, canonical, "canonical")
    if canonical not in seen:
        raise ConfigError(f"{where}: canonical {canonical!r} is not one of the configured sources; add a [[source]] for it")
    timeout = data.get("timeout_s", 60)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"{where}: timeout_s must be a positive number of seconds, not {timeout!r}")
    backend = os.environ.get("CHCONFORM_BACKEND") or _typed(where, data, "backend", str, "embedded")
    data_dir = data.get("data_dir")
    return Config(
        config_file=file,
        root=root,
        canonical=canonical,
        sources=sources,
        key_tables=key_tables,
        prelude=tuple(_prelude(where, base, root, _str_list(where, data, "prelude"))),
        timeout_s=float(timeout),
        backend=backend,
        image=_typed(where, data, "image", str, DEFAULT_IMAGE),
        data_dir=(base / data_dir).resolve() if isinstance(data_dir, str) else None,
        paths=tuple(_path(where, i, raw) for i, raw in enumerate(_tables(where, data, "path"))),
    )


def _no_unknown(where: str, data: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {prefix}{key!r} (allowed: {', '.join(sorted(allowed))})")


def _typed(where: str, data: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = data.get(key, default)
    if value is not None and not isinstance(value, kind):
        raise ConfigError(f"{where}: {key} must be a {kind.__name__}, not {value!r}")
    return value


def _str_list(where: str, data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return value


def _tables(where: str, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}: write sources as [[{key}]] tables")
    return value


def _relative(where: str, root: Path, path: str, what: str) -> str:
    full = (root / path).resolve()
    try:
        rel = full.relative_to(root)
    except ValueError:
        raise ConfigError(f"{where}: {what} {path!r} is outside the root {root}") from None
    if not full.is_file():
        raise ConfigError(f"{where}: {what} file not found: {full}")
    return rel.as_posix()


def _source(where: str, root: Path, index: int, raw: dict[str, Any], key_tables: tuple[str, ...]) -> SourceSpec:
    _no_unknown(where, raw, _SOURCE_KEYS, f"source[{index}].")
    if "path" not in raw or not isinstance(raw["path"], str):
        raise ConfigError(f"{where}: source[{index}] needs a path")
    rel = _relative(where, root, raw["path"], f"source[{index}].path")
    role = raw.get("role", "dump")
    if role not in ROLES:
        raise ConfigError(f"{where}: source {rel!r} has unknown role {role!r} (use one of: {', '.join(ROLES)})")
    must = raw.get("must_define", [])
    if must == "all":
        must = list(key_tables)
    if not isinstance(must, list) or not all(isinstance(m, str) for m in must):
        raise ConfigError(f"{where}: source {rel!r}: must_define must be \"all\" or a list of tables")
    return SourceSpec(rel, root / rel, role, tuple(must))


def _prelude(where: str, base: Path, root: Path, items: list[str]) -> list[str]:
    """Each prelude item is a statement, or a .sql file (relative to root) of statements."""
    from chconform.sql.source import split_statements  # local: config must not depend on sources at import

    out: list[str] = []
    for item in items:
        if item.strip().lower().endswith(".sql") and "\n" not in item and " " not in item.strip():
            file = (root / item.strip()).resolve()
            if not file.is_file():
                raise ConfigError(f"{where}: prelude file not found: {file}")
            out.extend(s.text for s in split_statements(file.read_text(encoding="utf-8")))
        else:
            out.append(item)
    return out


def _path(where: str, index: int, raw: dict[str, Any]) -> PathSpec:
    _no_unknown(where, raw, _PATH_KEYS, f"path[{index}].")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise ConfigError(f"{where}: path[{index}].steps must be a non-empty list of source paths")
    return PathSpec(str(raw.get("name", f"path{index}")), tuple(steps), raw.get("from_rev"))
