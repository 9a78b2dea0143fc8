"""The embedded engine's worker process: one chDB session in one data directory.

Spoken over stdin/stdout in length-prefixed JSON frames so the parent can time
out, kill and replace a worker without ever importing chDB itself.
Request: {"sql": str, "fmt": str}. Reply: {"ok": str} or {"error": str}.
"""

from __future__ import annotations

import json
import os
import struct
import sys


def _read(stream: "object") -> dict | None:  # type: ignore[type-arg]
    head = sys.stdin.buffer.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    return json.loads(sys.stdin.buffer.read(size))  # type: ignore[no-any-return]


def _write(obj: dict) -> None:  # type: ignore[type-arg]
    data = json.dumps(obj).encode()
    sys.stdout.buffer.write(struct.pack(">I", len(data)) + data)
    sys.stdout.buffer.flush()


def main() -> int:
    data_dir = sys.argv[1]
    os.chdir(data_dir)
    import chdb  # noqa: F401  (imports the engine; may take ~0.2 s)
    from chdb import _chdb

    _write({"ok": "ready", "version": chdb.engine_version})
    conn = None
    while (request := _read(sys.stdin)) is not None:
        if request.get("op") == "open":
            db = sys.argv[2] if len(sys.argv) > 2 else f"{data_dir}/db"  # argv[2]: a persistent data directory
            conn = _chdb.connect(f"file:{db}")
            _write({"ok": ""})
            continue
        try:
            assert conn is not None, "open first"
            result = conn.query(request["sql"], request.get("fmt", "TabSeparated"))
            _write({"ok": result.bytes().decode("utf-8", "replace") if result is not None else ""})
        except Exception as exc:  # ClickHouse errors arrive as RuntimeError
            _write({"error": str(exc)})
    if conn is not None:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
