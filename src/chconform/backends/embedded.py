"""The default backend: the real ClickHouse engine embedded via chDB (PyPI chdb-core), hardened.

Each instance is a worker process hosting one chDB session, so a hang is killed
on timeout and a crash costs one source, not the run. Sources are untrusted
(they come from pull requests), so the engine runs in layers, each of which
stops hostile SQL on its own (docs/RELIABILITY.md):

  gate        every statement is parsed by ClickHouse's own parser
              (`parseQueryToJSON`) and judged by chconform.policy before it runs;
  privileges  a users file grants the default user only what DDL conformance
              needs: no FILE / URL / S3 / REMOTE sources, no access management;
              the default database is a plain Atomic one, not the file overlay;
  constraints resource limits and every setting that names a file or a URL
              are locked with <const/>, so SET / SETTINGS cannot lift them;
  process     own session, scrubbed environment, own empty directories,
              wall-clock timeout and killpg(SIGKILL); crash handlers off so a
              segfault is an exit; one instance per worker (no leaks carried over);
  landlock    where the kernel offers it: read only system, interpreter and
              package paths, write only the worker's directories, no exec, no TCP.

The next worker is started while the current instance works, so a source
rarely waits for chDB to import.
"""

from __future__ import annotations

import atexit
import json
import math
import os
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from ..errors import EngineCrashed, EngineError, EngineTimeout, EnvironmentUnusable
from ..policy import gate_ast, gate_sql, parse_target
from .base import rows_from_json_each_row

__all__ = ["EmbeddedBackend", "EmbeddedInstance", "Worker", "Hardening", "engine_files", "GRANTS"]

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_STARTUP_TIMEOUT = 120.0
_LIVE: set["Worker"] = set()
_INTERRUPTED = threading.Event()

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
}
# chDB's signal handlers are off (a segfault must exit), so no profiler timer signals either.
_ALWAYS_SETTINGS = {"query_profiler_real_time_period_ns": "0", "query_profiler_cpu_time_period_ns": "0"}
_SYSTEM_READ = ["/usr", "/lib", "/lib64", "/lib32", "/etc/localtime", "/etc/ld.so.cache", "/proc",
                "/sys/fs/cgroup", "/sys/devices/system/cpu", "/sys/devices/system/node", "/dev/urandom",
                "/dev/random", "/dev/zero"]


@dataclass(frozen=True)
class Hardening:
    """Which layers are on (all, by default; tests switch one on at a time) and the resource limits."""

    gate: bool = True
    privileges: bool = True
    constraints: bool = True
    landlock: bool = True
    memory_bytes: int = 4 << 30  # per query and per engine
    max_file_bytes: int = 8 << 30  # RLIMIT_FSIZE: no single file larger than this
    temp_disk_bytes: int = 2 << 30  # spill to disk per query


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


def engine_files(workdir: str, hardening: Hardening, timeout_s: float) -> dict[str, str]:
    """config.xml and users.xml of one engine: paths inside the worker's own directory, the users layer."""
    etc = os.path.join(workdir, "etc")
    config = "\n".join([
        "<clickhouse>",
        f"  <users_config>{escape(os.path.join(etc, 'users.xml'))}</users_config>",
        f"  <user_files_path>{escape(os.path.join(workdir, 'user_files'))}/</user_files_path>",
        f"  <format_schema_path>{escape(os.path.join(workdir, 'user_files'))}/</format_schema_path>",
        f"  <tmp_path>{escape(os.path.join(workdir, 'tmp'))}/</tmp_path>",
        f"  <max_server_memory_usage>{hardening.memory_bytes}</max_server_memory_usage>",
        "  <dictionaries_lazy_load>1</dictionaries_lazy_load>",
        "</clickhouse>",
        "",
    ])
    settings: dict[str, str] = dict(_ALWAYS_SETTINGS)
    constraints: list[str] = []
    if hardening.constraints:
        seconds = max(1, math.ceil(timeout_s))
        limits = {"max_execution_time": str(seconds), "max_memory_usage": str(hardening.memory_bytes),
                  "max_temporary_data_on_disk_size_for_query": str(hardening.temp_disk_bytes)}
        settings.update({**limits, **_CONST_SETTINGS})
        constraints = [f"<{k}><max>{v}</max></{k}>" for k, v in limits.items()]
        constraints += [f"<{k}><const/></{k}>" for k in _CONST_SETTINGS]
    grants = f"<grants><query>GRANT {GRANTS} ON *.*</query></grants>" if hardening.privileges else ""
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


def _read_paths(workdir: str) -> list[str]:
    """Interpreter, packages, this package and the system libraries; nothing of the user's."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, _PACKAGE_PARENT,
             os.path.dirname(os.path.realpath(sys.executable)), os.path.join(workdir, "etc")}
    paths.update(p for p in sysconfig.get_paths().values() if p)
    paths.update(_SYSTEM_READ)
    paths.update(os.path.realpath(p) for p in list(paths))
    return sorted(p for p in paths if os.path.exists(p))


class Worker:
    """A child process speaking length-prefixed JSON frames (see _worker.py)."""

    def __init__(self, scratch_root: str | None = None, data_dir: str | None = None,
                 hardening: Hardening | None = None, timeout_s: float = 60.0) -> None:
        """`data_dir`: a persistent chDB data directory (bootstrap); default: a fresh one inside workdir."""
        if _INTERRUPTED.is_set():
            raise EnvironmentUnusable("interrupted: no new engine is started")
        self.hardening = hardening or Hardening()
        self.workdir = tempfile.mkdtemp(prefix="chconform-", dir=scratch_root)
        for sub in ("tmp", "etc", "user_files"):
            os.makedirs(os.path.join(self.workdir, sub))
        db = data_dir or os.path.join(self.workdir, "db")
        os.makedirs(db, exist_ok=True)  # Landlock grants only paths that exist
        files = engine_files(self.workdir, self.hardening, timeout_s)
        for name, text in files.items():
            Path(self.workdir, "etc", name).write_text(text, encoding="utf-8")
        plan = {
            "connect": f"file:{db}?config-file={os.path.join(self.workdir, 'etc', 'config.xml')}",
            # a fresh engine's default database is an overlay that reads host files as tables
            "on_open": [] if data_dir else ["DROP DATABASE IF EXISTS default", "CREATE DATABASE default ENGINE = Atomic"],
            "landlock": self.hardening.landlock,
            "read": _read_paths(self.workdir),
            "write": [db, os.path.join(self.workdir, "tmp"), os.path.join(self.workdir, "user_files"), "/dev/null"],
            "max_file_bytes": self.hardening.max_file_bytes,
        }
        Path(self.workdir, "etc", "worker.json").write_text(json.dumps(plan), encoding="utf-8")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.workdir,
            "TMPDIR": os.path.join(self.workdir, "tmp"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": _PACKAGE_PARENT,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
        }
        self._stderr = open(os.path.join(self.workdir, "stderr.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chconform.backends._worker", self.workdir],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=self.workdir,
            env=env,
            start_new_session=True,
        )
        _LIVE.add(self)
        self.version = ""
        self.sandbox = "none"
        self.sandbox_detail = ""
        self._ready = False

    def wait_ready(self) -> None:
        if not self._ready:
            reply = self._receive(time.monotonic() + _STARTUP_TIMEOUT, "starting the engine")
            self.version = str(reply.get("version", ""))
            self.sandbox = str(reply.get("sandbox", "none"))
            self.sandbox_detail = str(reply.get("sandbox_detail", ""))
            self._ready = True

    def call(self, request: dict[str, Any], timeout: float | None, what: str) -> str:
        """One request; a statement ("sql") passes the gate first unless the gate layer is off."""
        if "sql" in request and "op" not in request and self.hardening.gate:
            self._gate(request["sql"], timeout, what)
        return self._call(request, timeout, what)

    def _gate(self, sql: str, timeout: float | None, what: str) -> None:
        verdict = gate_sql(sql, access_control=False)
        if verdict.action == "run":
            try:
                ast = json.loads(self._call({"op": "parse", "sql": parse_target(sql)}, timeout, what))
            except (EngineError, ValueError) as exc:
                if isinstance(exc, (EngineTimeout, EngineCrashed)):
                    raise
                ast = None  # not serialisable or not parseable: the token gate's verdict stands
            if isinstance(ast, dict):
                verdict = gate_ast(ast)
        if verdict.action != "run":
            raise EngineError(None, "REFUSED", verdict.reason)

    def _call(self, request: dict[str, Any], timeout: float | None, what: str) -> str:
        self.wait_ready()
        data = json.dumps(request).encode()
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._crashed(what) from None
        deadline = time.monotonic() + timeout if timeout else None
        reply = self._receive(deadline, what)
        if "error" in reply:
            raise EngineError.from_text(reply["error"])
        return str(reply["ok"])

    def _receive(self, deadline: float | None, what: str) -> dict[str, Any]:
        head = self._read_exact(4, deadline, what)
        (size,) = struct.unpack(">I", head)
        return json.loads(self._read_exact(size, deadline, what))  # type: ignore[no-any-return]

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
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    continue
                chunk = os.read(fd, size - got)
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                raise self._crashed(what)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

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


class EmbeddedInstance:
    """A fresh chDB data directory in its own worker process."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.worker.call({"op": "open"}, _STARTUP_TIMEOUT, "opening a session")

    def execute(self, sql: str, timeout: float | None = None) -> None:
        self.worker.call({"sql": sql, "fmt": "TabSeparated"}, timeout, "running a statement")

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        return rows_from_json_each_row(self.worker.call({"sql": sql, "fmt": "JSONEachRow"}, timeout, "running a query"))

    def close(self) -> None:
        self.worker.close()


class EmbeddedBackend:
    """Hands out fresh instances, keeping one worker pre-started."""

    name = "embedded"
    supports_access_control = False

    def __init__(self, prestart: bool = True, hardening: Hardening | None = None, timeout_s: float = 60.0,
                 scratch_root: str | None = None, **_: Any) -> None:
        self.prestart = prestart
        self.hardening = hardening or Hardening()
        self.timeout_s = float(timeout_s)
        self.scratch_root = scratch_root
        self._spare: Worker | None = None
        self._version = ""
        self._sandbox = ""
        self.sandbox_detail = ""
        self._lock = threading.Lock()
        try:
            import importlib.util

            if importlib.util.find_spec("chdb") is None:
                raise ImportError
        except ImportError:
            raise EnvironmentUnusable("the embedded backend needs chdb-core: pip install chdb-core") from None
        _INTERRUPTED.clear()
        self._previous_sigint: Any = None
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous_sigint = signal.signal(signal.SIGINT, _on_interrupt)

    def _new_worker(self) -> Worker:
        return Worker(self.scratch_root, hardening=self.hardening, timeout_s=self.timeout_s)

    def _take(self) -> Worker:
        with self._lock:
            worker = self._spare or self._new_worker()
            self._spare = self._new_worker() if self.prestart else None
        try:
            worker.wait_ready()
        except BaseException:
            worker.kill()
            raise
        self._version = worker.version
        self._sandbox = worker.sandbox
        self.sandbox_detail = worker.sandbox_detail
        return worker

    def instance(self) -> EmbeddedInstance:
        worker = self._take()
        try:
            return EmbeddedInstance(worker)
        except BaseException:
            worker.kill()
            raise

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
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.kill()
        if self._previous_sigint is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None
