"""Per-instance overhead of the embedded backend, printed as JSON lists of milliseconds.

  wait_ms         a source waiting for its fresh, empty instance (backend.instance()),
                  workers pre-started: the overhead on the critical path;
  release_ms      giving it back (instance.close()), also on the critical path;
  critical_ms     the two together, per instance;
  cold_worker_ms  a worker from nothing: process, chDB import, sandbox, first session;
  session_ms      ending a session and opening the next, fresh one in a running worker
                  (done in the background while other sources run).
Between two instances a repository source is applied once, as in a run.
Usage: python benchmarks/instances.py CONFIG COUNT
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from chconform.engines.embedded import EmbeddedBackend, Worker
from chconform.config import load_config
from chconform.checks.run import apply_statements, load_source


def main() -> int:
    config = load_config(Path(sys.argv[1]))
    count = int(sys.argv[2])
    sources = [load_source(spec).statements for spec in config.sources]
    out: dict[str, list[float]] = {"wait_ms": [], "release_ms": [], "critical_ms": [], "cold_worker_ms": [],
                                   "session_ms": []}
    backend = EmbeddedBackend(timeout_s=config.timeout_s)
    try:
        backend.reserve(1)
        backend.instance().close()  # the first worker's start is the cold figure below, not this one
        for n in range(count):
            t0 = time.perf_counter()
            instance = backend.instance()
            t1 = time.perf_counter()
            apply_statements(instance, sources[n % len(sources)], 1, time.monotonic() + config.timeout_s, False)
            t2 = time.perf_counter()
            instance.close()
            t3 = time.perf_counter()
            out["wait_ms"].append((t1 - t0) * 1000)
            out["release_ms"].append((t3 - t2) * 1000)
            out["critical_ms"].append((t1 - t0 + t3 - t2) * 1000)
    finally:
        backend.close()
    for _ in range(3):
        t0 = time.perf_counter()
        worker = Worker(timeout_s=config.timeout_s)
        try:
            worker.wait_ready()
            worker.open_session()
            out["cold_worker_ms"].append((time.perf_counter() - t0) * 1000)
            for _ in range(5):
                t0 = time.perf_counter()
                worker.end_session()
                worker.open_session()
                out["session_ms"].append((time.perf_counter() - t0) * 1000)
        finally:
            worker.kill()
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
