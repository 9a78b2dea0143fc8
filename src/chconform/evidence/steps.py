"""The steps of `chconform evidence` that run a command or look at files; each returns its checklist row.

Which scripts run, which documents must exist and what they must mention, where the logs go:
all from the repository's `[tool.chconform.evidence]` (chconform's own commands when unset).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chconform.checks.safety import project_roots
from chconform.config import Config
from chconform.errors import ChconformError
from chconform.evidence.bootstrap import Session, Target, access_source_of, bootstrap_plan, open_target
from chconform.evidence.checklist import FAIL, OK, SKIP, SKIP_ENV, EvidenceOptions, GitState, Row
from chconform.evidence.edges import (
    UnsafePath,
    docker_reachable,
    guard_removal,
    junit_summary,
    last_line,
    relative,
    remove_tree,
    run_logged,
)
from chconform.evidence.render import no_timing

__all__ = [
    "Run",
    "step_access",
    "step_bootstrap",
    "step_check",
    "step_clean",
    "step_compileall",
    "step_docker",
    "step_docs",
    "step_env",
    "step_git",
    "step_logs",
    "step_pytest",
    "step_smoke",
    "step_validate",
]

_FIXED_LOGS = ("clean.log", "env.log", "bootstrap_first.log", "bootstrap_sentinels.log", "bootstrap_second.log",
               "bootstrap_idempotency.log", "describe.log", "schema_validation.log", "schema_validation_prove.log",
               "compileall.log", "pytest.log", "pytest-junit.xml", "check.log", "docker_build.log", "docs.log",
               "git_status.log", "compose_down.log", "evidence.md")


def step_logs(config: Config) -> tuple[str, ...]:
    """Every log file a run writes (a new run removes the previous run's first)."""
    return (*_FIXED_LOGS, config.evidence.smoke_log)


@dataclass
class Run:
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

    def chconform(self, *args: str) -> list[str]:
        """A chconform command in a child process, on this run's configuration."""
        return [self.options.python, "-m", "chconform", *args, "--config", str(self.config.config_file)]

    def env_args(self) -> list[str]:
        """`--env-file` for the bootstrap and smoke steps, when there is one (the default target needs none)."""
        return ["--env-file", str(self.env_file)] if self.env_file.is_file() else []

    def script(self, configured: str | None, *default: str) -> list[str]:
        """The repository's wrapper script (bash, or python for .py) if configured, else chconform's own command."""
        if configured is None:
            return self.chconform(*default)
        path = str(self.repo / configured)
        return [self.options.python, path] if configured.endswith(".py") else ["bash", path]


def step_clean(run: Run) -> Row:
    lines = []
    for name in step_logs(run.config):
        (run.logs / name).unlink(missing_ok=True)
    for stale in run.logs.glob("describe_*.tsv"):
        stale.unlink()
    lines.append(f"removed the previous evidence files from {relative(run.logs, run.repo)}/")
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
    server_logs = run.config.evidence.server_logs
    folders = (run.target.data_dir, *((run.repo / server_logs,) if server_logs else ()))
    allowed = (*project_roots(run.repo, run.target.data_dir), *folders[1:])
    for path in folders:
        shown = relative(path, run.repo)
        try:
            safe = guard_removal(path, run.repo, allowed)
        except UnsafePath as exc:
            problems.append(str(exc))
            lines.append(f"REFUSED {exc}")
            continue
        existed = safe.exists()
        remove_tree(safe)
        lines.append(f"removed {shown}" if existed else f"{shown}: absent, nothing to remove")
    run.log("clean.log", "\n".join(lines) + "\n")
    if problems:
        return Row("clean", FAIL, "; ".join(problems), ("clean.log",))
    removed = " and ".join(relative(p, run.repo) for p in folders)
    return Row("clean", OK, f"removed {removed} (only inside the repository)", ("clean.log",))


def step_env(run: Run) -> Row:
    example = run.config.root / ".env.example"
    shown, shown_example = relative(run.env_file, run.repo), relative(example, run.repo)
    stable = ""
    if run.env_file.is_file():
        text = f"kept the existing {shown} (values are not logged)\n"
        status, reason = OK, f"{shown} exists; kept"
    elif run.options.env_file is not None:
        text = f"{shown} not found; it was given with --env-file, so it is not created\n"
        status, reason = FAIL, f"--env-file {shown} not found"
    elif not example.is_file():
        text = f"neither {shown} nor {shown_example}: the default target (embedded, <root>/data) needs no env file\n"
        status, reason = SKIP, f"no {shown_example}: the default embedded target needs no env file"
    else:
        fd = os.open(run.env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(example.read_text(encoding="utf-8"))
        text = f"created {shown} from {shown_example} (mode 600; values are not logged)\n"
        status, reason = OK, f"created {shown} from {shown_example}"
    if status == OK and run.options.env_file is None:  # created or kept: the same result for the tracked block
        stable = f"{shown} in place (created from {shown_example} when absent, kept otherwise)"
    run.log("env.log", text)
    return Row("env", status, reason, ("env.log",), stable)


def step_bootstrap(run: Run, key: str, log_name: str) -> Row:
    if (row := run.skipped(key, (log_name,))) is not None:
        return row
    cmd = run.script(run.config.evidence.bootstrap_script, "bootstrap")
    code, output = run_logged([*cmd, *run.env_args()], run.logs / log_name, run.repo,
                              run.env, run.options.step_timeout_s)
    summary = no_timing(last_line(output, "bootstrap:"))
    if code == 0:
        return Row(key, OK, summary, (log_name,))
    return Row(key, FAIL, f"exit {code if code is not None else 'timeout'}: {summary}", (log_name,))


def step_access(run: Run, first: Row) -> Row:
    if (row := run.skipped("access")) is not None:
        return row
    plan, _ = bootstrap_plan(run.config)
    source = access_source_of(run.config) or run.config.canonical
    n = sum(1 for src, stmt in plan if (src.path != run.config.canonical or source == run.config.canonical)
            and stmt.kind == "access")
    if n == 0:
        return Row("access", SKIP, "no role or grant statements to apply ([tool.chconform.bootstrap] access_source)",
                   ("bootstrap_first.log",))
    if run.target is not None and run.target.kind == "embedded":
        reachable, _ = docker_reachable()
        where = "no Docker engine reachable" if not reachable else "set CHCONFORM_TARGET=compose to verify them"
        return Row("access", SKIP, f"embedded target has no access storage: {n} role/grant statements skipped "
                   f"(listed in bootstrap_first.log); {where}", ("bootstrap_first.log",))
    output = (run.logs / "bootstrap_first.log").read_text(encoding="utf-8", errors="replace")
    skipped = sum(1 for ln in output.splitlines() if re.match(r"^\S+:\d+\s+SKIPPED\b", ln))
    if first.status == OK and skipped == 0:
        return Row("access", OK, f"{n} role/grant statements applied on the server", ("bootstrap_first.log",))
    return Row("access", FAIL, f"first bootstrap {first.status}; {skipped} statements skipped",
               ("bootstrap_first.log",))


def step_smoke(run: Run) -> Row:
    log = run.config.evidence.smoke_log
    if (row := run.skipped("smoke", (log,))) is not None:
        return row
    cmd = run.script(run.config.evidence.smoke_script, "smoke", "--dry-run")
    code, output = run_logged([*cmd, *run.env_args()], run.logs / log, run.repo, run.env,
                              run.options.step_timeout_s)
    summary = no_timing(last_line(output, "smoke:"))
    if code == 0:
        return Row("smoke", OK, summary, (log,))
    failed = [ln.split(None, 1)[1] for ln in output.splitlines() if ln.startswith("FAIL ")][:2]
    detail = f" ({'; '.join(failed)})" if failed else ""
    return Row("smoke", FAIL, f"exit {code if code is not None else 'timeout'}: {summary}{detail}"[:400], (log,))


def step_validate(run: Run) -> list[Row]:
    rows = []
    script = run.config.evidence.validate_script
    if (row := run.skipped("validate", ("schema_validation.log",))) is not None:
        rows.append(row)
    elif script is not None and not (run.repo / script).is_file():
        run.log("schema_validation.log", f"{script} is missing\n")
        rows.append(Row("validate", FAIL, f"{script} is missing (the static validator is not delivered)",
                        ("schema_validation.log",)))
    else:
        code, output = run_logged(run.script(script, "validate"), run.logs / "schema_validation.log", run.repo,
                                  run.env, run.options.step_timeout_s)
        passed = "Schema validation passed." in output
        if code == 0 and passed:
            rows.append(Row("validate", OK, "Schema validation passed.", ("schema_validation.log",)))
        else:
            why = last_line(output) if code != 0 else "exit 0 but no \"Schema validation passed.\" line"
            rows.append(Row("validate", FAIL, f"exit {code}: {why}"[:400], ("schema_validation.log",)))
    if (row := run.skipped("prove", ("schema_validation_prove.log",))) is not None:
        rows.append(row)
    else:
        code, output = run_logged(run.chconform("validate", "--prove"), run.logs / "schema_validation_prove.log",
                                  run.repo, run.env, run.options.step_timeout_s)
        if code == 0:
            rows.append(Row("prove", OK, no_timing(last_line(output)), ("schema_validation_prove.log",)))
        elif "invalid choice: 'validate'" in output:
            rows.append(Row("prove", FAIL,
                            "`chconform validate` is not available (the static validator is not delivered)",
                            ("schema_validation_prove.log",)))
        else:
            rows.append(Row("prove", FAIL, f"exit {code}: {last_line(output)}"[:400], ("schema_validation_prove.log",)))
    return rows


def step_compileall(run: Run) -> Row:
    if (row := run.skipped("compileall", ("compileall.log",))) is not None:
        return row
    dirs = [d for d in ("src", "scripts") if (run.repo / d).is_dir()]
    if not dirs:  # compileall without a folder would compile the interpreter's whole path
        run.log("compileall.log", "no src/ or scripts/ folder in the repository\n")
        return Row("compileall", SKIP, "no src/ or scripts/ folder to compile", ("compileall.log",))
    code, output = run_logged([run.options.python, "-m", "compileall", *dirs], run.logs / "compileall.log", run.repo,
                              run.env, run.options.step_timeout_s)
    if code == 0:
        return Row("compileall", OK, f"compiled {' and '.join(dirs)}", ("compileall.log",))
    return Row("compileall", FAIL, f"exit {code}: {last_line(output)}"[:400], ("compileall.log",))


def step_pytest(run: Run) -> Row:
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
    if code == 0:  # the tracked audit block names no count: a new test must not change it
        return Row("pytest", OK, summary, logs, "every test passed: no failure, no error (counts in the JUnit XML)")
    return Row("pytest", FAIL, f"exit {code if code is not None else 'timeout'}: {summary}", logs)


def step_check(run: Run) -> Row:
    if (row := run.skipped("check", ("check.log",))) is not None:
        return row
    code, output = run_logged(run.chconform("check"), run.logs / "check.log", run.repo, run.env,
                              run.options.step_timeout_s)
    last = last_line(output)
    if code == 0:
        return Row("check", OK, last, ("check.log",))
    return Row("check", FAIL, f"exit {code}: {last}"[:400], ("check.log",))


def step_docker(run: Run) -> Row:
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
    return Row("docker", FAIL, f"exit {code}: {last_line(output)}"[:400], ("docker_build.log",))


def _instructions(config: Config) -> tuple[str, ...]:
    ev = config.evidence
    return ev.instructions or (ev.bootstrap_script or "chconform bootstrap", ev.smoke_script or "chconform smoke",
                               ev.command)


def step_docs(run: Run) -> Row:
    ev = run.config.evidence
    if not (ev.docs or ev.audit_report or ev.instructed_docs):
        run.log("docs.log", "no documents configured ([tool.chconform.evidence] docs, audit_report, instructed_docs)\n")
        return Row("docs", SKIP, "no documents configured ([tool.chconform.evidence] docs, audit_report, "
                   "instructed_docs)", ("docs.log",))
    lines, problems = [], []
    for doc in ev.docs:
        present = (run.repo / doc).is_file()
        lines.append(f"{'OK  ' if present else 'FAIL'}  {doc} {'present' if present else 'missing'}")
        if not present:
            problems.append(f"{doc} missing")
    if ev.audit_report:
        report = run.repo / ev.audit_report
        text = report.read_text(encoding="utf-8") if report.is_file() else ""
        marked = ev.begin_marker in text and ev.end_marker in text
        lines.append(f"{'OK  ' if marked else 'FAIL'}  {ev.audit_report} " + (
            "has the evidence markers (block regenerated)" if marked else "missing or without the evidence markers"))
        if not marked:
            problems.append(f"{ev.audit_report} missing or without markers")
    wanted = _instructions(run.config)
    for doc in ev.instructed_docs:
        body = (run.repo / doc).read_text(encoding="utf-8") if (run.repo / doc).is_file() else ""
        absent = [s for s in wanted if s not in body]
        lines.append(f"{'OK  ' if not absent else 'FAIL'}  {doc} " + (f"mentions {', '.join(wanted)}" if not absent
                     else f"does not mention {', '.join(absent)}"))
        if absent:
            problems.append(f"{doc} does not mention {', '.join(absent)}")
    run.log("docs.log", "\n".join(lines) + "\n")
    if problems:
        return Row("docs", FAIL, "; ".join(problems), ("docs.log",))
    named = [*ev.docs, *([ev.audit_report] if ev.audit_report else [])]
    readers = " and ".join(ev.instructed_docs)
    listed = ", ".join([*named, readers] if readers else named)
    return Row("docs", OK, f"{listed} in place", ("docs.log",))


def step_git(run: Run, state: GitState) -> Row:
    if state.commit is None:
        run.log("git_status.log", "not a git work tree (no commit to record)\n")
        return Row("git", SKIP, "not a git work tree", ("git_status.log",))
    own = "".join(f"{ln}   (a previous run's own output: not counted)\n" for ln in state.own)
    run.log("git_status.log", f"commit {state.commit} ({state.branch})\n$ git status --porcelain\n"
            + "".join(f"{ln}\n" for ln in state.changes) + own)
    if state.clean:
        return Row("git", OK, "clean (the commit is in the table above)", ("git_status.log",))
    return Row("git", FAIL, f"{len(state.changes)} changed or untracked paths before the run", ("git_status.log",))


def child_env(repo: Path, python: str, held: tuple[Path, ...] = ()) -> dict[str, str]:
    """The steps' environment: this checkout's sources first, and the locks this run holds for them."""
    from chconform.evidence.runtime import HELD_ENV

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo / "src"), env.get("PYTHONPATH", "")]))
    env["PYTHON"] = python
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    if held:
        env[HELD_ENV] = os.pathsep.join(str(p) for p in held)
    return env


def load_or_none(config: Config, env_file: Path | None, write: Callable[[str], None]) -> Target | None:
    """The target named by the env file; None (and a line saying why) when it cannot be read."""
    from chconform.evidence.bootstrap import load_target

    try:
        return load_target(config, env_file)
    except ChconformError as exc:
        write(f"cannot read the target from {env_file}: {exc}")
        return None
