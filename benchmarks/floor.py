"""The engine's own floor: chDB alone, one process, no chconform code.

For every source of a plan (JSON written by run.py: the statements chconform
would run, the prelude, the snapshot queries): a session in a fresh data
directory, the prelude and the statements applied twice with the snapshot
queries after each round, the session closed. Prints its phase timings as JSON.
With --no-fsync every session first sets fsync_metadata = 0, as chconform's
throwaway engines do (the default floor keeps chDB's defaults).
Usage: python benchmarks/floor.py PLAN.json [--no-fsync]
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time


def main() -> int:
    started = time.monotonic()
    import chdb
    from chdb import _chdb

    imported = time.monotonic()
    with open(sys.argv[1], encoding="utf-8") as fh:
        plan = json.load(fh)
    setup = ["SET fsync_metadata = 0"] if "--no-fsync" in sys.argv[2:] else []
    root = tempfile.mkdtemp(prefix="chconform-floor-")
    sessions = statements = queries = 0.0
    errors = 0
    try:
        for n, source in enumerate(plan["sources"]):
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
