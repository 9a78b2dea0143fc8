"""The engine's own floor: chDB alone, one process, no chconform code.

For every source of a plan (JSON written by run.py: the statements chconform
would run, the prelude, the snapshot queries): a session in a fresh data
directory, the prelude and the statements applied twice with the snapshot
queries after each round, the session closed. Prints its phase timings as JSON.
With --no-fsync every session first sets fsync_metadata = 0, as chconform's
throwaway engines do (the default floor keeps chDB's defaults).
With --process-per-source every source gets a process of its own, one after another (each importing chDB):
a release whose engine cannot host a second session in one process (ClickHouse 24.8, chdb 3.3.0: dropping a
materialized view there waits for ever) has no cheaper way to a fresh engine. The phases are summed over them.
Usage: python benchmarks/floor.py PLAN.json [--no-fsync] [--process-per-source]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time


def per_process(argv: list[str]) -> int:
    """Each source in a child process of its own, in turn; the children's phases summed."""
    started = time.monotonic()
    with open(argv[1], encoding="utf-8") as fh:
        count = len(json.load(fh)["sources"])
    totals: dict[str, float] = {}
    flags = [a for a in argv[2:] if a != "--process-per-source"]
    for n in range(count):
        done = subprocess.run([sys.executable, __file__, argv[1], *flags, f"--only={n}"], capture_output=True,
                              text=True, check=True)
        for key, value in json.loads(done.stdout).items():
            totals[key] = totals.get(key, 0.0) + value
    totals["total_s"] = time.monotonic() - started
    json.dump(totals, sys.stdout)
    return 0


def main() -> int:
    if "--process-per-source" in sys.argv[2:]:
        return per_process(sys.argv)
    started = time.monotonic()
    import chdb
    from chdb import _chdb

    imported = time.monotonic()
    with open(sys.argv[1], encoding="utf-8") as fh:
        plan = json.load(fh)
    setup = ["SET fsync_metadata = 0"] if "--no-fsync" in sys.argv[2:] else []
    only = [int(a.split("=", 1)[1]) for a in sys.argv[2:] if a.startswith("--only=")]
    root = tempfile.mkdtemp(prefix="chconform-floor-")
    sessions = statements = queries = 0.0
    errors = 0
    try:
        for n, source in enumerate(plan["sources"]):
            if only and n not in only:
                continue
            t0 = time.monotonic()
            conn = _chdb.connect(f"file:{root}/s{n}")  # type: ignore[attr-defined]
            for sql in setup:
                conn.query(sql, "TabSeparated")
            t1 = time.monotonic()
            for _ in (1, 2):
                a = time.monotonic()
                for sql in plan["prelude"] + source:
                    try:
                        conn.query(sql, "TabSeparated")
                    except RuntimeError:
                        errors += 1
                b = time.monotonic()
                for sql in plan["queries"]:
                    conn.query(sql, "JSONEachRow").bytes()
                statements += b - a
                queries += time.monotonic() - b
            t2 = time.monotonic()
            conn.close()
            sessions += (t1 - t0) + (time.monotonic() - t2)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    json.dump({"import_s": imported - started, "sessions_s": sessions, "statements_s": statements,
               "queries_s": queries, "errors": errors, "total_s": time.monotonic() - started}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
