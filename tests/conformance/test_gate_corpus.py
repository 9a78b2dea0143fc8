"""The gate on the real engine: a harmless corpus meets no refusal and runs; every name is classified.

  * tests/data/gate/harmless.sql (written for chconform) is applied in order on one fresh instance with
    every layer on: no statement is refused, and each runs, or fails with the engine error its
    `/* expect NAME: why */` comment names (a configuration the sandbox does not have);
  * every table function, table engine, database engine and dictionary source the newest engine lists
    is classified in chconform.gate.catalog, and every setting it lists is in the setting table: a
    release adding a name fails here until someone classifies it;
  * every name classified as inside the engine is used by the corpus (or says why it cannot be);
    every name classified as reaching outside is refused, with that reason, in a statement using it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chconform.engines.embedded import EmbeddedBackend, EmbeddedInstance, _WorkerEngine
from chconform.gate import catalog
from chconform.gate._setting_names import MERGE_TREE, SESSION
from chconform.gate.parse import parse_many
from chconform.gate.policy import judge_many, parse_target
from chconform.sql.source import split_statements

pytestmark = pytest.mark.engine

CORPUS = Path(__file__).resolve().parents[1] / "data" / "gate" / "harmless.sql"
_EXPECT = re.compile(r"/\* expect ([A-Z_]+):")
# Inside names the corpus cannot use, and why.
NOT_IN_CORPUS = {
    "mergeTreeAnalyzeIndexesUUID": "internal: takes a table's UUID the corpus cannot know in advance",
    "mergeTreeTextIndex": "needs a text index, an experimental feature off by default",
    "timeSeriesSelector": "needs a time range and selector over series data",
    "prometheusQuery": "needs PromQL evaluation over series data",
    "prometheusQueryRange": "needs PromQL evaluation over series data",
    "input": "used, but only in an INSERT whose inline data the parser never sees",
    "View": "the engine of CREATE VIEW, never written as ENGINE = View",
    "MaterializedView": "the engine of CREATE MATERIALIZED VIEW, never written as ENGINE = MaterializedView",
}


@pytest.fixture(scope="module")
def instance() -> Iterator[EmbeddedInstance]:
    backend = EmbeddedBackend(prestart=False, timeout_s=60)
    inst = backend.instance()
    try:
        yield inst
    finally:
        inst.close()
        backend.close()


def test_the_harmless_corpus_meets_no_refusal_and_runs_fully_hardened(instance: EmbeddedInstance) -> None:
    statements = split_statements(CORPUS.read_text(encoding="utf-8"))
    outcomes = instance.execute_many([s.text for s in statements], timeout=600)
    refused = [(s.line, s.first_line, o.message) for s, o in zip(statements, outcomes)
               if o is not None and o.name == "REFUSED"]
    assert refused == [], f"{len(refused)} of {len(statements)} harmless statements refused"
    unexpected = []
    for stmt, outcome in zip(statements, outcomes):
        expected = m.group(1) if (m := _EXPECT.search(stmt.text)) else None
        got = outcome.name if outcome is not None else None
        if got != expected:
            unexpected.append((stmt.line, stmt.first_line, expected, got, outcome.message[:200] if outcome else ""))
    assert unexpected == []
    assert len(statements) > 100


def _engine_list(instance: EmbeddedInstance, table: str) -> set[str]:
    return {row["name"] for row in instance.query(f"SELECT name FROM system.{table}")}


@pytest.mark.parametrize(("table", "classified"), [
    ("table_functions", catalog.TABLE_FUNCTIONS),
    ("table_engines", catalog.TABLE_ENGINES),
    ("database_engines", catalog.DATABASE_ENGINES),
    ("dictionary_sources", catalog.DICTIONARY_SOURCES),
    ("settings", SESSION),
    ("merge_tree_settings", MERGE_TREE),
])
def test_every_name_the_engine_lists_is_classified(instance: EmbeddedInstance, table: str,
                                                   classified: dict[str, str]) -> None:
    listed = _engine_list(instance, table)
    assert sorted(listed - set(classified)) == [], f"system.{table} names nobody classified"
    assert sorted(set(classified) - listed) == [], f"classified names system.{table} no longer lists"


def _uses(trees: list[Any]) -> set[str]:
    """Table functions in table position and engine names of the corpus's parse trees."""
    found: set[str] = set()
    stack: list[tuple[str, Any]] = [("", t) for t in trees]
    while stack:
        key, node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "Function" and (key in ("table_function", "as_table_function")
                                                   or node.get("kind") in ("TABLE_ENGINE", "DATABASE_ENGINE")):
                found.add(str(node.get("name")))
            stack.extend(node.items())
        elif isinstance(node, list):
            stack.extend((key, item) for item in node)
    return found


def test_every_inside_name_is_used_by_the_corpus(instance: EmbeddedInstance) -> None:
    texts = [parse_target(s.text) for s in split_statements(CORPUS.read_text(encoding="utf-8"))]
    parsed = parse_many(_WorkerEngine(instance.worker, None, "parsing the corpus"), texts)
    used = _uses([p.tree for p in parsed if p.tree is not None])
    inside = {name for table in (catalog.TABLE_FUNCTIONS, catalog.TABLE_ENGINES, catalog.DATABASE_ENGINES)
              for name, why in table.items() if not why}
    assert sorted(inside - used - set(NOT_IN_CORPUS)) == []


def _outside_statements() -> list[tuple[str, str, str]]:
    out = []
    for name, why in catalog.TABLE_FUNCTIONS.items():
        if why:
            out.append((f"SELECT * FROM {name}('x')", f"{name}() reaches {why}", f"table function {name}"))
    for name, why in catalog.TABLE_ENGINES.items():
        if why:
            out.append((f"CREATE TABLE t (a UInt8) ENGINE = {name}", f"engine {name} reaches {why}", f"engine {name}"))
    for name, why in catalog.DATABASE_ENGINES.items():
        if why:
            out.append((f"CREATE DATABASE d ENGINE = {name}", f"engine {name} reaches {why}", f"database {name}"))
    for name, why in catalog.DICTIONARY_SOURCES.items():
        if why:
            out.append((f"CREATE DICTIONARY d (k UInt64) PRIMARY KEY k SOURCE({name.upper()}()) LAYOUT(FLAT()) "
                        "LIFETIME(0)", f"{name.upper()} source reaches {why}", f"dictionary source {name}"))
    return out


def test_every_outside_name_is_refused_with_its_reason(instance: EmbeddedInstance) -> None:
    cases = _outside_statements()
    verdicts = judge_many([c[0] for c in cases], _WorkerEngine(instance.worker, None, "judging"))
    wrong = [(what, v.action, v.reason) for (_, reason, what), v in zip(cases, verdicts)
             if v.action != "refuse" or reason not in v.reason]
    assert wrong == []
    assert len(cases) > 100


def test_a_megabyte_of_values_rows_passes_and_a_call_hidden_at_its_end_does_not(instance: EmbeddedInstance) -> None:
    """Inline data has no query size limit in the engine, so neither has the gate's reading of it."""
    rows = ", ".join(f"({i}, 'name {i}', NULL, -1.5e3, [1, 2], true)" for i in range(25000))
    literal = f"INSERT INTO big VALUES {rows}"
    computed = "INSERT INTO big VALUES (1, toString(today()), NULL, 0, [], false), (2, 'b', NULL, 0, [3], true)"
    hidden = f"INSERT INTO big VALUES {rows}, (1, `\\x66ile`('/etc/hostname'), NULL, 0, [], false)"
    assert len(literal) > 1 << 20
    verdicts = judge_many([literal, computed, hidden], _WorkerEngine(instance.worker, None, "judging"))
    assert [v.action for v in verdicts] == ["run", "run", "refuse"], verdicts
    assert "file() reaches host files" in verdicts[2].reason
