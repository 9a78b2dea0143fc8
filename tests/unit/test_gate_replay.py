"""The replay engine the gate's unit tests decide with (tests/gate_replay.py): recorded replies, in order."""

from __future__ import annotations

import pytest

from chconform.gate.parse import EngineReply
from tests.gate_replay import ReplayEngine, Unrecorded, drifted, load


def test_it_answers_each_text_with_its_recorded_reply_in_the_order_asked() -> None:
    engine = ReplayEngine("replay_self_test")
    replies = engine.call("formatQuery", ["SELECT (1 +", "select  1"])
    assert replies[1] == EngineReply("SELECT 1\n", "")
    assert replies[0].ok is None and replies[0].error.endswith("(SYNTAX_ERROR)")
    assert engine.calls == [("formatQuery", ["SELECT (1 +", "select  1"])]


def test_a_call_nobody_recorded_fails_loudly() -> None:
    engine = ReplayEngine("replay_self_test")
    with pytest.raises(Unrecorded, match="no recorded explainAST reply for 'select  1'"):
        engine.call("explainAST", ["select  1"])
    with pytest.raises(Unrecorded):
        engine.call("parseQueryToJSON", ["DESCRIBE TABLE t"])


def test_drift_names_each_reply_that_differs() -> None:
    recorded = load("replay_self_test")
    assert drifted(recorded, recorded) == []
    changed = {f: {t: dict(r) for t, r in by.items()} for f, by in recorded.items()}
    changed["formatQuery"]["select  1"]["ok"] = "SELECT 2\n"
    assert drifted(recorded, changed) == ["formatQuery('select  1')"]
