"""The gate survivors of issue 18 on the real engine (the pure decisions: tests/unit/test_mutants_gate.py).

  * ClickHouse still gives the trees the unit tests decide on (tests/data/gate/recorded_trees.json);
  * a batch sent to a fully hardened engine in one request: each text gets its own verdict, a refused text
    never runs (its table does not exist afterwards), its neighbours run, a text the parser rejects is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chconform.engines.embedded import EmbeddedBackend, EmbeddedInstance, _WorkerEngine
from chconform.gate.catalog import TABLE_FUNCTIONS

pytestmark = pytest.mark.engine

RECORDED = json.loads((Path(__file__).resolve().parents[1] / "data" / "gate" / "recorded_trees.json")
                      .read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def instance() -> Iterator[EmbeddedInstance]:
    backend = EmbeddedBackend(prestart=False, timeout_s=60)
    inst = backend.instance()
    try:
        yield inst
    finally:
        inst.close()
        backend.close()


def test_the_engine_still_gives_the_recorded_trees(instance: EmbeddedInstance) -> None:
    texts = list(RECORDED["trees"])
    replies = _WorkerEngine(instance.worker, None, "parsing").call("parseQueryToJSON", [*texts, "SELECT (1 +"])
    assert {t: json.loads(r.ok or "null") for t, r in zip(texts, replies)} == RECORDED["trees"]
    assert replies[-1].ok is None and "SYNTAX_ERROR" in replies[-1].error


def test_a_batch_runs_what_passes_and_nothing_it_refuses(instance: EmbeddedInstance) -> None:
    batch = [
        "CREATE DATABASE IF NOT EXISTS zakaz",
        "CREATE TABLE zakaz.t (x String) ENGINE = Memory",
        "INSERT INTO zakaz.t VALUES ('root')",
        "CREATE TABLE zakaz.from_file AS file('/etc/passwd', 'CSV', 'x String')",
        "CREATE TABLE zakaz.joined ENGINE = Memory AS SELECT a.x FROM zakaz.t AS a "
        "JOIN file('/etc/passwd', 'CSV', 'x String') AS b ON a.x = b.x",
        "SELECT (1 +",
        "CREATE TABLE zakaz.inside ENGINE = Memory AS SELECT a.x FROM zakaz.t AS a "
        "JOIN numbers(3) AS b ON a.x != toString(b.number)",
    ]
    outcomes = instance.execute_many(batch, timeout=120)
    shown = [(o.name, o.message) if o is not None else None for o in outcomes]
    file_refused = ("REFUSED", f"table function file() reaches {TABLE_FUNCTIONS['file']}")
    assert shown[:3] == [None, None, None], shown
    assert shown[3] == file_refused and shown[4] == file_refused, shown
    # no tree: it never runs, reported as ClickHouse's own syntax error
    assert shown[5] is not None and shown[5][0] == "SYNTAX_ERROR" and "Syntax error" in shown[5][1], shown
    assert shown[6] is None, shown
    tables = {row["name"] for row in instance.query("SELECT name FROM system.tables WHERE database = 'zakaz'")}
    assert tables == {"t", "inside"}
    assert instance.query("SELECT count() AS n FROM zakaz.inside") == [{"n": 3}]
