"""The edges of `chconform evidence`: child processes with logs, git, removals, Docker, JUnit files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from chconform.checks.safety import guard_path
from chconform.errors import ChconformError
from chconform.evidence.checklist import GitState

__all__ = [
    "UnsafePath",
    "docker_reachable",
    "git_state",
    "guard_removal",
    "junit_summary",
    "last_line",
    "porcelain_path",
    "relative",
    "remove_tree",
    "run_logged",
]


class UnsafePath(ChconformError):
    """A removal was refused: the path is outside the repository or holds tracked files."""


def relative(path: Path, repo: Path) -> str:
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
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
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


def last_line(output: str, prefix: str = "") -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip() and not ln.startswith("$ ")]
    if prefix:
        lines = [ln for ln in lines if ln.startswith(prefix)] or lines
    return lines[-1] if lines else "no output"


def porcelain_path(line: str) -> str:
    """The path of one `git status --porcelain` line (the new name of a rename), without a folder's slash."""
    path = line[3:].split(" -> ")[-1].strip()
    if len(path) >= 2 and path[0] == path[-1] == '"':
        path = path[1:-1]
    return path.rstrip("/")


def git_state(repo: Path, own: Callable[[str, str], bool] = lambda path, head: False) -> GitState:
    """Commit, branch and `git status`; a change `own(path, text at HEAD)` calls the run's own output is set apart."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, timeout=60)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != repo.resolve():
            return GitState(None)
        commit = git("rev-parse", "HEAD").stdout.strip() or None
        branch = git("rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
        status = git("status", "--porcelain")
        counted: list[str] = []
        mine: list[str] = []
        for line in (ln for ln in status.stdout.splitlines() if ln.strip()):
            path = porcelain_path(line)
            head = git("show", f"HEAD:{path}").stdout if "M" in line[:2] else ""
            (mine if own(path, head) else counted).append(line)
    except (OSError, subprocess.TimeoutExpired):
        return GitState(None)
    return GitState(commit, branch, tuple(counted), tuple(mine))


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
        raise UnsafePath(f"refusing to remove {relative(resolved, root)}: it holds files tracked by git ({first})")
    return resolved


def remove_tree(path: Path) -> None:
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
        return False, last_line(probe.stderr or probe.stdout)
    return True, probe.stdout.strip()


def junit_summary(path: Path) -> str:
    """`N tests: F failures, E errors, S skipped` from a JUnit XML file."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return "no readable JUnit XML"
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    return f"{total['tests']} tests: {total['failures']} failures, {total['errors']} errors, {total['skipped']} skipped"
