"""ClickHouse's own parse replies, recorded once from the engine and replayed in unit tests (no engine).

The gate decides on what ClickHouse's parser says (chconform.gate.parse.Engine: `call(function, texts)` for
parseQueryToJSON, parseDataToJSON, formatQuery, normalizeQuery, explainAST). Unit tests (and mutation
testing, which runs only unit tests) need those replies without starting an engine, and they must be the
engine's real replies, not hand-written ones:

  * a recording is tests/data/gate/replies/<name>.json: {"about": "...", "replies": {function: {text:
    {"ok": str | null, "error": str}}}}; a test file owns its recording;
  * `ReplayEngine("name", ...)` answers from recordings and fails loudly on a call nobody recorded;
  * `python -m tests.gate_replay record NAME` (re)fills a recording from the embedded engine: put the texts
    in with `null` replies, run it, commit the file;
  * tests/conformance/test_gate_replies.py asks the engine again for every recorded reply: a recording that
    no longer matches the engine fails there, so a replayed reply is always one ClickHouse gives.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chconform.gate.parse import EngineReply

REPLIES = Path(__file__).resolve().parent / "data" / "gate" / "replies"
FUNCTIONS = ("parseQueryToJSON", "parseDataToJSON", "formatQuery", "normalizeQuery", "explainAST")


def load(name: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The recording's replies: function -> text -> {"ok", "error"}."""
    data = json.loads((REPLIES / f"{name}.json").read_text(encoding="utf-8"))
    return data["replies"]


class Unrecorded(AssertionError):
    """A call no recording answers: record it (python -m tests.gate_replay record NAME)."""


class ReplayEngine:
    """chconform.gate.parse.Engine answered from recordings; `calls` keeps every (function, texts) asked."""

    def __init__(self, *names: str) -> None:
        self.replies: dict[str, dict[str, dict[str, Any]]] = {}
        for name in names:
            for function, by_text in load(name).items():
                self.replies.setdefault(function, {}).update(by_text)
        self.calls: list[tuple[str, list[str]]] = []

    def call(self, function: str, texts: Sequence[str]) -> list[EngineReply]:
        self.calls.append((function, list(texts)))
        out = []
        for text in texts:
            reply = self.replies.get(function, {}).get(text)
            if reply is None or (reply.get("ok") is None and not reply.get("error")):
                raise Unrecorded(f"no recorded {function} reply for {text!r}")
            out.append(EngineReply(reply["ok"], reply.get("error", "")))
        return out


def ask_engine(calls: dict[str, list[str]]) -> dict[str, dict[str, dict[str, Any]]]:
    """The embedded engine's replies (the gate's own parse worker, newest release) to each function's texts."""
    from chconform.engines.embedded import EmbeddedBackend, _WorkerEngine

    backend = EmbeddedBackend(prestart=False, timeout_s=120)
    instance = backend.instance()
    try:
        engine = _WorkerEngine(instance.worker, None, "parsing")
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for function, texts in calls.items():
            replies = engine.call(function, texts) if texts else []
            out[function] = {t: {"ok": r.ok, "error": r.error} for t, r in zip(texts, replies)}
        return out
    finally:
        instance.close()
        backend.close()


def drifted(recorded: dict[str, dict[str, dict[str, Any]]], fresh: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Each recorded reply the engine no longer gives, as `function(text)`."""
    return [f"{function}({text!r})" for function, by_text in recorded.items() for text, reply in by_text.items()
            if fresh.get(function, {}).get(text) != reply]


def record(name: str) -> Path:
    """Fill (or refresh) recording NAME from the engine, keeping its "about" and its texts."""
    path = REPLIES / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    unknown = sorted(set(data["replies"]) - set(FUNCTIONS))
    if unknown:
        raise SystemExit(f"{path}: unknown function(s) {', '.join(unknown)} (known: {', '.join(FUNCTIONS)})")
    data["replies"] = ask_engine({f: list(by_text) for f, by_text in data["replies"].items()})
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "record":
        print("usage: python -m tests.gate_replay record NAME [NAME ...]  (tests/data/gate/replies/NAME.json)",
              file=sys.stderr)
        return 2
    for name in argv[1:]:
        print(f"recorded {record(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
