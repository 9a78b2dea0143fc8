"""The default backend: the real ClickHouse engine embedded via chDB (PyPI chdb-core).

Each instance is a worker process (its own session, scrubbed environment and
empty temporary directory) hosting one chDB session, so a hang is killed on
timeout and a crash costs one source, not the run. The next worker is started
while the current instance works, so a source rarely waits for chDB to import.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import EngineCrashed, EngineError, EngineTimeout, EnvironmentUnusable
from .base import rows_from_json_each_row

__all__ = ["EmbeddedBackend", "EmbeddedInstance", "Worker"]

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_STARTUP_TIMEOUT = 120.0
_LIVE: set["Worker"] = set()


def _kill_all() -> None:
    for worker in list(_LIVE):
        worker.kill()


atexit.register(_kill_all)


class Worker:
    """A child process speaking length-prefixed JSON frames (see _worker.py)."""

    def __init__(self, scratch_root: str | None = None, data_dir: str | None = None) -> None:
        """`data_dir`: a persistent chDB data directory (bootstrap); default: a fresh one inside workdir."""
        self.workdir = tempfile.mkdtemp(prefix="chconform-", dir=scratch_root)
        os.makedirs(os.path.join(self.workdir, "tmp"))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.workdir,
            "TMPDIR": os.path.join(self.workdir, "tmp"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": _PACKAGE_PARENT,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self._stderr = open(os.path.join(self.workdir, "stderr.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chconform.backends._worker", self.workdir, *([data_dir] if data_dir else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=self.workdir,
            env=env,
            start_new_session=True,
        )
        _LIVE.add(self)
        self.version = ""
        self._ready = False

    def wait_ready(self) -> None:
        if not self._ready:
            reply = self._receive(time.monotonic() + _STARTUP_TIMEOUT, "starting the engine")
            self.version = str(reply.get("version", ""))
            self._ready = True

    def call(self, request: dict[str, Any], timeout: float | None, what: str) -> str:
        self.wait_ready()
        data = json.dumps(request).encode()
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
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
        fd = self.proc.stdout.fileno()
        chunks, got = [], 0
        while got < size:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                self.kill()
                raise EngineTimeout(None, "TIMEOUT", f"{what}: no answer within the time limit; the engine was killed")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, size - got)
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
        tail = self.stderr_tail()
        self.kill()
        return EngineCrashed(None, "ENGINE_CRASHED", f"{what}: the engine process {cause}" + (f"; stderr: {tail}" if tail else ""))

    def stderr_tail(self, lines: int = 5) -> str:
        try:
            text = Path(self.workdir, "stderr.log").read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def kill(self) -> None:
        """Stop the process group for sure and remove the worker's directory."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
        self._release()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
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

    def __init__(self, prestart: bool = True, **_: Any) -> None:
        self.prestart = prestart
        self._spare: Worker | None = None
        self._version = ""
        self._lock = threading.Lock()
        try:
            import importlib.util

            if importlib.util.find_spec("chdb") is None:
                raise ImportError
        except ImportError:
            raise EnvironmentUnusable("the embedded backend needs chdb-core: pip install chdb-core") from None

    def _take(self) -> Worker:
        with self._lock:
            worker = self._spare or Worker()
            self._spare = Worker() if self.prestart else None
        worker.wait_ready()
        self._version = worker.version
        return worker

    def instance(self) -> EmbeddedInstance:
        return EmbeddedInstance(self._take())

    def version(self) -> str:
        if not self._version:
            inst = self.instance()
            inst.close()
        return self._version

    def close(self) -> None:
        if self._spare is not None:
            self._spare.kill()
            self._spare = None
