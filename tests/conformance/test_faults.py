"""Faults cost one source, not the run: each is injected into one source of a four-source run.

The faulty source is reported with the cause; every other source still gets
its verdict (OK). Injected: the worker killed by SIGKILL and by SIGSEGV (chDB's
crash handlers are off, so a segfault is an exit, not a hang), a worker frozen
past timeout_s (SIGSTOP, killed by the wall clock), a query past timeout_s
(stopped by the engine), SYSTEM SHUTDOWN (refused; and with every layer off,
the engine's exit), an out-of-memory query. Ctrl-C on `chconform check` leaves
no worker process and no temporary directory behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chconform.checks.run import RunResult, run_check
from chconform.config import Config, load_config
from chconform.engines.embedded import EmbeddedBackend, Hardening, Worker
from chconform.reports.render import render_source
from tests.reliability import normalise, record

pytestmark = pytest.mark.engine

TABLE = "CREATE TABLE IF NOT EXISTS zakaz.t (id UInt64, name String) ENGINE = MergeTree ORDER BY id;\n"


class FaultyInstance:
    """Delegates to a real instance; a statement carrying a marker first injects its fault into the worker."""

    def __init__(self, inner: Any, faults: dict[str, Callable[[Worker], None]]) -> None:
        self.inner, self.faults = inner, faults

    def execute(self, sql: str, timeout: float | None = None) -> None:
        for marker, inject in self.faults.items():
            if marker in sql:
                inject(self.inner.worker)
        self.inner.execute(sql, timeout)

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        return self.inner.query(sql, timeout)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.inner.close()


class FaultyBackend:
    """The real embedded backend whose instances inject faults on marked statements."""

    def __init__(self, inner: EmbeddedBackend, faults: dict[str, Callable[[Worker], None]]) -> None:
        self.inner, self.faults = inner, faults
        self.name, self.supports_access_control = inner.name, inner.supports_access_control

    @property
    def sandbox(self) -> str:
        return self.inner.sandbox

    def instance(self) -> FaultyInstance:
        return FaultyInstance(self.inner.instance(), self.faults)

    def version(self) -> str:
        return self.inner.version()

    def close(self) -> None:
        self.inner.close()


def four_sources(root: Path, fault_sql: str, timeout_s: float = 60) -> Config:
    """canonical.sql, two good sources and fault.sql (the table, then the faulty statement)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("canonical.sql", "good_a.sql", "good_b.sql"):
        (root / name).write_text(TABLE, encoding="utf-8")
    (root / "fault.sql").write_text(TABLE + "\n" + fault_sql + "\n", encoding="utf-8")
    sources = "".join(f'\n[[source]]\npath = "{n}"\nrole = "migration"\n'
                      for n in ("canonical.sql", "good_a.sql", "fault.sql", "good_b.sql"))
    (root / "chconform.toml").write_text(
        f'root = "."\ncanonical = "canonical.sql"\nprelude = ["CREATE DATABASE IF NOT EXISTS zakaz"]\n'
        f"timeout_s = {timeout_s}\n{sources}", encoding="utf-8")
    return load_config(root / "chconform.toml")


def only_the_fault_fails(result: RunResult, name: str, cause: str) -> str:
    """Assert the verdicts; return fault.sql's first finding line for the table."""
    by_path = {s.path: s for s in result.sources}
    assert set(by_path) == {"canonical.sql", "good_a.sql", "fault.sql", "good_b.sql"}
    shown = "\n".join(f"{s.path}: {'OK' if s.ok else 'FAIL'}\n  " + "\n  ".join(render_source(s)) for s in result.sources)
    for path in ("canonical.sql", "good_a.sql", "good_b.sql"):
        assert by_path[path].ok, f"{name}: {path} lost its verdict\n{shown}"
    fault = by_path["fault.sql"]
    assert not fault.ok, shown
    lines = render_source(fault)
    assert any(cause in line for line in lines), shown
    assert all(e.line == 3 for e in fault.errors), shown  # the faulty statement, not a neighbour
    return next(line for line in lines if cause in line)


def _shutdown(worker: Worker) -> None:
    worker.call({"sql": "SYSTEM SHUTDOWN", "fmt": "TabSeparated"}, 30, "running a statement")


def kill_with(signum: int) -> Callable[[Worker], None]:
    return lambda worker: worker.signal_group(signum)


FAULTS: dict[str, tuple[str, str, dict[str, Callable[[Worker], None]], str, dict[str, Any]]] = {
    # name: (what, the faulty statement, injections, expected cause, backend options)
    "worker_sigkill": ("the worker killed by SIGKILL (as the OOM killer would) mid-source",
                       "CREATE TABLE zakaz.k /* inject:sigkill */ (a UInt8) ENGINE = Memory;",
                       {"inject:sigkill": kill_with(signal.SIGKILL)}, "killed by signal SIGKILL", {}),
    "worker_segfault": ("the worker gets SIGSEGV: an exit the run sees, not a hang",
                        "CREATE TABLE zakaz.s /* inject:segv */ (a UInt8) ENGINE = Memory;",
                        {"inject:segv": kill_with(signal.SIGSEGV)}, "killed by signal SIGSEGV", {}),
    "worker_frozen": ("the worker stops answering (SIGSTOP) past timeout_s: killed by the wall clock",
                      "CREATE TABLE zakaz.f /* inject:freeze */ (a UInt8) ENGINE = Memory;",
                      {"inject:freeze": kill_with(signal.SIGSTOP)}, "TIMEOUT", {"timeout_s": 8}),  # the others snapshot under a 7 s limit
    "query_past_timeout": ("a query running past timeout_s: stopped by the engine's own limit, set below the wall clock",
                           "SELECT sleepEachRow(0.5) FROM numbers(100) SETTINGS max_block_size = 1;",
                           {}, "TIMEOUT_EXCEEDED", {"timeout_s": 12}),  # engine limit 10 s, wall clock 12 s: 2 s no load eats
    "system_shutdown": ("SYSTEM SHUTDOWN in a source: refused, never reaches the engine",
                        "SYSTEM SHUTDOWN;", {}, "REFUSED", {}),
    "system_shutdown_unguarded": ("SYSTEM SHUTDOWN reaching an engine with every layer off: it exits, one source lost",
                                  "CREATE TABLE zakaz.u /* inject:shutdown */ (a UInt8) ENGINE = Memory;",
                                  {"inject:shutdown": lambda worker: _shutdown(worker)},
                                  "killed by signal SIGTERM",
                                  {"hardening": Hardening(gate=False, privileges=False, constraints=False, landlock=False)}),
    "out_of_memory": ("a query needing more memory than the engine may use",
                      "SELECT count() FROM (SELECT groupArray(number) AS a FROM numbers(100000000));",
                      {}, "MEMORY_LIMIT_EXCEEDED", {"hardening": Hardening(memory_bytes=512 << 20)}),
}

CTRL_C = "Ctrl-C during `chconform check` with two sources running"
PARENT_KILLED = "the process that started the workers is killed with SIGKILL (no cleanup runs in it)"
STALE = "worker directories left by a process killed with SIGKILL, found at the next start"
FAULT_CASES = [*FAULTS, "ctrl_c", "parent_killed", "stale_directories"]  # the "fault" rows of docs/RELIABILITY.md


def reliability_rows() -> dict[tuple[str, str], str]:
    """The rows of docs/RELIABILITY.md these tests observe (tests/reliability.py)."""
    rows = {("fault", name): FAULTS[name][0] for name in FAULTS}
    rows.update({("fault", "ctrl_c"): CTRL_C, ("fault", "parent_killed"): PARENT_KILLED,
                 ("fault", "stale_directories"): STALE})
    return rows


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_fault_costs_one_source(name: str, tmp_path: Path) -> None:
    what, fault_sql, faults, cause, options = FAULTS[name]
    timeout_s = options.pop("timeout_s", 60) if "timeout_s" in options else 60
    config = four_sources(tmp_path / "repo", fault_sql, timeout_s)
    inner = EmbeddedBackend(timeout_s=config.timeout_s, **{k: v for k, v in options.items() if k != "timeout_s"})
    backend = FaultyBackend(inner, faults)
    try:
        result = run_check(config, backend, jobs=2)
    finally:
        backend.close()
    line = only_the_fault_fails(result, name, cause)
    record("fault", name, what, normalise(line, tmp_path) + "; every other source: OK", FAULT_CASES)


def _workers_under(root: Path) -> list[int]:
    """Live worker processes whose directory is beneath `root` (ours only, never anyone else's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"chconform.engines._worker" in argv and any(a.startswith(str(root).encode()) for a in argv):
            found.append(int(entry.name))
    return found


def test_ctrl_c_leaves_no_worker_and_no_temporary_directory(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    slow = "SELECT sleepEachRow(0.5) FROM numbers(100) SETTINGS max_block_size = 1;"
    config = four_sources(tmp_path / "repo", slow)
    for name in ("good_a.sql", "good_b.sql"):
        (config.root / name).write_text(TABLE + slow + "\n", encoding="utf-8")
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-m", "chconform", "check", "--config", str(config.config_file), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        while len(list(scratch.rglob("zakaz.sql"))) < 2 and proc.poll() is None:  # two sources are being applied
            select_wait(0.1)
        if proc.poll() is not None:  # say why, rather than only that no worker was found
            out, err = proc.communicate()
            raise AssertionError(f"the run ended (exit {proc.returncode}) before it could be interrupted:\n{out}{err}")
        assert len(_workers_under(scratch)) >= 2
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert err.strip().splitlines() == ["chconform: interrupted"], err
    assert "Traceback" not in out + err
    assert _workers_under(scratch) == []
    assert sorted(p.name for p in scratch.iterdir()) == []
    record("fault", "ctrl_c", CTRL_C,
           "exit 130: chconform: interrupted; no worker process and no temporary directory left", FAULT_CASES)


def select_wait(seconds: float) -> None:
    """Sleep without a timed assertion: polling a condition the test then asserts."""
    import select

    select.select([], [], [], seconds)


# A parent that starts a backend with `die_with_parent` as given, opens an instance busy with a slow query
# (from a pool thread that then ends: the signal must follow the process, not that thread), says its
# worker's pid and its directory, and waits to be killed.
_PARENT = """
import sys, threading
from concurrent.futures import ThreadPoolExecutor
from chconform.engines.embedded import EmbeddedBackend, Hardening
backend = EmbeddedBackend(prestart=False, scratch_root=sys.argv[1], hardening=Hardening(die_with_parent=sys.argv[2] == "1"))
with ThreadPoolExecutor(1) as pool:
    instance = pool.submit(backend.instance).result()
worker = instance.worker
worker._send({"sql": "SELECT sleepEachRow(1) FROM numbers(600) SETTINGS max_block_size = 1", "fmt": "Null"}, "busy")
print(worker.proc.pid, worker.workdir, flush=True)
threading.Event().wait()
"""


def _start_parent(scratch: Path, die_with_parent: bool) -> tuple[subprocess.Popen[str], int, Path]:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(scratch), "1" if die_with_parent else "0"],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert parent.stdout is not None
    pid_text, workdir = parent.stdout.readline().split()
    return parent, int(pid_text), Path(workdir)


def _gone_within(pid: int, seconds: float) -> bool:
    """Whether the process ends within a generous bound (polled; nothing is asserted after a fixed delay)."""
    import time

    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        select_wait(0.05)
    return False


def test_workers_die_with_the_process_that_started_them(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    parent, worker, workdir = _start_parent(scratch, die_with_parent=True)
    assert workdir.parent == scratch and _workers_under(scratch) == [worker]
    parent.kill()
    parent.wait()
    assert _gone_within(worker, 60), "the worker outlived its parent"
    record("fault", "parent_killed", PARENT_KILLED, "its busy worker is killed with it (PR_SET_PDEATHSIG)",
           FAULT_CASES)


def test_without_the_parent_death_signal_a_worker_outlives_its_parent(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    parent, worker, _ = _start_parent(scratch, die_with_parent=False)
    try:
        parent.kill()
        parent.wait()
        assert not _gone_within(worker, 3), "the worker died with its parent even without the signal"
    finally:
        for pid in _workers_under(scratch):
            os.killpg(pid, signal.SIGKILL)  # ours: its own session, started above


def test_stale_worker_directories_are_removed_at_the_next_start(tmp_path: Path) -> None:
    from chconform.engines import embedded

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    parent, worker, workdir = _start_parent(scratch, die_with_parent=True)
    parent.kill()
    parent.wait()
    assert _gone_within(worker, 60)
    assert workdir.is_dir(), "a SIGKILLed parent cleans nothing up: its worker's directory stays"
    foreign = scratch / "chconform-not-a-worker"  # no owner file: never touched
    foreign.mkdir()
    alive = scratch / "chconform-alive"  # owned by this (living) process: kept
    alive.mkdir()
    (alive / "owner").write_text(f"{os.getpid()} {embedded._started(os.getpid())}\n")
    embedded._SWEPT.discard(os.path.realpath(scratch))
    backend = EmbeddedBackend(prestart=False, scratch_root=str(scratch))
    backend.close()
    assert not workdir.exists()
    assert foreign.is_dir() and alive.is_dir()
    record("fault", "stale_directories", STALE,
           "removed when the next backend starts; directories of living processes and others' untouched", FAULT_CASES)
