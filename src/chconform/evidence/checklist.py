"""The checklist of `chconform evidence`: its rows, their wording, and the result model (pure).

The rows are fixed (one per Definition-of-Done item, in pipeline order); their wording comes
from the configuration: generic defaults built from `[tool.chconform.evidence]`, `.bootstrap`
and `.smoke`, overridden item by item by `[tool.chconform.evidence.items]`.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

from chconform.config import Config
from chconform.errors import ChconformError, ConfigError

__all__ = [
    "FAIL",
    "ITEMS",
    "OK",
    "SKIP",
    "SKIP_ENV",
    "SKIP_GROUPS",
    "Evidence",
    "EvidenceOptions",
    "GitState",
    "Row",
    "describe_file",
    "item_texts",
    "skip_set",
]

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"

# One row per Definition-of-Done item, in pipeline order, with its generic wording.
ITEMS: dict[str, str] = {
    "clean": "Fresh start: the project's data and ClickHouse log directories removed (nothing outside the repository)",
    "env": "`.env` created from `.env.example` when absent",
    "bootstrap_first": "Bootstrap, first run: every statement succeeded",
    "bootstrap_second": "Bootstrap, second run without cleaning: every statement succeeded",
    "idempotent": "Second run left the schema identical (snapshot) and lost no data (sentinel row in every key table)",
    "describe": "DESCRIBE of every key table saved as TSV and equal to the canonical build",
    "access": "Roles and grants applied on a server with access control",
    "smoke": "Smoke dry run: exit 0 and no table's row count changed",
    "validate": "Validator `chconform validate` passed: \"Schema validation passed.\"",
    "prove": "Validator fails on an injected divergence (mutation proof: `chconform validate --prove`)",
    "compileall": "`python -m compileall src scripts` succeeded",
    "pytest": "`pytest -n auto` passed (JUnit XML)",
    "check": "Schema: the key tables are identical in every SQL source (live check `chconform check`)",
    "docker": "`docker build` of the repository's Dockerfile",
    "docs": "Docs: the configured documents exist and mention how to run bootstrap, smoke and evidence",
    "git": "Git: working tree clean (checked before the run)",
}
SKIP_GROUPS: dict[str, tuple[str, ...]] = {
    "bootstrap": ("bootstrap_first", "bootstrap_second", "idempotent", "describe", "access"),
    "validate": ("validate", "prove"),
    **{k: (k,) for k in ("smoke", "compileall", "pytest", "check", "docker")},
}
SKIP_ENV = "CHCONFORM_EVIDENCE_SKIP"


def item_texts(config: Config) -> dict[str, str]:
    """The wording of every row for this configuration: generic, then what the repository says."""
    ev, access, job = config.evidence, config.bootstrap.access_source, config.smoke.job_table
    texts = dict(ITEMS)
    if access:
        texts["access"] = f"Roles and grants of {access} applied on a server with access control"
    if job:
        texts["smoke"] = f"Smoke dry run: exit 0 and {job} count unchanged"
    if ev.validate_script:
        texts["validate"] = f"Validator `python {ev.validate_script}` passed: \"Schema validation passed.\""
    for key, text in ev.items:
        if key not in ITEMS:
            raise ConfigError(f"{config.config_file}: evidence.items.{key}: no such row "
                              f"(rows: {', '.join(ITEMS)})")
        texts[key] = text
    return texts


def describe_file(fqn: str, config: Config | None = None) -> str:
    """File name (under the logs folder) of a key table's DESCRIBE: the configured name, else
    `describe_<table>.tsv` when every key table is in one database, else `describe_<db>_<table>.tsv`."""
    names = dict(config.evidence.describe_names) if config else {}
    if fqn in names:
        return names[fqn]
    db, _, name = fqn.partition(".")
    databases = {t.partition(".")[0] for t in (config.key_tables if config else ())} | {db}
    return f"describe_{name}.tsv" if len(databases) == 1 else f"describe_{db}_{name}.tsv"


def skip_set(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """Row keys for the given skip names (a group like `bootstrap` or `validate`, or a row key)."""
    out: set[str] = set()
    for name in (n.strip() for n in names):
        if not name:
            continue
        if name not in SKIP_GROUPS and name not in ITEMS:
            raise ChconformError(f"unknown evidence step {name!r} to skip (use: {', '.join(sorted(SKIP_GROUPS))})")
        out.update(SKIP_GROUPS.get(name, (name,)))
    return frozenset(out)


@dataclass(frozen=True)
class Row:
    """One checklist row: the item, its status, why, and the logs that prove it.

    `stable` is the reason as the tracked audit block shows it when `reason` depends on what the
    machine held before the run (a `.env` created or kept): same results, same bytes."""

    key: str
    status: str  # OK | FAIL | SKIP
    reason: str
    logs: tuple[str, ...] = ()
    stable: str = ""


@dataclass(frozen=True)
class GitState:
    commit: str | None  # None: not a git work tree
    branch: str = ""
    changes: tuple[str, ...] = ()  # `git status --porcelain` lines that count against "clean"
    own: tuple[str, ...] = ()  # lines that are a previous run's own output (logs, data, the audit block)

    @property
    def clean(self) -> bool:
        return self.commit is not None and not self.changes


@dataclass(frozen=True)
class Evidence:
    rows: tuple[Row, ...]
    git: GitState
    backend: str
    engine_version: str
    started: str
    duration_s: float
    items: dict[str, str] = field(default_factory=lambda: dict(ITEMS))
    python: str = field(default_factory=platform.python_version)

    @property
    def ok(self) -> bool:
        return not any(r.status == FAIL for r in self.rows)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.rows if r.status == s) for s in (OK, FAIL, SKIP)}

    def item(self, row: Row) -> str:
        return self.items.get(row.key, ITEMS.get(row.key, row.key))


@dataclass(frozen=True)
class EvidenceOptions:
    env_file: Path | None = None
    skip: frozenset[str] = frozenset()  # row keys (expand groups with skip_set)
    skip_reason: str = "skipped by --skip"
    python: str = sys.executable
    step_timeout_s: float = 900.0
    pytest_timeout_s: float = 3600.0
    pytest_args: tuple[str, ...] = ("-n", "auto")
    wait_s: float = 0.0  # how long to wait for another run holding the data directory
