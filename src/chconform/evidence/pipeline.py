"""`chconform evidence`: the Definition of Done of a schema change, collected by one command that never overclaims.

In order: clean the project's own data and ClickHouse log directories, create
`.env` from `.env.example` if absent, bootstrap twice (sentinel rows in every
key table between the runs), DESCRIBE the key tables, smoke in dry-run mode,
the static validator with its mutation proof, `compileall`, `pytest -n auto`,
the live check, and `docker build` where a Docker engine is reachable. Each
step writes its own log under `logs/`; `logs/evidence.md` has one OK / FAIL /
SKIP row per item with the reason and the log. SKIP means "not checked here"
and is never shown or counted as OK.
"""

from __future__ import annotations

import difflib
import os
import platform
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chconform.evidence.bootstrap import (
    Session,
    Target,
    bootstrap_plan,
    load_target,
    open_target,
    repo_root,
    sql_ident,
    sql_string,
)
from chconform.config import Config
from chconform.errors import ChconformError, EngineError
from chconform.checks.safety import guard_path, project_roots

__all__ = [
    "BEGIN_MARK",
    "END_MARK",
    "FAIL",
    "ITEMS",
    "OK",
    "SKIP",
    "SKIP_GROUPS",
    "Evidence",
    "EvidenceOptions",
    "GitState",
    "Row",
    "UnsafePath",
    "base_type",
    "describe_file",
    "guard_removal",
    "render_audit_block",
    "render_markdown",
    "replace_block",
    "run_evidence",
    "sentinel_sql",
    "skip_set",
]

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"

# One row per Definition-of-Done item (ORIGINAL_TASK_007.md, "Приемка"), in pipeline order.
ITEMS: dict[str, str] = {
    "clean": "Fresh start: the project's data and ClickHouse log directories removed (nothing outside the repository)",
    "env": "`.env` created from `.env.example` when absent",
    "bootstrap_first": "Bootstrap, first run: every statement succeeded",
    "bootstrap_second": "Bootstrap, second run without cleaning: every statement succeeded",
    "idempotent": "Second run left the schema identical (snapshot) and lost no data (sentinel row in every key table)",
    "describe": "DESCRIBE of every key table saved as TSV and equal to the canonical build",
    "access": "Roles and grants of bootstrap_all.sql applied on a server with access control",
    "smoke": "Smoke dry run: exit 0 and zakaz.meta_job_runs count unchanged",
    "validate": "Validator `python scripts/validate_clickhouse_schema.py` passed: \"Schema validation passed.\"",
    "prove": "Validator fails on an injected divergence (mutation proof: `chconform validate --prove`)",
    "compileall": "`python -m compileall src scripts` succeeded",
    "pytest": "`pytest -n auto` passed (JUnit XML)",
    "check": "Schema: the key tables are identical in every SQL source (live check `chconform check`)",
    "docker": "`docker build` of the repository's Dockerfile",
    "docs": "Docs: ADR-007, CHANGELOG-007, audit report block, README and CONTRIBUTING bootstrap/smoke/evidence instructions",
    "git": "Git: working tree clean (checked before the run)",
}
SKIP_GROUPS: dict[str, tuple[str, ...]] = {
    "bootstrap": ("bootstrap_first", "bootstrap_second", "idempotent", "describe", "access"),
    "validate": ("validate", "prove"),
    **{k: (k,) for k in ("smoke", "compileall", "pytest", "check", "docker")},
}
SKIP_ENV = "CHCONFORM_EVIDENCE_SKIP"
BEGIN_MARK = "<!-- chconform evidence:begin -->"
END_MARK = "<!-- chconform evidence:end -->"
AUDIT_REPORT = "ZAKAZ_DASHBOARD_AUDIT_REPORT.md"
DOCS = ("docs/adr/ADR-007-clickhouse-schema-lockdown.md", "docs/changelog/CHANGELOG-007.md")
INSTRUCTED = ("scripts/bootstrap_clickhouse.sh", "scripts/smoke_qtickets_dryrun.sh", "make evidence")
_DESCRIBE_NAMES = {
    "zakaz.fact_qtickets_inventory": "describe_fact_inv.tsv",
    "zakaz.fact_qtickets_inventory_latest": "describe_fact_inv_latest.tsv",
}
_STEP_LOGS = ("clean.log", "env.log", "bootstrap_first.log", "bootstrap_sentinels.log", "bootstrap_second.log",
              "bootstrap_idempotency.log", "describe.log", "smoke_qtickets.log", "schema_validation.log",
              "schema_validation_prove.log", "compileall.log", "pytest.log", "pytest-junit.xml", "check.log",
              "docker_build.log", "docs.log", "git_status.log", "compose_down.log", "evidence.md")


class UnsafePath(ChconformError):
    """A removal was refused: the path is outside the repository or holds tracked files."""


@dataclass(frozen=True)
class Row:
    """One checklist row: the item, its status, why, and the logs that prove it."""

    key: str
    status: str  # OK | FAIL | SKIP
    reason: str
    logs: tuple[str, ...] = ()

    @property
    def item(self) -> str:
        return ITEMS[self.key]


@dataclass(frozen=True)
class GitState:
    commit: str | None  # None: not a git work tree
    branch: str = ""
    changes: tuple[str, ...] = ()

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
    python: str = field(default_factory=platform.python_version)

    @property
    def ok(self) -> bool:
        return not any(r.status == FAIL for r in self.rows)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.rows if r.status == s) for s in (OK, FAIL, SKIP)}


@dataclass(frozen=True)
class EvidenceOptions:
    env_file: Path | None = None
    skip: frozenset[str] = frozenset()  # row keys (expand groups with skip_set)
    skip_reason: str = "skipped by --skip"
    python: str = sys.executable
    step_timeout_s: float = 900.0
    pytest_timeout_s: float = 3600.0
    pytest_args: tuple[str, ...] = ("-n", "auto")


# --- pure helpers ----------------------------------------------------------------------------


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


def describe_file(fqn: str) -> str:
    """logs/ file name of a key table's DESCRIBE (the original task's short names where it has them)."""
    if fqn in _DESCRIBE_NAMES:
        return _DESCRIBE_NAMES[fqn]
    db, _, name = fqn.partition(".")
    return f"describe_{name}.tsv" if db == "zakaz" else f"describe_{db}_{name}.tsv"


def base_type(type_name: str) -> str:
    """`LowCardinality(Nullable(String))` → `String`."""
    for wrapper in ("LowCardinality(", "Nullable("):
        if type_name.startswith(wrapper) and type_name.endswith(")"):
            return base_type(type_name[len(wrapper):-1])
    return type_name


def sentinel_sql(table: str, columns: list[dict[str, Any]], tag: str) -> tuple[str, str]:
    """(INSERT of one row marked with `tag`, SELECT counting it); columns are DESCRIBE rows."""
    plain = [c for c in columns if not c.get("default_type")]
    marker = next((c["name"] for c in plain if base_type(c["type"]) == "String"), None)
    values = []
    for c in plain:
        kind = base_type(c["type"])
        if kind == "String":
            values.append(sql_string(tag))
        elif kind.startswith("FixedString(") and kind[12:-1].isdigit():
            values.append(f"toFixedString({sql_string(tag[: int(kind[12:-1])])}, {int(kind[12:-1])})")
        else:
            values.append(f"defaultValueOfTypeName({sql_string(c['type'])})")
    names = ", ".join(sql_ident(c["name"]) for c in plain)
    insert = f"INSERT INTO {sql_ident(table)} ({names}) SELECT {', '.join(values)}"
    where = f" WHERE {sql_ident(marker)} = {sql_string(tag)}" if marker else ""
    return insert, f"SELECT count() AS n FROM {sql_ident(table)}{where}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _links(row: Row) -> str:
    return ", ".join(f"[{name}]({name})" for name in row.logs) or "-"


def render_markdown(ev: Evidence) -> str:
    """logs/evidence.md: metadata, one row per item, and the verdict."""
    c = ev.counts()
    git = "not a git work tree" if ev.git.commit is None else (
        "clean" if ev.git.clean else f"NOT clean: {len(ev.git.changes)} changed or untracked paths (see [git_status.log](git_status.log))")
    lines = [
        "# Evidence: ClickHouse schema lockdown (task 007)",
        "",
        f"Generated by `chconform evidence` at {ev.started} in {ev.duration_s:.1f} s.",
        "",
        "| | |",
        "|---|---|",
        f"| git commit | {ev.git.commit or 'unknown'}{f' ({ev.git.branch})' if ev.git.branch else ''} |",
        f"| git status | {git} |",
        f"| backend | {_cell(ev.backend)} |",
        f"| ClickHouse engine | {ev.engine_version or 'unknown (the target never answered)'} |",
        f"| Python | {ev.python} |",
        "",
        "| # | Definition of Done item | Result | Reason | Log |",
        "|---|---|---|---|---|",
    ]
    for i, row in enumerate(ev.rows, 1):
        lines.append(f"| {i} | {_cell(row.item)} | **{row.status}** | {_cell(row.reason)} | {_links(row)} |")
    verdict = "PASS" if ev.ok else "FAIL"
    lines += [
        "",
        f"**Result: {verdict}** ({c[OK]} OK, {c[FAIL]} FAIL, {c[SKIP]} SKIP); `chconform evidence` exits {int(not ev.ok)}.",
        "",
        "SKIP means the item was not checked here (the reason says why); it is never counted as OK.",
        "",
    ]
    return "\n".join(lines)


_COMMANDS = (
    "Commands, from the repository root: `make evidence` (= `chconform evidence`), which runs in order "
    "`scripts/bootstrap_clickhouse.sh --env-file infra/clickhouse/.env` twice (sentinel rows between the runs), "
    "`DESCRIBE TABLE … FORMAT TabSeparatedWithNames` for each key table, "
    "`scripts/smoke_qtickets_dryrun.sh --env-file infra/clickhouse/.env`, "
    "`python scripts/validate_clickhouse_schema.py`, `chconform validate --prove`, "
    "`python -m compileall src scripts`, `pytest -n auto --junitxml logs/pytest-junit.xml`, `chconform check` "
    "and `docker build .`."
)
_METADATA = "The commit, the time and `git status` of the run are in `logs/evidence.md`."


def render_audit_block(ev: Evidence) -> str:
    """The block of ZAKAZ_DASHBOARD_AUDIT_REPORT.md between the markers: no times or hashes, so a rerun
    with the same results leaves the file unchanged."""
    lines = [
        BEGIN_MARK,
        "<!-- generated by `chconform evidence` (make evidence); edits between these markers are overwritten -->",
        "",
        _COMMANDS,
        "",
        f"Backend: {ev.backend}; ClickHouse {ev.engine_version or 'unknown'}. {_METADATA}",
        "",
        "| Definition of Done item | Result | Reason | Log |",
        "|---|---|---|---|",
    ]
    for row in ev.rows:
        logs = ", ".join(f"`logs/{name}`" for name in row.logs) or "-"
        lines.append(f"| {_cell(row.item)} | **{row.status}** | {_cell(row.reason)} | {logs} |")
    c = ev.counts()
    verdict = f"Result: {'PASS' if ev.ok else 'FAIL'} ({c[OK]} OK, {c[FAIL]} FAIL, {c[SKIP]} SKIP; SKIP is never counted as OK)."
    lines += ["", verdict, "", END_MARK]
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """Swap the text between the markers (markers included) for `block`; the rest stays byte for byte."""
    start, end = text.find(BEGIN_MARK), text.find(END_MARK)
    if start < 0 or end < start:
        raise ChconformError(f"{AUDIT_REPORT}: markers {BEGIN_MARK} … {END_MARK} not found")
    return text[:start] + block + text[end + len(END_MARK):]


def _no_timing(line: str) -> str:
    return re.sub(r"\s+in \d+(\.\d+)?s\b", "", line)


# --- edges: processes, files, git ------------------------------------------------------------


def _relative(path: Path, repo: Path) -> str:
    return path.relative_to(repo).as_posix() if path.is_relative_to(repo) else str(path)


def run_logged(cmd: list[str], log: Path, cwd: Path, env: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """Run a command with stdout+stderr into `log` (after a `$ command` header); None on timeout."""
    log.parent.mkdir(parents=True, exist_ok=True)
    shown = " ".join(cmd)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as fh:
        fh.write(f"$ {shown}\n")
        fh.flush()
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        except OSError as exc:
            fh.write(f"cannot run: {exc}\n")
            return 127, f"cannot run: {exc}"
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    output = log.read_text(encoding="utf-8", errors="replace")
    with log.open("a", encoding="utf-8") as fh:
        status = f"timed out after {timeout:.0f}s (killed)" if code is None else f"exit code {code}"
        fh.write(f"# {status}, {time.monotonic() - started:.1f}s\n")
    return code, output


def _last_line(output: str, prefix: str = "") -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not ln.startswith("$ ")]
    if prefix:
        lines = [ln for ln in lines if ln.startswith(prefix)] or lines
    return lines[-1] if lines else "no output"


def git_state(repo: Path) -> GitState:
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, timeout=60)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != repo.resolve():
            return GitState(None)
        commit = git("rev-parse", "HEAD").stdout.strip() or None
        branch = git("rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
        status = git("status", "--porcelain")
    except (OSError, subprocess.TimeoutExpired):
        return GitState(None)
    return GitState(commit, branch, tuple(ln for ln in status.stdout.splitlines() if ln.strip()))


def guard_removal(path: Path, repo: Path, allowed: tuple[Path, ...]) -> Path:
    """The resolved path if evidence may delete it: one of the project's own directories (`allowed`, checked by
    chconform.checks.safety.guard_path), inside the repository, not the repository itself, holding no tracked file."""
    root = repo.resolve()
    try:
        resolved = guard_path(path, allowed)
    except ChconformError as exc:
        raise UnsafePath(str(exc)) from None
    if resolved == root or not resolved.is_relative_to(root):
        raise UnsafePath(f"refusing to remove {path}: not inside the repository {root}")
    tracked = subprocess.run(["git", "-C", str(root), "ls-files", "--", str(resolved)], capture_output=True, text=True,
                             check=False)
    if tracked.returncode == 0 and tracked.stdout.strip():
        first = tracked.stdout.splitlines()[0]
        raise UnsafePath(f"refusing to remove {_relative(resolved, root)}: it holds files tracked by git ({first})")
    return resolved


def _remove_tree(path: Path) -> None:
    import shutil

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def docker_reachable() -> tuple[bool, str]:
    try:
        probe = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                               timeout=20, check=False)
    except FileNotFoundError:
        return False, "no docker client on PATH"
    except subprocess.TimeoutExpired:
        return False, "docker info did not answer within 20s"
    if probe.returncode != 0:
        return False, _last_line(probe.stderr or probe.stdout)
    return True, probe.stdout.strip()


# --- the pipeline ----------------------------------------------------------------------------


@dataclass
class _Run:
    """Mutable state of one evidence run (kept inside run_evidence)."""

    config: Config
    options: EvidenceOptions
    repo: Path
    logs: Path
    write: Callable[[str], None]
    env: dict[str, str]
    env_file: Path
    target: Target | None = None
    version: str = ""
    first_snapshot: Any = None
    sentinels: dict[str, tuple[str, int]] = field(default_factory=dict)
    sentinel_error: str = ""

    def log(self, name: str, text: str) -> None:
        (self.logs / name).write_text(text, encoding="utf-8")

    def skipped(self, key: str, logs: tuple[str, ...] = ()) -> Row | None:
        if key not in self.options.skip:
            return None
        for name in logs:
            self.log(name, f"SKIP: {self.options.skip_reason}\n")
        return Row(key, SKIP, self.options.skip_reason, logs)

    def session(self) -> Session:
        assert self.target is not None
        s = open_target(self.target, start=False, timeout_s=self.config.timeout_s)
        self.version = self.version or s.version
        return s


def _clean(run: _Run) -> Row:
    lines = []
    for name in _STEP_LOGS:
        (run.logs / name).unlink(missing_ok=True)
    for stale in run.logs.glob("describe_*.tsv"):
        stale.unlink()
    lines.append(f"removed the previous evidence files from {_relative(run.logs, run.repo)}/")
    if run.target is None:
        run.log("clean.log", "\n".join(lines) + "\nno target: the env file could not be read\n")
        return Row("clean", FAIL, "the env file could not be read (see env.log)", ("clean.log",))
    if run.target.kind == "compose":
        ok, why = docker_reachable()
        if ok:
            code, _ = run_logged(["docker", "compose", "-f", str(run.target.compose_file), "down"],
                                   run.logs / "compose_down.log", run.repo, run.env, run.options.step_timeout_s)
            lines.append(f"docker compose down: exit {code}")
        else:
            lines.append(f"docker compose down not needed: {why}")
    problems = []
    clickhouse_logs = run.config.root / "logs"
    allowed = (*project_roots(run.repo, run.target.data_dir), clickhouse_logs)
    for path in (run.target.data_dir, clickhouse_logs):
        shown = _relative(path, run.repo)
        try:
            safe = guard_removal(path, run.repo, allowed)
        except UnsafePath as exc:
            problems.append(str(exc))
            lines.append(f"REFUSED {exc}")
            continue
        existed = safe.exists()
        _remove_tree(safe)
        lines.append(f"removed {shown}" if existed else f"{shown}: absent, nothing to remove")
    run.log("clean.log", "\n".join(lines) + "\n")
    if problems:
        return Row("clean", FAIL, "; ".join(problems), ("clean.log",))
    return Row("clean", OK, f"removed {_relative(run.target.data_dir, run.repo)} and "
               f"{_relative(run.config.root / 'logs', run.repo)} (only inside the repository)", ("clean.log",))


def _env(run: _Run) -> Row:
    example = run.config.root / ".env.example"
    shown, shown_example = _relative(run.env_file, run.repo), _relative(example, run.repo)
    if run.env_file.is_file():
        text = f"kept the existing {shown} (values are not logged)\n"
        status, reason = OK, f"{shown} exists; kept"
    elif run.options.env_file is not None:
        text = f"{shown} not found; it was given with --env-file, so it is not created\n"
        status, reason = FAIL, f"--env-file {shown} not found"
    elif not example.is_file():
        text = f"{shown_example} not found\n"
        status, reason = FAIL, f"no {shown_example} to copy"
    else:
        fd = os.open(run.env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(example.read_text(encoding="utf-8"))
        text = f"created {shown} from {shown_example} (mode 600; values are not logged)\n"
        status, reason = OK, f"created {shown} from {shown_example}"
    run.log("env.log", text)
    return Row("env", status, reason, ("env.log",))


def _bootstrap(run: _Run, key: str, log_name: str) -> Row:
    if (row := run.skipped(key, (log_name,))) is not None:
        return row
    script = run.repo / "scripts" / "bootstrap_clickhouse.sh"
    code, output = run_logged(["bash", str(script), "--env-file", str(run.env_file)], run.logs / log_name, run.repo,
                              run.env, run.options.step_timeout_s)
    summary = _no_timing(_last_line(output, "bootstrap:"))
    if code == 0:
        return Row(key, OK, summary, (log_name,))
    return Row(key, FAIL, f"exit {code if code is not None else 'timeout'}: {summary}", (log_name,))


def _insert_sentinels(run: _Run) -> None:
    """After the first run: snapshot, then one marked row in every key table."""
    from chconform.schema.snapshot import take_snapshot

    if "idempotent" in run.options.skip:
        return
    lines, tag = [], f"chconform-sentinel-{os.getpid()}-{int(time.time())}"
    try:
        session = run.session()
        try:
            run.first_snapshot = take_snapshot(session.query)
            failed = []
            for table in run.config.key_tables:
                try:
                    columns = session.query(f"DESCRIBE TABLE {sql_ident(table)}")
                    insert, count = sentinel_sql(table, columns, tag)
                    session.execute(insert)
                    n = int(session.query(count)[0]["n"])
                except EngineError as exc:
                    failed.append(table)
                    lines.append(f"FAIL  {table}: no sentinel row: {exc}")
                    continue
                run.sentinels[table] = (count, n)
                lines.append(f"OK    {table}: sentinel row inserted; `{count}` = {n}")
            if failed:
                run.sentinel_error = f"no sentinel row in {', '.join(failed)}"
        finally:
            session.close()
    except (ChconformError, OSError) as exc:
        run.sentinel_error = f"sentinel rows could not be inserted: {exc}"
        lines.append(run.sentinel_error)
    run.log("bootstrap_sentinels.log", "\n".join(lines) + "\n")


def _after_second(run: _Run) -> tuple[Row, Row]:
    """Idempotency (snapshot + sentinels) and the DESCRIBE files, on one session after the second run."""
    from chconform.schema.compare import compare
    from chconform.reports.render import difference_line
    from chconform.schema.snapshot import take_snapshot

    idem = run.skipped("idempotent", ("bootstrap_idempotency.log",))
    desc = run.skipped("describe", ("describe.log",))
    if idem is not None and desc is not None:
        return idem, desc
    lines: list[str] = []
    describes: dict[str, str] = {}
    second = None
    try:
        session = run.session()
        try:
            second = take_snapshot(session.query)
            for table, (count_sql, expected) in run.sentinels.items():
                got = int(session.query(count_sql)[0]["n"])
                lines.append(f"{'OK' if got == expected else 'LOST'}  {table}: sentinel rows {expected} -> {got}")
            for table in run.config.key_tables:
                try:
                    describes[table] = session.raw(f"DESCRIBE TABLE {sql_ident(table)} FORMAT TabSeparatedWithNames")
                except EngineError as exc:
                    describes[table] = ""
                    lines.append(f"DESCRIBE {table} failed: {exc}")
        finally:
            session.close()
    except (ChconformError, OSError) as exc:
        lines.append(f"the target could not be read after the second run: {exc}")
    if idem is None:
        idem = _idempotency_row(run, second, lines, compare, difference_line)
    if desc is None:
        desc = _describe_row(run, second, describes, compare, difference_line)
    return idem, desc


def _idempotency_row(run: _Run, second: Any, lines: list[str], compare: Any, difference_line: Any) -> Row:
    problems = []
    if run.sentinel_error:
        problems.append(run.sentinel_error)
    if run.first_snapshot is None or second is None:
        problems.append("no snapshot of both runs")
    else:
        names = sorted(set(run.first_snapshot.names) | set(second.names))
        diffs = compare(run.first_snapshot, second, names, missing=True)
        lines.extend(f"DIFF  {difference_line(d)}" for d in diffs)
        lines.append(f"schema after run 2 vs run 1: {len(diffs)} differences over {len(names)} objects")
        if diffs:
            problems.append(f"schema changed by the second run: {len(diffs)} differences")
    lost = [ln.split()[1].rstrip(":") for ln in lines if ln.startswith("LOST")]
    if lost:
        problems.append(f"sentinel rows lost in {', '.join(lost)}")
    if not run.sentinels and not run.sentinel_error:
        problems.append("no sentinel rows were inserted")
    run.log("bootstrap_idempotency.log", "\n".join(lines) + "\n")
    logs = ("bootstrap_sentinels.log", "bootstrap_idempotency.log")
    if problems:
        return Row("idempotent", FAIL, "; ".join(problems), logs)
    return Row("idempotent", OK, f"snapshot unchanged; sentinel rows kept in all {len(run.sentinels)} key tables", logs)


def _canonical_build(run: _Run) -> tuple[Any, dict[str, str], list[str]]:
    """The canonical source on a fresh embedded instance: its snapshot and its DESCRIBE output."""
    from chconform.engines.embedded import EmbeddedBackend
    from chconform.checks.run import _prelude, apply_statements, load_source
    from chconform.schema.snapshot import take_snapshot

    backend = EmbeddedBackend(prestart=False)
    instance = backend.instance()
    try:
        deadline = time.monotonic() + run.config.timeout_s
        errors, _, _ = apply_statements(instance, _prelude(run.config), 1, deadline, False, "prelude")
        more, _, _ = apply_statements(instance, load_source(run.config.canonical_source).statements, 1, deadline, False,
                                      run.config.canonical)
        problems = [f"canonical build: {e.source}:{e.line}: {e.name}: {e.message}" for e in errors + more]
        snap = take_snapshot(instance.query)
        out = {}
        for table in run.config.key_tables:
            try:
                out[table] = instance.worker.call({"sql": f"DESCRIBE TABLE {sql_ident(table)} FORMAT TabSeparatedWithNames",
                                                   "fmt": "TabSeparated"}, run.config.timeout_s, "describe")
            except EngineError as exc:
                out[table] = ""
                problems.append(f"canonical build has no {table}: {exc}")
        return snap, out, problems
    finally:
        instance.close()
        backend.close()


def _describe_row(run: _Run, live: Any, describes: dict[str, str], compare: Any, difference_line: Any) -> Row:
    files = tuple(describe_file(t) for t in run.config.key_tables)
    for table in run.config.key_tables:
        run.log(describe_file(table), describes.get(table, ""))
    lines: list[str] = []
    problems: list[str] = []
    try:
        canon, canon_desc, build_problems = _canonical_build(run)
    except ChconformError as exc:
        run.log("describe.log", f"the canonical build failed: {exc}\n")
        return Row("describe", FAIL, f"the canonical build failed: {exc}", ("describe.log", *files))
    lines.extend(build_problems)
    problems.extend(build_problems)
    for table in run.config.key_tables:
        got, want = describes.get(table, ""), canon_desc.get(table, "")
        name = describe_file(table)
        if not got:
            problems.append(f"{table}: no DESCRIBE output")
            lines.append(f"FAIL  {table}: no DESCRIBE output ({name} is empty)")
        elif got != want:
            problems.append(f"{table}: DESCRIBE differs from the canonical build")
            lines.append(f"FAIL  {table}: {name} differs from the canonical build:")
            lines.extend("      " + d for d in difflib.unified_diff(want.splitlines(), got.splitlines(), "canonical",
                                                                     "live", lineterm="", n=0))
        else:
            lines.append(f"OK    {table}: {name} equals the canonical build ({len(got.splitlines()) - 1} columns)")
    if live is not None:
        diffs = [d for d in compare(canon, live, run.config.key_tables, missing=True) if d.object in run.config.key_tables]
        lines.extend(f"DIFF  {difference_line(d)}" for d in diffs)
        lines.append(f"snapshot of the key tables vs the canonical build: {len(diffs)} differences "
                     "(engine, keys, settings, columns)")
        if diffs:
            problems.append(f"{len(diffs)} snapshot differences from the canonical build")
    else:
        problems.append("no snapshot of the target after the second run")
    run.log("describe.log", "\n".join(lines) + "\n")
    if problems:
        return Row("describe", FAIL, "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else ""),
                   ("describe.log", *files))
    return Row("describe", OK, f"{len(files)} key tables described; all equal to the canonical build",
               ("describe.log", *files))


def _access(run: _Run, first: Row) -> Row:
    if (row := run.skipped("access")) is not None:
        return row
    plan, _ = bootstrap_plan(run.config)
    n = sum(1 for source, _ in plan if source.path != run.config.canonical)
    if run.target is not None and run.target.kind == "embedded":
        reachable, _ = docker_reachable()
        where = "no Docker engine reachable" if not reachable else "set CHCONFORM_TARGET=compose to verify them"
        return Row("access", SKIP, f"embedded target has no access storage: {n} role/grant statements skipped "
                   f"(listed in bootstrap_first.log); {where}", ("bootstrap_first.log",))
    output = (run.logs / "bootstrap_first.log").read_text(encoding="utf-8", errors="replace")
    skipped = sum(1 for ln in output.splitlines() if re.match(r"^\S+:\d+\s+SKIPPED\b", ln))
    if first.status == OK and skipped == 0:
        return Row("access", OK, f"{n} role/grant statements applied on the server", ("bootstrap_first.log",))
    return Row("access", FAIL, f"first bootstrap {first.status}; {skipped} statements skipped", ("bootstrap_first.log",))


def _smoke(run: _Run) -> Row:
    if (row := run.skipped("smoke", ("smoke_qtickets.log",))) is not None:
        return row
    script = run.repo / "scripts" / "smoke_qtickets_dryrun.sh"
    code, output = run_logged(["bash", str(script), "--env-file", str(run.env_file)], run.logs / "smoke_qtickets.log",
                              run.repo, run.env, run.options.step_timeout_s)
    summary = _no_timing(_last_line(output, "smoke:"))
    if code == 0:
        return Row("smoke", OK, summary, ("smoke_qtickets.log",))
    failed = [ln.split(None, 1)[1] for ln in output.splitlines() if ln.startswith("FAIL ")][:2]
    detail = f" ({'; '.join(failed)})" if failed else ""
    return Row("smoke", FAIL, f"exit {code if code is not None else 'timeout'}: {summary}{detail}"[:400],
               ("smoke_qtickets.log",))


def _validate(run: _Run) -> list[Row]:
    rows = []
    if (row := run.skipped("validate", ("schema_validation.log",))) is not None:
        rows.append(row)
    else:
        script = run.repo / "scripts" / "validate_clickhouse_schema.py"
        if not script.is_file():
            run.log("schema_validation.log", "scripts/validate_clickhouse_schema.py is missing\n")
            rows.append(Row("validate", FAIL, "scripts/validate_clickhouse_schema.py is missing (the static validator "
                            "is not delivered)", ("schema_validation.log",)))
        else:
            code, output = run_logged([run.options.python, str(script)], run.logs / "schema_validation.log", run.repo,
                                      run.env, run.options.step_timeout_s)
            passed = "Schema validation passed." in output
            if code == 0 and passed:
                rows.append(Row("validate", OK, "Schema validation passed.", ("schema_validation.log",)))
            else:
                why = _last_line(output) if code != 0 else "exit 0 but no \"Schema validation passed.\" line"
                rows.append(Row("validate", FAIL, f"exit {code}: {why}"[:400], ("schema_validation.log",)))
    if (row := run.skipped("prove", ("schema_validation_prove.log",))) is not None:
        rows.append(row)
    else:
        code, output = run_logged([run.options.python, "-m", "chconform", "validate", "--prove"],
                                  run.logs / "schema_validation_prove.log", run.repo, run.env, run.options.step_timeout_s)
        if code == 0:
            rows.append(Row("prove", OK, _no_timing(_last_line(output)), ("schema_validation_prove.log",)))
        elif "invalid choice: 'validate'" in output:
            rows.append(Row("prove", FAIL, "`chconform validate` is not available (the static validator is not delivered)",
                            ("schema_validation_prove.log",)))
        else:
            rows.append(Row("prove", FAIL, f"exit {code}: {_last_line(output)}"[:400], ("schema_validation_prove.log",)))
    return rows


def _compileall(run: _Run) -> Row:
    if (row := run.skipped("compileall", ("compileall.log",))) is not None:
        return row
    dirs = [d for d in ("src", "scripts") if (run.repo / d).is_dir()]
    code, output = run_logged([run.options.python, "-m", "compileall", *dirs], run.logs / "compileall.log", run.repo,
                              run.env, run.options.step_timeout_s)
    if code == 0:
        return Row("compileall", OK, f"compiled {' and '.join(dirs)}", ("compileall.log",))
    return Row("compileall", FAIL, f"exit {code}: {_last_line(output)}"[:400], ("compileall.log",))


def junit_summary(path: Path) -> str:
    """`N tests: F failures, E errors, S skipped` from a JUnit XML file."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return "no readable JUnit XML"
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    return f"{total['tests']} tests: {total['failures']} failures, {total['errors']} errors, {total['skipped']} skipped"


def _pytest(run: _Run) -> Row:
    logs = ("pytest.log", "pytest-junit.xml")
    if "pytest" in run.options.skip:
        run.log("pytest.log", f"SKIP: {run.options.skip_reason}\n")
        return Row("pytest", SKIP, run.options.skip_reason, ("pytest.log",))
    env = dict(run.env)
    env[SKIP_ENV] = ",".join(filter(None, [env.get(SKIP_ENV, ""), "pytest"]))  # no evidence run inside may recurse
    junit = run.logs / "pytest-junit.xml"
    code, _ = run_logged([run.options.python, "-m", "pytest", *run.options.pytest_args, "--junitxml", str(junit)],
                              run.logs / "pytest.log", run.repo, env, run.options.pytest_timeout_s)
    summary = junit_summary(junit)
    if code == 0:
        return Row("pytest", OK, summary, logs)
    return Row("pytest", FAIL, f"exit {code if code is not None else 'timeout'}: {summary}", logs)


def _check(run: _Run) -> Row:
    if (row := run.skipped("check", ("check.log",))) is not None:
        return row
    code, output = run_logged([run.options.python, "-m", "chconform", "check", "--config",
                               str(run.config.config_file)], run.logs / "check.log", run.repo, run.env,
                              run.options.step_timeout_s)
    last = _last_line(output)
    if code == 0:
        return Row("check", OK, last, ("check.log",))
    return Row("check", FAIL, f"exit {code}: {last}"[:400], ("check.log",))


def _docker(run: _Run) -> Row:
    if (row := run.skipped("docker", ("docker_build.log",))) is not None:
        return row
    reachable, why = docker_reachable()
    dockerfile = run.repo / "Dockerfile"
    if not reachable:
        note = "" if dockerfile.is_file() else "; the repository has no Dockerfile either"
        run.log("docker_build.log", f"SKIP: no Docker engine reachable (docker info: {why}){note}\n")
        return Row("docker", SKIP, f"no Docker engine reachable{note}", ("docker_build.log",))
    if not dockerfile.is_file():
        run.log("docker_build.log", "no Dockerfile at the repository root\n")
        return Row("docker", FAIL, "no Dockerfile at the repository root", ("docker_build.log",))
    code, output = run_logged(["docker", "build", "-t", "chconform:evidence", "-f", str(dockerfile), "."],
                              run.logs / "docker_build.log", run.repo, run.env, run.options.pytest_timeout_s)
    if code == 0:
        return Row("docker", OK, "built chconform:evidence", ("docker_build.log",))
    return Row("docker", FAIL, f"exit {code}: {_last_line(output)}"[:400], ("docker_build.log",))


def _docs(run: _Run) -> Row:
    lines, problems = [], []
    for doc in DOCS:
        present = (run.repo / doc).is_file()
        lines.append(f"{'OK  ' if present else 'FAIL'}  {doc} {'present' if present else 'missing'}")
        if not present:
            problems.append(f"{doc} missing")
    report = run.repo / AUDIT_REPORT
    text = report.read_text(encoding="utf-8") if report.is_file() else ""
    marked = BEGIN_MARK in text and END_MARK in text
    lines.append(f"{'OK  ' if marked else 'FAIL'}  {AUDIT_REPORT} " + ("has the evidence markers (block regenerated)"
                 if marked else "missing or without the evidence markers"))
    if not marked:
        problems.append(f"{AUDIT_REPORT} missing or without markers")
    for doc in ("README.md", "CONTRIBUTING.md"):
        body = (run.repo / doc).read_text(encoding="utf-8") if (run.repo / doc).is_file() else ""
        absent = [s for s in INSTRUCTED if s not in body]
        lines.append(f"{'OK  ' if not absent else 'FAIL'}  {doc} " + (f"mentions {', '.join(INSTRUCTED)}" if not absent
                     else f"does not mention {', '.join(absent)}"))
        if absent:
            problems.append(f"{doc} does not mention {', '.join(absent)}")
    run.log("docs.log", "\n".join(lines) + "\n")
    if problems:
        return Row("docs", FAIL, "; ".join(problems), ("docs.log",))
    return Row("docs", OK, f"{', '.join(DOCS)}, {AUDIT_REPORT}, README.md and CONTRIBUTING.md in place", ("docs.log",))


def _git(run: _Run, state: GitState) -> Row:
    if state.commit is None:
        run.log("git_status.log", "not a git work tree (no commit to record)\n")
        return Row("git", SKIP, "not a git work tree", ("git_status.log",))
    run.log("git_status.log", f"commit {state.commit} ({state.branch})\n$ git status --porcelain\n"
            + "".join(f"{ln}\n" for ln in state.changes))
    if state.clean:
        return Row("git", OK, "clean (the commit is in the table above)", ("git_status.log",))
    return Row("git", FAIL, f"{len(state.changes)} changed or untracked paths before the run", ("git_status.log",))


def _child_env(run_repo: Path, python: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(run_repo / "src"), env.get("PYTHONPATH", "")]))
    env["PYTHON"] = python
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


def run_evidence(config: Config, options: EvidenceOptions, write: Callable[[str], None] = lambda _: None) -> Evidence:
    """The whole ordered pipeline; returns the rows and writes logs/evidence.md and the audit block."""
    started_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    started = time.monotonic()
    repo = repo_root(config)
    logs = repo / "logs"
    logs.mkdir(exist_ok=True)
    git = git_state(repo)
    env_file = (options.env_file or config.root / ".env").resolve()
    run = _Run(config, options, repo, logs, write, _child_env(repo, options.python), env_file)
    rows: list[Row] = []

    def add(row: Row) -> Row:
        rows.append(row)
        write(f"{row.status:4}  {row.key}: {row.reason}")
        return row

    try:
        run.target = load_target(config, env_file if env_file.is_file() else config.root / ".env.example")
    except ChconformError as exc:
        write(f"cannot read the target from the env file: {exc}")
    add(_clean(run))
    add(_env(run))
    if run.target is not None and env_file.is_file():
        try:
            run.target = load_target(config, env_file)
        except ChconformError as exc:
            run.target = None
            write(f"cannot read the target from {env_file}: {exc}")
    cleaned = rows[0].status == OK and run.target is not None
    if cleaned:
        first = add(_bootstrap(run, "bootstrap_first", "bootstrap_first.log"))
        _insert_sentinels(run)
        add(_bootstrap(run, "bootstrap_second", "bootstrap_second.log"))
        idem, desc = _after_second(run)
        add(idem)
        add(desc)
        add(_access(run, first))
        add(_smoke(run))
    else:
        why = "not run: the data directory was not cleaned (see clean.log)"
        for key in ("bootstrap_first", "bootstrap_second", "idempotent", "describe", "access", "smoke"):
            add(Row(key, SKIP, why, ("clean.log",)))
    for row in _validate(run):
        add(row)
    add(_compileall(run))
    add(_pytest(run))
    add(_check(run))
    add(_docker(run))
    docs = add(_docs(run))
    add(_git(run, git))
    evidence = Evidence(tuple(rows), git, run.target.label() if run.target else "unknown (env file unreadable)",
                        run.version, started_at, round(time.monotonic() - started, 1))
    report = repo / AUDIT_REPORT
    if docs.status == OK or (report.is_file() and BEGIN_MARK in report.read_text(encoding="utf-8")):
        text = report.read_text(encoding="utf-8")
        new = replace_block(text, render_audit_block(evidence))
        if new != text:
            tmp = report.with_name(report.name + ".tmp")
            tmp.write_text(new, encoding="utf-8")
            tmp.replace(report)
    (logs / "evidence.md").write_text(render_markdown(evidence), encoding="utf-8")
    return evidence
