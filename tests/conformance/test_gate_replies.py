"""Every recorded parse reply the unit tests replay (tests/gate_replay.py) is still what the engine gives.

A recording that drifts from the engine (a new release, a hand edit) fails here, so the gate's unit tests
only ever decide on replies ClickHouse really gives.
"""

from __future__ import annotations

import json

import pytest

from tests.gate_replay import FUNCTIONS, REPLIES, ask_engine, drifted, load

pytestmark = pytest.mark.engine

RECORDINGS = sorted(p.stem for p in REPLIES.glob("*.json"))


def test_there_are_recordings_and_each_names_only_known_functions() -> None:
    assert RECORDINGS, f"no recordings in {REPLIES}"
    for name in RECORDINGS:
        data = json.loads((REPLIES / f"{name}.json").read_text(encoding="utf-8"))
        assert data.get("about"), f"{name}: say what the recording is for"
        assert set(data["replies"]) <= set(FUNCTIONS), name


@pytest.mark.parametrize("name", RECORDINGS)
def test_the_engine_still_gives_the_recorded_replies(name: str) -> None:
    recorded = load(name)
    fresh = ask_engine({function: list(by_text) for function, by_text in recorded.items()})
    assert drifted(recorded, fresh) == []


def test_a_hand_edited_reply_is_found_drifted() -> None:
    recorded = {"formatQuery": {"select 1": {"ok": "SELECT 2\n", "error": ""},
                                "select 3": {"ok": "SELECT 3\n", "error": ""}}}
    fresh = ask_engine({"formatQuery": ["select 1", "select 3"]})
    assert drifted(recorded, fresh) == ["formatQuery('select 1')"]
