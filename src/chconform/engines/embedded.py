"""The default backend: the real ClickHouse engine embedded via chDB (PyPI chdb-core), hardened.

Each instance is a worker process hosting one chDB session, so a hang is killed
on timeout and a crash costs one source, not the run. Sources are untrusted
(they come from pull requests), so the engine runs in layers, each of which
stops hostile SQL on its own (docs/RELIABILITY.md):

  gate        every statement is parsed by ClickHouse's own parser
              (`parseQueryToJSON`) and judged by chconform.gate.policy before it runs;
  privileges  a users file grants the default user only what DDL conformance
              needs: no FILE / URL / S3 / REMOTE sources, no access management;
              the default database is a plain Atomic one, not the file overlay;
  constraints resource limits and every setting that names a file or a URL
              are locked with <const/>, so SET / SETTINGS cannot lift them;
  process     own session, scrubbed environment, own empty directories,
              wall-clock timeout and killpg(SIGKILL); crash handlers off so a
              segfault is an exit; a worker hosts sessions one after another,
              each in a fresh directory, and is replaced after
              `sessions_per_worker` of them (before chDB's per-session leaks
              matter) or after any timeout or crash; a reused worker's new
              session is probed to be as fresh as its first before use;
  landlock    where the kernel offers it: read only system, interpreter and
              package paths, write only the worker's directories, no exec, no TCP.

Workers are started, and their next sessions opened, in the background while
the current instances work, so a source rarely waits for chDB to import or for
a session to open (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from chconform.engines.base import rows_from_json_each_row
from chconform.engines.releases import NEWEST, Release, default_release, get_release, installation, known_settings
from chconform.engines.server_defaults import ServerProfile, config_fragment, profile_settings
from chconform.errors import EngineCrashed, EngineError, EngineTimeout, EnvironmentUnusable
from chconform.gate.decide import refusal
from chconform.gate.parse import EngineReply
from chconform.gate.policy import GateStopped, judge_many

__all__ = ["judge_for_servers", "EmbeddedBackend", "EmbeddedInstance", "Worker", "Hardening", "engine_files", "GRANTS"]

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_STARTUP_TIMEOUT = 120.0
_LIVE: set[Worker] = set()
_INTERRUPTED = threading.Event()
SESSIONS_PER_WORKER = 20  # sessions per worker: each leaks ~5 threads and ~5 file descriptors in chDB
# What a fresh session holds: a reused worker's session must show the same. (SQL functions live in the
# data directory and start empty with it: tests/conformance/test_worker_reuse.py; counting them costs 14 ms.)
_FRESH_PROBE = ("SELECT (SELECT groupArray(name) FROM (SELECT name FROM system.databases ORDER BY name)), "
                "(SELECT count() FROM system.tables WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', "
                "'information_schema')), (SELECT count() FROM system.named_collections)")
# Gate verdicts by statement text: parsing is deterministic, so a text is parsed once per process.
_VERDICTS: dict[str, Any] = {}
_VERDICTS_MAX = 200_000

GRANTS = ("SHOW, SELECT, INSERT, ALTER TABLE, ALTER VIEW, CREATE DATABASE, CREATE TABLE, CREATE VIEW, "
          "CREATE DICTIONARY, CREATE FUNCTION, DROP, TRUNCATE, OPTIMIZE, dictGet")
# Profile settings locked with <const/>: a source's SET or SETTINGS gets SETTING_CONSTRAINT_VIOLATION.
_CONST_SETTINGS = {
    "allow_python_table_function": "0",
    "allow_experimental_eval_table_function": "0",
    "allow_introspection_functions": "0",
    "timeout_overflow_mode": "throw",
    "format_template_resultset": "",
    "format_template_row": "",
    "format_schema": "",
    "output_format_schema": "",
    "input_format_record_errors_file_path": "",
    "format_avro_schema_registry_url": "",
    "url_base": "",
    "dynamic_disk_allow_from_env": "0",
    "dynamic_disk_allow_include": "0",
    "into_outfile_create_parent_directories": "0",
    "function_sleep_max_microseconds_per_block": "3000000",
    "prefer_localhost_replica": "1",  # a Distributed table reads its one-node cluster's local table, never a socket
    "result_overflow_mode": "throw",  # "break" would cut a result short at max_result_rows, silently
    # no spilling to disk: chDB 26.9 writes a sort's or an aggregation's spill without counting it against
    # max_temporary_data_on_disk_size(_for_query) (measured: 36 MB under an 8 MiB bound), so the memory
    # limits bound those queries instead (MEMORY_LIMIT_EXCEEDED)
    "max_bytes_before_external_sort": "0",
    "max_bytes_ratio_before_external_sort": "0",
    "max_bytes_before_external_group_by": "0",
    "max_bytes_ratio_before_external_group_by": "0",
    "max_bytes_before_external_distinct": "0",
    "max_bytes_ratio_before_external_distinct": "0",
    "max_bytes_before_external_join": "0",
    "max_bytes_ratio_before_external_join": "0",
    "join_algorithm": "direct,parallel_hash,hash",  # no grace_hash / partial_merge: they spill
    "enable_adaptive_memory_spill_scheduler": "0",
}
# chDB's signal handlers are off (a segfault must exit), so no profiler timer signals either.
_ALWAYS_SETTINGS = {"query_profiler_real_time_period_ns": "0", "query_profiler_cpu_time_period_ns": "0"}
# /proc is granted by the worker itself (its own entry and host-wide files: _worker.proc_paths)
_SYSTEM_READ = ["/usr", "/lib", "/lib64", "/lib32", "/etc/localtime", "/etc/ld.so.cache",
                "/sys/fs/cgroup", "/sys/devices/system/cpu", "/sys/devices/system/node", "/dev/urandom",
                "/dev/random", "/dev/zero"]


@dataclass(frozen=True)
class Hardening:
    """Which layers are on (all, by default; tests switch one on at a time) and the resource limits."""

    gate: bool = True
    privileges: bool = True
    constraints: bool = True
    landlock: bool = True
    # chconform's own queries (snapshot, counts, describes) and the gate's parses in a session of their own
    verdict_session: bool = True
    drop_results: bool = True  # a statement's rows are discarded in the worker, never sent to the parent
    narrow_proc: bool = True  # Landlock grants the worker's own /proc entry and host-wide files, not all of /proc
    die_with_parent: bool = True  # PR_SET_PDEATHSIG: a worker is killed when the process that started it dies
    memory_bytes: int = 4 << 30  # per query and per engine
    max_file_bytes: int = 8 << 30  # RLIMIT_FSIZE: no single file larger than this
    temp_disk_bytes: int = 2 << 30  # spill to disk per query, per engine (the server's bound on tmp_path)
    result_rows: int = 100_000_000  # rows of one query's result (a source's statements' results are dropped)
    disk_bytes: int = 4 << 30  # the worker's directory (data, temporary files); past it the worker is killed; 0: none


class _Spawner:
    """Starts every worker from one long-lived thread.

    The kernel sends the parent-death signal when the *thread* that forked the worker ends, not the
    process: a worker started from a pool thread of a finished run would die under its next source.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[subprocess.Popen[bytes]], list[str], dict[str, Any]]] = \
            queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def popen(self, args: list[str], **options: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():  # first use, or a forked child
                self._thread = threading.Thread(target=self._run, name="chconform-spawner", daemon=True)
                self._thread.start()
        done: Future[subprocess.Popen[bytes]] = Future()
        self._jobs.put((done, args, options))
        return done.result()

    def _run(self) -> None:
        while True:
            done, args, options = self._jobs.get()
            try:
                done.set_result(subprocess.Popen(args, **options))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
                done.set_exception(exc)


_SPAWNER = _Spawner()
_OWNER_FILE = "owner"  # "<pid> <start time>" of the process that made a worker directory


def _started(pid: int) -> str:
    """A process's start time in clock ticks since boot ("" if it is gone): a pid with it names one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mark_owner(workdir: str) -> None:
    Path(workdir, _OWNER_FILE).write_text(f"{os.getpid()} {_started(os.getpid())}\n", encoding="utf-8")


def sweep_stale(root: str | None = None) -> list[str]:
    """Remove worker directories under `root` (default: the temporary directory) whose owner process is gone.

    Only directories this user owns, named like a worker's and holding an owner file whose process is
    dead (or whose pid now names another process) are removed; the removed paths are returned.
    """
    base = Path(root or tempfile.gettempdir())
    removed: list[str] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith("chconform-"):
            continue
        try:
            if entry.is_symlink() or not entry.is_dir() or entry.stat().st_uid != os.getuid():
                continue
            pid_text, _, started = Path(entry, _OWNER_FILE).read_text(encoding="utf-8").strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue  # not a worker directory, or one being made right now
        if pid > 0 and (_started(pid) == started if started else _alive(pid)):
            continue  # its owner is alive
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(str(entry))
    return removed


_SWEPT: set[str] = set()
_DISK_CHECK_S = 1.0  # how often a busy worker's directory is measured


def _disk_usage(root: str) -> int:
    """Bytes allocated beneath `root` (blocks, not apparent sizes); files vanishing meanwhile are skipped."""
    total = 0
    for top, dirs, files in os.walk(root, onerror=lambda _: None):
        for name in files + dirs:
            try:
                total += os.lstat(os.path.join(top, name)).st_blocks * 512
            except OSError:
                pass
    return total


def _sweep_once(root: str | None) -> None:
    """At a process's first backend on a directory: remove what dead runs left there (SIGKILL, power loss)."""
    key = os.path.realpath(root or tempfile.gettempdir())
    if key not in _SWEPT:
        _SWEPT.add(key)
        sweep_stale(key)


def _kill_all() -> None:
    for worker in list(_LIVE):
        worker.kill()


atexit.register(_kill_all)


def _on_interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C: stop every worker now (their readers see EOF) and start no new one, then interrupt."""
    _INTERRUPTED.set()
    for worker in list(_LIVE):
        worker.signal_group(signal.SIGKILL)
    raise KeyboardInterrupt


def limit_settings(hardening: Hardening, timeout_s: float) -> dict[str, str]:
    """The resource limits of the profile: each bounded above and below by a constraint, so none can be lifted."""
    seconds = max(1, int(timeout_s * 0.9))  # below the wall clock: the engine stops a query and lives on
    return {"max_execution_time": str(seconds),
            "max_memory_usage": str(hardening.memory_bytes),
            "max_memory_usage_for_user": str(hardening.memory_bytes),
            "max_temporary_data_on_disk_size_for_query": str(hardening.temp_disk_bytes),
            "max_temporary_data_on_disk_size_for_user": str(hardening.temp_disk_bytes),
            "max_result_rows": str(hardening.result_rows),
            "max_result_bytes": str(hardening.memory_bytes // 4)}


def engine_files(workdir: str, hardening: Hardening, timeout_s: float,
                 known: frozenset[str] | None = None, server: ServerProfile | None = None) -> dict[str, str]:
    """config.xml and users.xml of one engine: paths inside the worker's own directory, the users layer.

    `known`: the settings an older release knows; one it lacks is left out (a source cannot set it either,
    and the release refuses a users file naming it).
    """
    etc = os.path.join(workdir, "etc")
    config = "\n".join([
        "<clickhouse>",
        f"  <users_config>{escape(os.path.join(etc, 'users.xml'))}</users_config>",
        f"  <user_files_path>{escape(os.path.join(workdir, 'user_files'))}/</user_files_path>",
        f"  <format_schema_path>{escape(os.path.join(workdir, 'user_files'))}/</format_schema_path>",
        f"  <tmp_path>{escape(os.path.join(workdir, 'tmp'))}/</tmp_path>",
        f"  <max_server_memory_usage>{hardening.memory_bytes}</max_server_memory_usage>",
        f"  <max_temporary_data_on_disk_size>{hardening.temp_disk_bytes}</max_temporary_data_on_disk_size>",
        "  <dictionaries_lazy_load>1</dictionaries_lazy_load>",
        *config_fragment(server or ServerProfile()),  # a default server's pools, clusters, macros, [settings]
        "</clickhouse>",
        "",
    ])
    settings: dict[str, str] = {**profile_settings(server or ServerProfile()), **_ALWAYS_SETTINGS}
    constraints: list[str] = []
    if hardening.constraints:
        limits = limit_settings(hardening, timeout_s)
        settings.update({**limits, **_CONST_SETTINGS})
        # 0 means "no limit" for each of them: <min>1</min> refuses it (and a negative value, read as 0 or huge)
        constraints = [f"<{k}><min>1</min><max>{v}</max></{k}>" for k, v in limits.items()]
        constraints += [f"<{k}><const/></{k}>" for k in _CONST_SETTINGS]
    if known is not None:
        settings = {k: v for k, v in settings.items() if k in known}
        constraints = [c for c in constraints if c[1:].split(">", 1)[0] in known]
    # Distributed over the engine's own one-node clusters (server_defaults.py): its grant names that engine only
    grants = (f"<grants><query>GRANT {GRANTS} ON *.*</query><query>GRANT TABLE ENGINE ON Distributed</query></grants>"
              if hardening.privileges else "")
    users = "\n".join([
        "<clickhouse>",
        "  <profiles><default>",
        *(f"    <{k}>{escape(v)}</{k}>" for k, v in settings.items()),
        "    <constraints>",
        *(f"      {c}" for c in constraints),
        "    </constraints>",
        "  </default></profiles>",
        "  <users><default>",
        "    <password></password>",
        "    <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>",
        "    <profile>default</profile><quota>default</quota>",
        "    <access_management>0</access_management>",
        f"    {grants}",
        "  </default></users>",
        "  <quotas><default></default></quotas>",
        "</clickhouse>",
        "",
    ])
    return {"config.xml": config, "users.xml": users}


def _read_paths(workdir: str, release_path: str | None = None) -> list[str]:
    """Interpreter, packages, this package, the release's installation and the system libraries; nothing of the user's."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, _PACKAGE_PARENT,
             os.path.dirname(os.path.realpath(sys.executable)), os.path.join(workdir, "etc")}
    if release_path:
        paths.add(release_path)
    paths.update(p for p in sysconfig.get_paths().values() if p)
    paths.update(_SYSTEM_READ)
    paths.update(os.path.realpath(p) for p in list(paths))
    return sorted(p for p in paths if os.path.exists(p))


def _remember(sql: str, verdict: Any) -> Any:
    """Parsing is deterministic: a text's verdict is kept for the rest of the process."""
    if len(_VERDICTS) < _VERDICTS_MAX:
        _VERDICTS[sql] = verdict
    return verdict


class _ParseStopped(Exception):
    """The parsing worker stopped (timeout, crash) before answering the text at `index`."""

    def __init__(self, index: int, error: EngineError) -> None:
        super().__init__(str(error))
        self.index, self.error = index, error


class _WorkerEngine:
    """chconform.gate.parse.Engine over a worker: one parse_many request per call, in its verdict session."""

    def __init__(self, worker: Worker, deadline: float | None, what: str) -> None:
        self.worker, self.deadline, self.what = worker, deadline, what

    def call(self, function: str, texts: Sequence[str]) -> list[EngineReply]:
        self.worker._send({"op": "parse_many", "sql": list(texts), "function": function}, self.what)
        replies = []
        for i in range(len(texts)):
            try:
                reply = self.worker._receive(self.deadline, self.what)
            except (EngineTimeout, EngineCrashed) as exc:
                raise _ParseStopped(i, exc) from None
            replies.append(EngineReply(str(reply["ok"]), "") if "error" not in reply else
                           EngineReply(None, str(reply["error"])))
        return replies


class _At(Exception):
    """A timeout or crash while parsing `sql` ahead of a batch."""

    def __init__(self, sql: str, error: EngineError) -> None:
        super().__init__(sql)
        self.sql, self.error = sql, error


class Worker:
    """A child process speaking length-prefixed JSON frames (see _worker.py)."""

    def __init__(self, scratch_root: str | None = None, data_dir: str | None = None,
                 hardening: Hardening | None = None, timeout_s: float = 60.0,
                 release: Release | None = None, release_path: str | None = None,
                 parse_service: _ParseService | None = None, server: ServerProfile | None = None) -> None:
        """`data_dir`: a persistent chDB data directory (bootstrap); default: a fresh one inside workdir.

        `release`: the ClickHouse release to run (default: the environment's own chdb), from `release_path`
        (its isolated installation, first on the worker's path; None: the environment's own).
        `parse_service`: where the gate's parses go (a release without parseQueryToJSON); default: here.
        """
        if _INTERRUPTED.is_set():
            raise EnvironmentUnusable("interrupted: no new engine is started")
        self.hardening = hardening or Hardening()
        self.workdir = tempfile.mkdtemp(prefix="chconform-", dir=scratch_root)
        _mark_owner(self.workdir)  # a later start removes it if this process dies without doing so
        for sub in ("tmp", "etc", "user_files"):
            os.makedirs(os.path.join(self.workdir, sub))
        db = data_dir or os.path.join(self.workdir, "db")
        os.makedirs(db, exist_ok=True)  # Landlock grants only paths that exist
        files = engine_files(self.workdir, self.hardening, timeout_s, known_settings(release_path), server)
        for name, text in files.items():
            Path(self.workdir, "etc", name).write_text(text, encoding="utf-8")
        config_file = os.path.join(self.workdir, "etc", "config.xml")
        plan = {
            "connect": f"file:{db}?config-file={config_file}",
            "session_root": db,
            "session_connect": f"file:{{path}}?config-file={config_file}",
            # a fresh engine's default database is an overlay that reads host files as tables; a throwaway
            # engine needs no durable metadata (fsync per CREATE: ~10-15% of a DDL's time on an ext4 disk)
            "on_open": [] if data_dir else ["SET fsync_metadata = 0", "DROP DATABASE IF EXISTS default",
                                            "CREATE DATABASE default ENGINE = Atomic"],
            "landlock": self.hardening.landlock,
            "read": _read_paths(self.workdir, release_path),
            "write": [db, os.path.join(self.workdir, "tmp"), os.path.join(self.workdir, "user_files"), "/dev/null"],
            "max_file_bytes": self.hardening.max_file_bytes,
            "narrow_proc": self.hardening.narrow_proc,
            "verdict_session": self.hardening.verdict_session,
            "drop_results": self.hardening.drop_results,
            "parent_pid": os.getpid() if self.hardening.die_with_parent else 0,
        }
        Path(self.workdir, "etc", "worker.json").write_text(json.dumps(plan), encoding="utf-8")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.workdir,
            "TMPDIR": os.path.join(self.workdir, "tmp"),
            "LANG": "C.UTF-8",
            # the release's installation first: its `chdb` shadows the environment's own
            "PYTHONPATH": os.pathsep.join(p for p in (release_path, _PACKAGE_PARENT) if p),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
        }
        self._stderr = open(os.path.join(self.workdir, "stderr.log"), "wb")
        self.proc = _SPAWNER.popen(
            [sys.executable, "-m", "chconform.engines._worker", self.workdir],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=self.workdir,
            env=env,
            start_new_session=True,
        )
        _LIVE.add(self)
        self.release = release
        self.parse_service = parse_service
        self.version = ""
        self.sandbox = "none"
        self.sandbox_detail = ""
        self.sessions = 0  # sessions opened by name (open_session)
        self.fresh = ""  # what _FRESH_PROBE saw in the first session
        # where chconform's own queries run (_worker._Sessions.open): "own" session, the source's "shared" one put
        # back to its start for them (chdb 3.x: ClickHouse 24.8, 25.8), or the "same" (verdict session off)
        self.verdict = ""
        self.owed = 0  # replies requested and not read yet: a worker that owes one is never reused
        self._sent = 0  # requests sent; each reply names its request
        self._due: deque[int] = deque()  # the request id of every reply still to come, in order
        self._ready = False
        # the worker's directory (its data, temporary files, logs) may not grow past this; 0: no bound
        self._disk_bound = 0 if data_dir else self.hardening.disk_bytes
        self._disk_checked = time.monotonic()

    def wait_ready(self) -> None:
        if not self._ready:
            reply = self._receive(time.monotonic() + _STARTUP_TIMEOUT, "starting the engine")
            self.version = str(reply.get("version", ""))
            self.sandbox = str(reply.get("sandbox", "none"))
            self.sandbox_detail = str(reply.get("sandbox_detail", ""))
            self._ready = True
            if self.release is not None and not self.version.startswith(self.release.clickhouse):
                self.kill()
                raise EnvironmentUnusable(f"{self.release.label}: the worker runs ClickHouse {self.version or '?'}, "
                                          f"not {self.release.clickhouse}; its installation is broken: remove it "
                                          "from the engine cache and run again")

    def open_session(self, timeout: float = _STARTUP_TIMEOUT) -> None:
        """A session in a new directory beneath the data directory; the first one's state is the fresh baseline."""
        self.sessions += 1
        self.verdict = self._call({"op": "open", "session": f"s{self.sessions}"}, timeout, "opening a session")
        seen = self._call({"sql": _FRESH_PROBE, "fmt": "TabSeparated", "own": True}, timeout, "probing a fresh session")
        if self.sessions == 1:
            self.fresh = seen
        elif seen != self.fresh:
            raise EngineError(None, "NOT_FRESH", f"a reused session is not fresh: {seen!r} != {self.fresh!r}")

    def end_session(self, timeout: float = 30.0) -> None:
        """Close the session and remove its directory (the worker stays, ready for the next one)."""
        self._call({"op": "close"}, timeout, "closing a session")

    def call(self, request: dict[str, Any], timeout: float | None, what: str) -> str:
        """One request; a statement ("sql") passes the gate first unless the gate layer is off."""
        if "sql" in request and "op" not in request and self.hardening.gate:
            self._gate(request["sql"], timeout, what)
        return self._call(request, timeout, what)

    def _gate(self, sql: str, timeout: float | None, what: str) -> None:
        verdict = _VERDICTS.get(sql)
        if verdict is None:
            verdict = self._judge(sql, timeout, what)
        if verdict.action != "run":
            raise EngineError(*refusal(verdict))

    def _judge(self, sql: str, timeout: float | None, what: str) -> Any:
        """The gate's verdict on one text, from ClickHouse's own parse of it (chconform.gate.policy.judge_many)."""
        deadline = time.monotonic() + timeout if timeout else None
        try:
            return self._judge_many([sql], deadline, what)[0]
        except _At as stop:
            raise stop.error from None

    def _judge_many(self, sqls: Sequence[str], deadline: float | None, what: str) -> list[Any]:
        """`_judge` for many texts: the ones not judged before are parsed together (a few requests in all)."""
        known = {sql: _VERDICTS[sql] for sql in sqls if sql in _VERDICTS}
        pending = list(dict.fromkeys(sql for sql in sqls if sql not in known))
        if pending:
            with self._parsing() as parser:
                try:
                    verdicts = judge_many(pending, _WorkerEngine(parser, deadline, what), access_control=False)
                except GateStopped as stop:
                    error = stop.error.error if isinstance(stop.error, _ParseStopped) else stop.error
                    if not isinstance(error, EngineError):
                        raise
                    raise _At(pending[stop.index], error) from None
            known.update((sql, _remember(sql, verdict)) for sql, verdict in zip(pending, verdicts))
        return [known[sql] for sql in sqls]

    @contextmanager
    def _parsing(self) -> Iterator[Worker]:
        """The worker that parses for this one's gate: itself, or the newest release's shared parse worker."""
        if self.parse_service is None:
            yield self
        else:
            with self.parse_service.lease() as parser:
                yield parser

    def run_many(self, sqls: Sequence[str], timeout: float | None,
                 what: str = "running a statement") -> list[EngineError | None]:
        """Statements in order in one round trip, each through the gate: None or the error of each one run.

        It stops at a timeout or a crash: the list ends with that statement's EngineTimeout or EngineCrashed.
        Texts are parsed for the gate before any runs, so a parse that kills the engine ends the list at
        the first statement with that text, none before it having run (the round is lost either way).
        """
        deadline = time.monotonic() + timeout if timeout else None
        outcomes: list[EngineError | None] = [None] * len(sqls)
        runnable = list(range(len(sqls)))
        if self.hardening.gate:
            try:
                verdicts = self._judge_many(sqls, deadline, what)
            except _At as stop:
                first = sqls.index(stop.sql)
                return [*outcomes[:first], stop.error]
            for i, verdict in enumerate(verdicts):
                if verdict.action != "run":
                    outcomes[i] = EngineError(*refusal(verdict))
            runnable = [i for i in runnable if outcomes[i] is None]
        if not runnable:
            return outcomes
        try:
            self._send({"op": "batch", "sql": [sqls[i] for i in runnable], "fmt": "TabSeparated"}, what)
        except EngineCrashed as exc:
            return [*outcomes[:runnable[0]], exc]
        for i in runnable:
            try:
                reply = self._receive(deadline, what)
            except (EngineTimeout, EngineCrashed) as exc:
                return [*outcomes[:i], exc]
            if "error" in reply:
                outcomes[i] = EngineError.from_text(reply["error"])
        return outcomes

    def _send(self, request: dict[str, Any], what: str) -> None:
        self.wait_ready()
        self._sent += 1
        data = json.dumps({**request, "id": self._sent}).encode()
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._crashed(what) from None
        replies = len(request["sql"]) if request.get("op") in ("batch", "parse_many") else 1
        self.owed += replies
        self._due.extend([self._sent] * replies)

    def _call(self, request: dict[str, Any], timeout: float | None, what: str) -> str:
        self._send(request, what)
        deadline = time.monotonic() + timeout if timeout else None
        reply = self._receive(deadline, what)
        if "error" in reply:
            raise EngineError.from_text(reply["error"])
        return str(reply["ok"])

    def _receive(self, deadline: float | None, what: str) -> dict[str, Any]:
        head = self._read_exact(4, deadline, what)
        (size,) = struct.unpack(">I", head)
        reply: dict[str, Any] = json.loads(self._read_exact(size, deadline, what))
        self._check_disk(what)  # at most once a second: growth over many quick statements counts too
        if self._due:  # the first frame, "ready", was never asked for
            expected = self._due.popleft()
            self.owed -= 1
            if reply.get("id") != expected:
                self.kill()
                raise EngineCrashed(None, "ENGINE_CRASHED", f"{what}: the engine's reply is out of step "
                                    f"(reply to request {reply.get('id')}, expected {expected}); the engine was stopped")
        return reply

    def _read_exact(self, size: int, deadline: float | None, what: str) -> bytes:
        assert self.proc.stdout is not None
        try:
            fd = self.proc.stdout.fileno()
        except ValueError:  # already released
            raise self._crashed(what) from None
        chunks, got = [], 0
        while got < size:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                self.kill()
                raise EngineTimeout(None, "TIMEOUT", f"{what}: no answer within the time limit; the engine was killed")
            try:
                wait = left if not self._disk_bound else _DISK_CHECK_S if left is None else min(left, _DISK_CHECK_S)
                ready, _, _ = select.select([fd], [], [], wait)
                if not ready:
                    self._check_disk(what)
                    continue
                chunk = os.read(fd, size - got)
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                raise self._crashed(what)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _check_disk(self, what: str) -> None:
        """Kill the worker whose directory grew past the bound (table data, spills, logs): checked once a second."""
        if not self._disk_bound or time.monotonic() - self._disk_checked < _DISK_CHECK_S:
            return
        used = _disk_usage(self.workdir)
        self._disk_checked = time.monotonic()
        if used > self._disk_bound:
            self.kill()
            raise EngineCrashed(None, "DISK_LIMIT_EXCEEDED", f"{what}: the engine wrote {used >> 20} MiB, more than "
                                f"its {self._disk_bound >> 20} MiB of disk; the engine was killed")

    def _crashed(self, what: str) -> EngineCrashed:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        cause = f"killed by signal {signal.Signals(-code).name}" if code and code < 0 else f"exited with code {code}"
        if _INTERRUPTED.is_set():
            cause += " (interrupted)"
        tail = self.stderr_tail()
        self.kill()
        return EngineCrashed(None, "ENGINE_CRASHED", f"{what}: the engine process {cause}" + (f"; stderr: {tail}" if tail else ""))

    def stderr_tail(self, lines: int = 5) -> str:
        try:
            text = Path(self.workdir, "stderr.log").read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def signal_group(self, signum: int) -> None:
        """Send a signal to the worker's process group (fault injection, Ctrl-C); no cleanup here."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signum)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self) -> None:
        """Stop the process group for sure and remove the worker's directory."""
        self.signal_group(signal.SIGKILL)
        self.proc.wait()
        self._release()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def _release(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                try:
                    stream.close()
                except OSError:
                    pass
        self._stderr.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        _LIVE.discard(self)


class _ParseService:
    """The newest release's worker that parses for the gate of workers of older releases (no parseQueryToJSON).

    One per backend, shared by its workers one parse request at a time; replaced when a parse killed it.
    """

    def __init__(self, start: Callable[[], Worker]) -> None:
        self._start = start
        self._lock = threading.Lock()
        self._worker: Worker | None = None
        self._closed = False

    @contextmanager
    def lease(self) -> Iterator[Worker]:
        with self._lock:
            if self._closed:
                raise EnvironmentUnusable("the embedded backend is closed")
            worker = self._worker
            if worker is None or worker.proc.poll() is not None or worker.owed:
                if worker is not None:
                    worker.kill()
                self._worker = None
                worker = self._start()
                try:
                    worker.wait_ready()
                    worker._call({"op": "open"}, _STARTUP_TIMEOUT, "opening the gate's parse session")
                except BaseException:
                    worker.kill()
                    raise
                self._worker = worker
            yield worker

    def warm(self) -> None:
        """Start the parse worker ahead of the first parse (off the critical path); a failure shows on first use."""
        try:
            with self.lease():
                pass
        except Exception:  # noqa: BLE001 - the first real lease starts it again and reports why
            pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._worker is not None:
                self._worker.kill()
                self._worker = None


_FOR_SERVERS: dict[tuple[str, bool], Any] = {}  # (text, access control) → verdict
_FOR_SERVERS_LOCK = threading.Lock()
_FOR_SERVERS_PARSER: list[_ParseService] = []


def judge_for_servers(sqls: Sequence[str], access_control: bool, timeout: float | None = 60.0) -> list[Any]:
    """The gate's verdicts for statements a server or container runs: parsed by this environment's engine.

    The one decision of chconform.gate, for every backend: the statement is parsed by the embedded engine
    (one shared worker per process, opened on first use) whatever engine or server applies it afterwards.
    """
    keys = [(sql, access_control) for sql in sqls]
    with _FOR_SERVERS_LOCK:
        pending = list(dict.fromkeys(sql for sql, _ in keys if (sql, access_control) not in _FOR_SERVERS))
        if pending:
            if not _FOR_SERVERS_PARSER:
                _FOR_SERVERS_PARSER.append(_ParseService(lambda: Worker(hardening=Hardening(), timeout_s=timeout or 60.0)))
                atexit.register(_FOR_SERVERS_PARSER[0].close)
            deadline = time.monotonic() + timeout if timeout else None
            with _FOR_SERVERS_PARSER[0].lease() as parser:
                try:
                    verdicts = judge_many(pending, _WorkerEngine(parser, deadline, "parsing for the gate"),
                                          access_control)
                except GateStopped as stop:
                    error = stop.error.error if isinstance(stop.error, _ParseStopped) else stop.error
                    raise error from None
            for sql, verdict in zip(pending, verdicts):
                if len(_FOR_SERVERS) < _VERDICTS_MAX:
                    _FOR_SERVERS[(sql, access_control)] = verdict
        else:
            verdicts = []
        fresh = dict(zip(pending, verdicts))
        return [_FOR_SERVERS.get(key) or fresh[key[0]] for key in keys]


class EmbeddedInstance:
    """A fresh chDB data directory in its own worker process."""

    def __init__(self, worker: Worker, release: Callable[[Worker], None] | None = None) -> None:
        """`release`: the session is open already and the worker goes back to its backend on close."""
        self.worker = worker
        self._release = release
        self._closed = False
        if release is None:
            self.worker.verdict = self.worker.call({"op": "open"}, _STARTUP_TIMEOUT, "opening a session")

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self.worker.call({"sql": sql, "fmt": "TabSeparated"}, timeout, "running a statement")

    def execute_many(self, sqls: Sequence[str], timeout: float | None = None) -> list[EngineError | None]:
        """`execute` for statements in order, in one round trip (see Worker.run_many)."""
        return self.worker.run_many(sqls, timeout)

    def execute_own(self, sql: str, timeout: float | None = None) -> None:
        """One of chconform's own statements (a sentinel INSERT): in the verdict session, out of a source's SET."""
        self.worker.call({"sql": sql, "fmt": "TabSeparated", "own": True}, timeout, "running chconform's statement")

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """chconform's own query (snapshot, counts, describes): in the verdict session, out of a source's SET."""
        request = {"sql": sql, "fmt": "JSONEachRow", "own": True}
        return rows_from_json_each_row(self.worker.call(request, timeout, "running a query"))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._release is not None:
            self._release(self.worker)
        else:
            self.worker.close()


class EmbeddedBackend:
    """Hands out fresh instances from a pool of pre-started workers.

    A released worker ends its session and opens the next one in the background;
    after `sessions_per_worker` sessions, or once a timeout or crash has killed it, it is
    replaced. `spares` ready workers beyond those in use hide that work from the
    next source; `reserve(jobs)` starts a run's workers before its first source.
    With `prestart=False` every instance is a new worker, stopped on close.
    """

    name = "embedded"
    supports_access_control = False

    def __init__(self, prestart: bool = True, hardening: Hardening | None = None, timeout_s: float = 60.0,
                 scratch_root: str | None = None, sessions_per_worker: int = SESSIONS_PER_WORKER, spares: int = 1,
                 engine: str | Release | None = None, server: ServerProfile | None = None, **_: Any) -> None:
        """`engine`: the ClickHouse release ("24.8"), installed into the engine cache on first use; default:
        $CHCONFORM_ENGINE (a CI shard's), else the newest, the environment's own. Workers of a release older than
        the newest parse for the gate with one shared worker of the newest."""
        self.release = get_release(engine) if isinstance(engine, str) else engine or default_release()
        self.release_path = installation(self.release)  # may install; one clear line if it cannot
        self.prestart = prestart
        self.hardening = hardening or Hardening()
        self.timeout_s = float(timeout_s)
        self.server = server  # clusters, macros, pools and [settings] of the user's servers (server_defaults.py)
        self.scratch_root = scratch_root
        self.sessions_per_worker = max(1, int(sessions_per_worker)) if self.release.reuse_sessions else 1
        self.spares = max(0, int(spares))
        self._version = ""
        self._sandbox = ""
        self.sandbox_detail = ""
        self._cond = threading.Condition()
        self._ready: list[Worker] = []  # each with a fresh session open
        self._owned: set[Worker] = set()
        self._preparing = self._waiting = self._in_use = self._reserved = 0
        self._remaining: int | None = None  # instances the run still asks for (reserve's total); None: unknown
        self._closed = False
        self._pool: ThreadPoolExecutor | None = None
        self._parse_service: _ParseService | None = None
        if self.release.name != NEWEST:
            newest = get_release(NEWEST)
            newest_path = installation(newest)
            self._parse_service = _ParseService(lambda: Worker(
                self.scratch_root, hardening=self.hardening, timeout_s=self.timeout_s, release=newest,
                release_path=newest_path))
        try:
            import importlib.util

            if importlib.util.find_spec("chdb") is None:
                raise ImportError
        except ImportError:
            raise EnvironmentUnusable("the embedded backend needs chdb-core: pip install chdb-core") from None
        _sweep_once(scratch_root)
        if prestart:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="chconform-engine")
        _INTERRUPTED.clear()
        self._previous_sigint: Any = None
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous_sigint = signal.signal(signal.SIGINT, _on_interrupt)

    def persistent_worker(self, data_dir: str) -> Worker:
        """A worker of this backend's release on a data directory that outlives it (bootstrap); closed with it."""
        return self._new_worker(data_dir)

    def _new_worker(self, data_dir: str | None = None) -> Worker:
        worker = Worker(self.scratch_root, data_dir, hardening=self.hardening, timeout_s=self.timeout_s,
                        release=self.release,
                        release_path=self.release_path, parse_service=self._parse_service, server=self.server)
        with self._cond:
            if self._closed:
                closed = True
            else:
                closed = False
                self._owned.add(worker)
        if closed:
            worker.kill()
            raise EnvironmentUnusable("the embedded backend is closed")
        return worker

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._cond:
            self._owned.discard(worker)

    def _top_up(self) -> None:
        """With the lock held: prepare workers for those waiting, the reserved jobs not yet running, and spares."""
        if self._pool is None or self._closed:
            return
        wanted = self._waiting + self.spares + max(0, self._reserved - self._in_use - self._waiting)
        if self._remaining is not None:  # a worker prepared for no source is CPU taken from the sources
            wanted = min(wanted, self._remaining)
        while len(self._ready) + self._preparing < wanted:
            self._preparing += 1
            self._pool.submit(self._prepare, None)

    def _prepare(self, worker: Worker | None) -> None:
        """Off the critical path: a new worker, or a used one whose session ends, gets a fresh session."""
        try:
            if worker is None:
                worker = self._new_worker()
                worker.wait_ready()
            else:
                worker.end_session()
            worker.open_session()
        except Exception:  # the worker is gone or not fresh; whoever waits starts one itself and sees why
            if worker is not None:
                self._discard(worker)
            with self._cond:
                self._preparing -= 1
                self._cond.notify_all()
            return
        with self._cond:
            self._preparing -= 1
            if not self._closed:
                self._ready.append(worker)
                self._cond.notify_all()
                return
        self._discard(worker)

    def _release(self, worker: Worker) -> None:
        with self._cond:
            self._in_use -= 1
            again = (not self._closed and worker.proc.poll() is None and worker.owed == 0
                     and worker.sessions < self.sessions_per_worker)
            if again:
                self._preparing += 1
            pool = None if self._closed else self._pool
            self._top_up()
        try:
            if pool is not None:
                pool.submit(self._prepare if again else self._discard, worker)
                return
        except RuntimeError:  # the backend closed meanwhile
            if again:
                with self._cond:
                    self._preparing -= 1
        self._discard(worker)

    def _take_ready(self) -> Worker | None:
        """A prepared worker, waiting for one being prepared; None when none is coming."""
        with self._cond:
            self._waiting += 1
            try:
                self._top_up()
                while not self._ready and self._preparing and not self._closed:
                    self._cond.wait()
                if not self._ready:
                    return None
                self._in_use += 1
                return self._ready.pop(0)
            finally:
                self._waiting -= 1

    def _note(self, worker: Worker) -> None:
        self._version = worker.version
        self._sandbox = worker.sandbox
        self.sandbox_detail = worker.sandbox_detail

    def instance(self) -> EmbeddedInstance:
        if self._pool is None:
            worker = self._new_worker()
            try:
                worker.wait_ready()
                self._note(worker)
                return EmbeddedInstance(worker)
            except BaseException:
                self._discard(worker)
                raise
        ready = self._take_ready()
        if ready is None:  # starting here lets a failure (chDB missing, interrupted, …) reach the caller
            ready = self._new_worker()
            try:
                ready.wait_ready()
                ready.open_session()
            except BaseException:
                self._discard(ready)
                raise
            with self._cond:
                self._in_use += 1
        with self._cond:
            if self._remaining is not None:
                self._remaining = max(0, self._remaining - 1)
        self._note(ready)
        return EmbeddedInstance(ready, release=self._release)

    def reserve(self, count: int, spares: int | None = None, total: int | None = None) -> None:
        """`count` instances will be in use at once (a run's jobs): start their workers now.

        `spares`: ready workers beyond those. By default one while `count` leaves a CPU idle, else none:
        a spare hides a session change from the next source only where a CPU is free to do that change.
        A release whose worker hosts one session (24.8) starts a new worker for every source: there a spare
        per job (two at most) starts beside the running sources, so the next source finds its engine imported
        (a start is mostly waiting on the engine library, not a CPU: measured 7.3-7.7 s with two spares, 8.2-8.7 s
        with one, 9.6-11.9 s with none for this repository's 7 sources on 2 CPUs). `total`: the instances the run asks for in all; no
        worker is prepared beyond them. The gate's parse worker (a release older than the newest) starts now too.
        """
        with self._cond:
            self._reserved = max(0, int(count))
            self._remaining = None if total is None else max(0, int(total))
            if spares is not None:
                self.spares = max(0, int(spares))
            elif self.sessions_per_worker == 1:  # two at most: each holds 220-350 MiB of engine
                self.spares = min(self._reserved, 2)
            elif self._reserved >= (os.cpu_count() or 1):
                self.spares = 0
            if self._pool is not None and self._parse_service is not None and not self._closed:
                self._pool.submit(self._parse_service.warm)  # first: every source's gate needs it before it runs
            self._top_up()

    def version(self) -> str:
        if not self._version:
            self.instance().close()
        return self._version

    @property
    def sandbox(self) -> str:
        """"landlock" when the workers run under Landlock, else "none" (see sandbox_detail for why)."""
        if not self._sandbox:
            self.instance().close()
        return self._sandbox

    def close(self) -> None:
        """Stop every worker, ready, being prepared or still in use."""
        with self._cond:
            self._closed = True
            workers = list(self._owned)
            self._ready.clear()
            self._cond.notify_all()
        for worker in workers:
            self._discard(worker)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        with self._cond:
            workers = list(self._owned)
        for worker in workers:
            self._discard(worker)
        if self._parse_service is not None:
            self._parse_service.close()
        if self._previous_sigint is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None
