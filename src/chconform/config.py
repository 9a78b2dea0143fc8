"""Load and validate the configuration: `[tool.chconform]` or a standalone TOML file.

Every mistake is a ConfigError with one line that names the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chconform.errors import ConfigError

if TYPE_CHECKING:
    from chconform.sql.migrations import StepFile

__all__ = ["SourceSpec", "PathSpec", "Config", "load_config", "find_config", "ROLES", "BootstrapSettings",
           "SmokeSettings", "EvidenceSettings"]

ROLES = ("dump", "init", "migration", "step")  # step: meaningful only in its path's order, never applied alone
DEFAULT_IMAGE = "clickhouse/clickhouse-server:24.8"
_TOP_KEYS = {"root", "canonical", "prelude", "key_tables", "timeout_s", "source", "path", "backend", "image",
             "data_dir", "bootstrap", "smoke", "evidence", "engine", "variables", "settings", "rules", "macros",
             "max_source_mb"}
_SOURCE_KEYS = {"path", "role", "must_define"}
_PATH_KEYS = {"name", "steps", "from_rev", "format"}


@dataclass(frozen=True)
class SourceSpec:
    """One configured SQL source."""

    path: str  # relative to root, with forward slashes
    file: Path
    role: str
    must_define: tuple[str, ...] = ()
    variables: tuple[tuple[str, str], ...] = ()  # [variables]: ${NAME} placeholders, substituted when read
    max_bytes: int = 256 << 20  # max_source_mb: a larger file is refused before it is read


@dataclass(frozen=True)
class PathSpec:
    """An upgrade path: files applied in order on one instance (`steps` as written: files, directories, globs)."""

    name: str
    steps: tuple[str, ...]
    from_rev: str | None = None
    format: str = "auto"  # auto | plain | golang-migrate | goose | dbmate (sql/migrations.py)
    files: tuple[StepFile, ...] = ()  # the steps expanded, in version order

    @property
    def step_paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)


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
    engines: tuple[str, ...] = ()  # ClickHouse releases to run embedded ("24.8"); empty: the newest
    bootstrap: BootstrapSettings = field(default_factory=lambda: BootstrapSettings())
    smoke: SmokeSettings = field(default_factory=lambda: SmokeSettings())
    evidence: EvidenceSettings = field(default_factory=lambda: EvidenceSettings())
    step_sources: tuple[SourceSpec, ...] = ()  # role "step": configured, applied only by the paths naming them
    variables: tuple[tuple[str, str], ...] = ()  # [variables]: ${NAME} → value in every source and the prelude
    settings: tuple[tuple[str, str], ...] = ()  # [settings]: what the user's servers set (profile, merge_tree, server)
    rules: tuple[tuple[str, str], ...] = ()  # [rules]: rule id → "error" | "warning" | "off"
    macros: tuple[tuple[str, str], ...] = ()  # [macros]: {name} values of the one-node cluster

    @property
    def rule_severity(self) -> dict[str, str]:
        return dict(self.rules)

    @property
    def engine(self) -> str | None:
        """The release a single run uses (the first of a matrix); None: the newest."""
        return self.engines[0] if self.engines else None

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
    _links(where, root, sources)
    canonical = _relative(where, root, canonical, "canonical")
    if canonical not in seen:
        raise ConfigError(f"{where}: canonical {canonical!r} is not one of the configured sources; add a [[source]] for it")
    steps_only = tuple(s for s in sources if s.role == "step")
    if canonical in {s.path for s in steps_only}:
        raise ConfigError(f"{where}: canonical {canonical!r} has role \"step\"; the canon is applied alone, give it "
                          "role \"dump\" or \"init\"")
    sources = tuple(s for s in sources if s.role != "step")
    variables = _variables(where, _table(where, data, "variables"))
    values = dict(variables)  # every reader of a source substitutes the same values; table names may hold them
    key_tables = tuple(_substituted(where, values, list(key_tables), "key_tables"))
    sources = tuple(replace(s, variables=variables, must_define=tuple(
        _substituted(where, values, list(s.must_define), f"source {s.path!r} must_define"))) for s in sources)
    steps_only = tuple(replace(s, variables=variables) for s in steps_only)
    max_mb = data.get("max_source_mb", 256)
    if not isinstance(max_mb, (int, float)) or isinstance(max_mb, bool) or max_mb <= 0:
        raise ConfigError(f"{where}: max_source_mb must be a positive number of megabytes, not {max_mb!r}")
    if max_mb != 256:
        sources = tuple(replace(s, max_bytes=int(max_mb * (1 << 20))) for s in sources)
        steps_only = tuple(replace(s, max_bytes=int(max_mb * (1 << 20))) for s in steps_only)
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
        step_sources=steps_only,
        key_tables=key_tables,
        prelude=tuple(_substituted(where, dict(variables),
                                   _prelude(where, base, root, _str_list(where, data, "prelude")))),
        timeout_s=float(timeout),
        backend=backend,
        image=_typed(where, data, "image", str, DEFAULT_IMAGE),
        engines=_engines(where, data),
        data_dir=(base / data_dir).resolve() if isinstance(data_dir, str) else None,
        paths=tuple(_path(where, root, i, raw) for i, raw in enumerate(_tables(where, data, "path"))),
        bootstrap=_bootstrap(where, root, _table(where, data, "bootstrap")),
        smoke=_smoke(where, base, _table(where, data, "smoke")),
        evidence=_evidence(where, _table(where, data, "evidence")),
        variables=variables,
        settings=_settings(where, _table(where, data, "settings")),
        rules=_rules(where, _table(where, data, "rules")),
        macros=_macros(where, _table(where, data, "macros")),
    )


def _engines(where: str, data: dict[str, Any]) -> tuple[str, ...]:
    """`engine = "24.8"` (or a list: a matrix); $CHCONFORM_ENGINE (comma-separated) overrides it."""
    from chconform.engines.releases import get_release  # local: no engine code at config import

    override = os.environ.get("CHCONFORM_ENGINE", "").strip()
    value: Any = [v.strip() for v in override.split(",") if v.strip()] if override else data.get("engine", [])
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{where}: engine must be a ClickHouse release such as \"24.8\" or a list of them, "
                          f"not {value!r}")
    label = "CHCONFORM_ENGINE" if override else f"{where}: engine"
    return tuple(dict.fromkeys(get_release(n, label).name for n in names))


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
    link = _link(root, raw["path"])
    role = raw.get("role", "dump")
    if role not in ROLES:
        raise ConfigError(f"{where}: source {rel!r} has unknown role {role!r} (use one of: {', '.join(ROLES)})")
    must = raw.get("must_define", [])
    if must == "all":
        must = list(key_tables)
    if not isinstance(must, list) or not all(isinstance(m, str) for m in must):
        raise ConfigError(f"{where}: source {rel!r}: must_define must be \"all\" or a list of tables")
    if link is not None:  # shown as the link, read from its target; _links checks the target is a source
        return SourceSpec(link, root / rel, role, tuple(must))
    return SourceSpec(rel, root / rel, role, tuple(must))


def _link(root: Path, path: str) -> str | None:
    """The path as written (normalised) when a symbolic link lies on the way to it, else None."""
    from chconform.sql.source import first_link  # local: config must not depend on sources at import

    return os.path.normpath(path).replace(os.sep, "/") if first_link(root, path) is not None else None


def _links(where: str, root: Path, sources: tuple[SourceSpec, ...]) -> None:
    """A source read through a symbolic link must lead to a file that is itself a configured source."""
    from chconform.sql.source import first_link

    plain = {spec.file for spec in sources if first_link(root, spec.path) is None}
    for spec in sources:
        link = first_link(root, spec.path)
        if link is not None and spec.file not in plain:
            raise ConfigError(f"{where}: source {spec.path!r}: {link!r} is a symbolic link to "
                              f"{spec.file.relative_to(root).as_posix()!r}, which is not a configured source; "
                              "chconform does not follow it (configure the target itself, or replace the link "
                              "by the file)")


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


def _path(where: str, root: Path, index: int, raw: dict[str, Any]) -> PathSpec:
    from chconform.sql.migrations import expand_steps  # local, like _prelude's import

    _no_unknown(where, raw, _PATH_KEYS, f"path[{index}].")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise ConfigError(f"{where}: path[{index}].steps must be a non-empty list of files, directories or globs")
    name = raw.get("name", f"path{index}")
    rev = raw.get("from_rev")
    fmt = raw.get("format", "auto")
    for key, value in (("name", name), ("from_rev", rev), ("format", fmt)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: path[{index}].{key} must be a string, not {value!r}")
    files = expand_steps(root, steps, fmt, f"{where}: path {name!r}")
    return PathSpec(name, tuple(steps), rev, fmt, files)


# --- [bootstrap], [smoke], [evidence]: the persistent-target commands (chconform.evidence) ------------------


@dataclass(frozen=True)
class BootstrapSettings:
    """`[tool.chconform.bootstrap]`: what `chconform bootstrap` applies after the canonical DDL."""

    access_source: str | None = None  # a source (relative to root) whose roles and grants follow; None: none


@dataclass(frozen=True)
class SmokeSettings:
    """`[tool.chconform.smoke]`: what `chconform smoke` counts, reads and validates (nothing by default but the
    key tables and the canonical source's views, which it always reads)."""

    job_table: str | None = None  # a table the ETL writes one row to per run: a dry run must leave its count alone
    job_row: tuple[tuple[str, str | int | float | bool], ...] = ()  # column = literal written by a real run
    payloads: Path | None = None  # folder of sample payloads (*.json), relative to the config file
    reads: tuple[str, ...] = ()  # more objects (database.name) to query besides the key tables and views


@dataclass(frozen=True)
class EvidenceSettings:
    """`[tool.chconform.evidence]`: the Definition-of-Done checklist of `chconform evidence`. Paths are relative
    to the config file's folder (the repository). Unset, evidence runs chconform's own commands, writes
    logs/evidence.md and checks no documents."""

    title: str = "Evidence"  # heading of logs/evidence.md
    command: str = "chconform evidence"  # how the repository runs it, as its docs say (e.g. "make evidence")
    logs: str = "logs"
    audit_report: str | None = None  # a tracked Markdown file whose block between the markers is regenerated
    begin_marker: str = "<!-- chconform evidence:begin -->"
    end_marker: str = "<!-- chconform evidence:end -->"
    docs: tuple[str, ...] = ()  # documents that must exist (an ADR, a changelog, ...)
    instructed_docs: tuple[str, ...] = ()  # documents that must mention every `instructions` entry
    instructions: tuple[str, ...] = ()  # default: the bootstrap and smoke commands (or scripts) and `command`
    bootstrap_script: str | None = None  # a wrapper script run with bash; default `chconform bootstrap`
    smoke_script: str | None = None  # default `chconform smoke --dry-run`
    validate_script: str | None = None  # a Python script; default `chconform validate`
    smoke_log: str = "smoke.log"
    server_logs: str | None = None  # a ClickHouse server's log folder, removed with the data directory
    describe_names: tuple[tuple[str, str], ...] = ()  # key table -> file name of its DESCRIBE under logs/
    items: tuple[tuple[str, str], ...] = ()  # row key -> the checklist's wording of that item


_BOOTSTRAP_KEYS = {"access_source"}
_SMOKE_KEYS = {"job_table", "job_row", "payloads", "reads"}
_EVIDENCE_STR = {"title", "command", "logs", "audit_report", "begin_marker", "end_marker", "bootstrap_script",
                 "smoke_script", "validate_script", "smoke_log", "server_logs"}
_EVIDENCE_LISTS = {"docs", "instructed_docs", "instructions"}
_EVIDENCE_MAPS = {"describe_names", "items"}


def _table(where: str, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: write {key} as a [{key}] table (in pyproject.toml: [tool.chconform.{key}])")
    return value


def _qualified(where: str, key: str, name: str) -> str:
    if name.count(".") != 1 or not all(name.split(".")):
        raise ConfigError(f"{where}: {key} entry {name!r} must be written as database.table")
    return name


def _bootstrap(where: str, root: Path, raw: dict[str, Any]) -> BootstrapSettings:
    _no_unknown(where, raw, _BOOTSTRAP_KEYS, "bootstrap.")
    access = _typed(where, raw, "access_source", str, None)
    return BootstrapSettings(_relative(where, root, access, "bootstrap.access_source") if access else None)


def _smoke(where: str, base: Path, raw: dict[str, Any]) -> SmokeSettings:
    _no_unknown(where, raw, _SMOKE_KEYS, "smoke.")
    job = _typed(where, raw, "job_table", str, None)
    row = _typed(where, raw, "job_row", dict, {})
    for column, value in row.items():
        if not isinstance(value, (str, int, float, bool)):
            raise ConfigError(f"{where}: smoke.job_row.{column} must be a string or a number, not {value!r}")
    if row and not job:
        raise ConfigError(f"{where}: smoke.job_row needs smoke.job_table (the table the row goes to)")
    payloads = _typed(where, raw, "payloads", str, None)
    return SmokeSettings(
        job_table=_qualified(where, "smoke.job_table", job) if job else None,
        job_row=tuple(row.items()),
        payloads=(base / payloads).resolve() if payloads else None,
        reads=tuple(_qualified(where, "smoke.reads", r) for r in _str_list(where, raw, "reads")),
    )


def _evidence(where: str, raw: dict[str, Any]) -> EvidenceSettings:
    _no_unknown(where, raw, _EVIDENCE_STR | _EVIDENCE_LISTS | _EVIDENCE_MAPS, "evidence.")
    values: dict[str, Any] = {k: _typed(where, raw, k, str, None) for k in _EVIDENCE_STR if k in raw}
    values.update({k: tuple(_str_list(where, raw, k)) for k in _EVIDENCE_LISTS if k in raw})
    for key in _EVIDENCE_MAPS & set(raw):
        table = raw[key]
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ConfigError(f"{where}: evidence.{key} must be a table of strings")
        values[key] = tuple(table.items())
    paths = [values[k] for k in ("logs", "audit_report", "bootstrap_script", "smoke_script", "validate_script",
                                 "server_logs") if values.get(k)]
    for path in (*paths, *values.get("docs", ()), *values.get("instructed_docs", ())):
        if Path(path).is_absolute() or ".." in Path(path).parts:
            raise ConfigError(f"{where}: evidence path {path!r} must be relative to the repository, inside it")
    for name in (values.get("smoke_log", "x"), *(v for _, v in values.get("describe_names", ()))):
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ConfigError(f"{where}: evidence log name {name!r} must be a plain file name (it goes under logs/)")
    return EvidenceSettings(**values)


# ---- [variables], [settings], [rules], [macros] -----------------------------------------------------------

def _variables(where: str, raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    from chconform.sql.templates import check_value

    for name, value in raw.items():
        if why := check_value(name, value):
            raise ConfigError(f"{where}: [variables] {why}")
    return tuple(sorted((name, str(value)) for name, value in raw.items()))


def _substituted(where: str, variables: dict[str, str], statements: list[str], what: str = "prelude") -> list[str]:
    from chconform.errors import SourceError
    from chconform.sql.templates import substitute

    try:
        return [substitute(text, variables, f"{where}: {what}") for text in statements]
    except SourceError as exc:
        raise ConfigError(str(exc)) from None


def _settings(where: str, raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Each name must be a setting ClickHouse lists and the gate lets a source change (gate/settings.py)."""
    from chconform.gate.settings import setting_problem

    out = []
    for name, value in raw.items():
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where}: [settings] {name} must be a string or a number, not {value!r}")
        if why := setting_problem(name, value):
            raise ConfigError(f"{where}: [settings] {why}")
        out.append((name, str(value)))
    return tuple(out)


def _rules(where: str, raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    if not raw:  # no [rules]: nothing to check, no rule tables to import (a cached re-run starts faster)
        return ()
    from chconform.checks.rules import RULES, SEVERITIES
    from chconform.reports.findings import RULES as REPORTED
    from chconform.schema.compare import ASPECTS

    known = set(RULES) | set(REPORTED) | set(ASPECTS)
    for name, value in raw.items():
        if name not in known:
            raise ConfigError(f"{where}: [rules] unknown rule {name!r} (rules: {', '.join(sorted(known))})")
        if value not in SEVERITIES:
            raise ConfigError(f"{where}: [rules] {name} = {value!r}: use one of {', '.join(SEVERITIES)}")
    return tuple(sorted(raw.items()))


def _macros(where: str, raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for name, value in raw.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ConfigError(f"{where}: [macros] {name} must be a string, not {value!r}")
        if not name.replace("_", "").isalnum() or not str(value) or any(c in str(value) for c in "<>&{}\n"):
            raise ConfigError(f"{where}: [macros] {name} = {value!r} is not a usable macro (a name and a plain value)")
        out.append((name, str(value)))
    return tuple(sorted(out))
