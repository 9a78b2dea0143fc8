"""`chconform evidence`: the Definition of Done of a schema change, collected by one command that never overclaims.

In order: clean the data directory (and the configured server log folder), create `.env`
from `.env.example` if absent, bootstrap twice (sentinel rows in every key table between
the runs), DESCRIBE the key tables, smoke in dry-run mode, the static validator with its
mutation proof, `compileall`, `pytest -n auto`, the live check, and `docker build` where a
Docker engine is reachable. Each step writes its own log under the logs folder;
`evidence.md` there has one OK / FAIL / SKIP row per item with the reason and the log. SKIP
means "not checked here" and is never shown or counted as OK.

What is checked and how it is worded is the repository's `[tool.chconform.evidence]`
(checklist.py). One run at a time per data directory (runtime.py); git cleanliness is
judged before the run, and what a previous run wrote (logs, data, the audit block) is not
held against it; a run with the same results leaves the tracked audit report byte for byte.

Rooms: checklist (rows, wording, model), steps (one function per row), idempotency (sentinels,
DESCRIBE), render (evidence.md, the audit block), edges (processes, git, removal), runtime (lock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from chconform.config import Config, EvidenceSettings
from chconform.evidence.bootstrap import repo_root
from chconform.evidence.checklist import (
    FAIL,
    ITEMS,
    OK,
    SKIP,
    SKIP_ENV,
    SKIP_GROUPS,
    Evidence,
    EvidenceOptions,
    GitState,
    Row,
    describe_file,
    item_texts,
    skip_set,
)
from chconform.evidence.edges import UnsafePath, docker_reachable, git_state, guard_removal, junit_summary
from chconform.evidence.idempotency import after_second, base_type, insert_sentinels, sentinel_sql
from chconform.evidence.render import outside_block, render_audit_block, render_markdown, replace_block
from chconform.evidence.runtime import hold, runtime_dir
from chconform.evidence.steps import (
    Run,
    child_env,
    load_or_none,
    step_access,
    step_bootstrap,
    step_check,
    step_clean,
    step_compileall,
    step_docker,
    step_docs,
    step_env,
    step_git,
    step_pytest,
    step_smoke,
    step_validate,
)

__all__ = [
    "BEGIN_MARK",
    "END_MARK",
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
    "UnsafePath",
    "base_type",
    "describe_file",
    "docker_reachable",
    "guard_removal",
    "item_texts",
    "junit_summary",
    "own_output",
    "render_audit_block",
    "render_markdown",
    "replace_block",
    "run_evidence",
    "sentinel_sql",
    "skip_set",
]

BEGIN_MARK, END_MARK = EvidenceSettings().begin_marker, EvidenceSettings().end_marker  # the default markers


def own_output(config: Config, data_dir: Path | None) -> Callable[[str, str], bool]:
    """Which `git status` paths a previous evidence run wrote: the logs, the data and server-log folders, the
    env file, and the audit report when it differs from HEAD only between its markers."""
    ev, repo = config.evidence, repo_root(config).resolve()
    folders = [repo / ev.logs, config.root / ".env", *([data_dir] if data_dir else []),
               *([repo / ev.server_logs] if ev.server_logs else [])]
    prefixes = [p.resolve().relative_to(repo).as_posix() for p in folders if p.resolve().is_relative_to(repo)]

    def own(path: str, head: str) -> bool:
        if any(path == p or path.startswith(p + "/") for p in prefixes):
            return True
        if ev.audit_report and path == ev.audit_report and head:
            try:
                now = (repo / path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return False
            cut = outside_block(now, ev.begin_marker, ev.end_marker)
            return cut is not None and cut == outside_block(head, ev.begin_marker, ev.end_marker)
        return False

    return own


def _write_if_changed(path: Path, text: str) -> None:
    """Replace the file only when its bytes change (atomically), so an unchanged result leaves it untouched."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def run_evidence(config: Config, options: EvidenceOptions, write: Callable[[str], None] = lambda _: None) -> Evidence:
    """Take the lock, run the ordered pipeline; returns the rows and writes evidence.md and the audit block."""
    item_texts(config)  # a wrong [tool.chconform.evidence.items] key is exit 2 before anything runs
    repo = repo_root(config)
    env_file = (options.env_file or config.root / ".env").resolve()
    example = config.root / ".env.example"
    target = load_or_none(config, env_file if env_file.is_file() else example if example.is_file() else None, write)
    data_dir = target.data_dir if target else (config.data_dir or config.root / "data").resolve()
    logs = repo / config.evidence.logs
    with ExitStack() as held:
        locks = (held.enter_context(hold(logs, "chconform evidence", options.wait_s)),
                 held.enter_context(hold(data_dir, "chconform evidence", options.wait_s)))
        git = git_state(repo, own_output(config, data_dir))  # before the run writes anything
        runtime_dir(logs)
        run = Run(config, options, repo, logs, write, child_env(repo, options.python, locks), env_file, target)
        return _pipeline(run, git)


def _pipeline(run: Run, git: GitState) -> Evidence:
    config, write = run.config, run.write
    started_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    started = time.monotonic()
    rows: list[Row] = []

    def add(row: Row) -> Row:
        rows.append(row)
        write(f"{row.status:4}  {row.key}: {row.reason}")
        return row

    add(step_clean(run))
    add(step_env(run))
    if run.target is not None and run.env_file.is_file():
        run.target = load_or_none(config, run.env_file, write)
    if rows[0].status == OK and run.target is not None:
        first = add(step_bootstrap(run, "bootstrap_first", "bootstrap_first.log"))
        insert_sentinels(run)
        add(step_bootstrap(run, "bootstrap_second", "bootstrap_second.log"))
        idem, desc = after_second(run)
        add(idem)
        add(desc)
        add(step_access(run, first))
        add(step_smoke(run))
    else:
        why = "not run: the data directory was not cleaned (see clean.log)"
        for key in ("bootstrap_first", "bootstrap_second", "idempotent", "describe", "access", "smoke"):
            add(Row(key, SKIP, why, ("clean.log",)))
    for row in step_validate(run):
        add(row)
    add(step_compileall(run))
    add(step_pytest(run))
    add(step_check(run))
    add(step_docker(run))
    docs = add(step_docs(run))
    add(step_git(run, git))
    evidence = Evidence(tuple(rows), git, run.target.label() if run.target else "unknown (env file unreadable)",
                        run.version, started_at, round(time.monotonic() - started, 1), item_texts(config))
    settings = config.evidence
    if settings.audit_report:
        report = run.repo / settings.audit_report
        text = report.read_text(encoding="utf-8") if report.is_file() else ""
        if docs.status == OK or settings.begin_marker in text:
            _write_if_changed(report, replace_block(text, render_audit_block(evidence, config), settings.begin_marker,
                                                    settings.end_marker, settings.audit_report))
    (run.logs / "evidence.md").write_text(render_markdown(evidence, settings.title), encoding="utf-8")
    return evidence
