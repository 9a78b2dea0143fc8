"""`chconform plan` on the real engine: what a drifted source builds plus its plan equals what the canon builds.

A property test over random mutations of a canonical schema of our own (types, defaults, codecs, TTLs,
keys, indices, engines, views), the golden drift cases of the repository's sources, losses said up front,
and the plan appended to a drifted copy making `chconform check` pass.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from chconform.cli import run
from chconform.config import load_config
from chconform.engines import get_backend
from chconform.plan.prove import build_canon, plan_source

from .repo_copy import copy_sources, replace_once

pytestmark = pytest.mark.engine

CANON = """CREATE DATABASE IF NOT EXISTS shop;

CREATE TABLE IF NOT EXISTS shop.orders
(
    order_id UInt64,
    customer LowCardinality(String) COMMENT 'who',
    amount Decimal(12, 2) DEFAULT 0,
    note String DEFAULT '' CODEC(ZSTD(3)),
    placed DateTime,
    day Date MATERIALIZED toDate(placed),
    INDEX by_customer customer TYPE set(100) GRANULARITY 4,
    CONSTRAINT positive CHECK amount >= 0
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(placed)
ORDER BY (order_id, placed)
TTL placed + INTERVAL 5 YEAR
SETTINGS index_granularity = 8192, merge_with_ttl_timeout = 86400
COMMENT 'orders';

CREATE TABLE IF NOT EXISTS shop.events
(
    ts DateTime64(3),
    kind Enum8('view' = 1, 'buy' = 2),
    payload Map(String, UInt64),
    tags Array(String)
)
ENGINE = MergeTree
ORDER BY ts;

CREATE VIEW IF NOT EXISTS shop.big_orders AS
SELECT order_id, customer, amount FROM shop.orders WHERE amount > 100;

CREATE TABLE IF NOT EXISTS shop.daily (day Date, n UInt64) ENGINE = SummingMergeTree ORDER BY day;

CREATE MATERIALIZED VIEW IF NOT EXISTS shop.daily_mv TO shop.daily AS
SELECT toDate(placed) AS day, count() AS n FROM shop.orders GROUP BY day;
"""

# (name, old, new): one clause of the canon changed in the mutant
MUTATIONS = [
    ("column type", "amount Decimal(12, 2) DEFAULT 0", "amount Decimal(18, 4) DEFAULT 0"),
    ("low cardinality dropped", "customer LowCardinality(String) COMMENT 'who'", "customer String COMMENT 'who'"),
    ("default changed", "amount Decimal(12, 2) DEFAULT 0", "amount Decimal(12, 2) DEFAULT 1"),
    ("default dropped", "note String DEFAULT '' CODEC(ZSTD(3))", "note String CODEC(ZSTD(3))"),
    ("codec changed", "CODEC(ZSTD(3))", "CODEC(LZ4HC(9))"),
    ("codec dropped", " CODEC(ZSTD(3))", ""),
    ("comment changed", "COMMENT 'who'", "COMMENT 'customer'"),
    ("column missing", "    tags Array(String)\n", "    tags Array(String),\n    extra UInt8\n"),
    ("column extra", "    payload Map(String, UInt64),\n", ""),
    ("column renamed", "    tags Array(String)\n", "    labels Array(String)\n"),
    ("column order", "    kind Enum8('view' = 1, 'buy' = 2),\n    payload Map(String, UInt64),",
     "    payload Map(String, UInt64),\n    kind Enum8('view' = 1, 'buy' = 2),"),
    ("materialized changed", "MATERIALIZED toDate(placed)", "MATERIALIZED toMonday(placed)"),
    ("index type", "TYPE set(100) GRANULARITY 4", "TYPE bloom_filter GRANULARITY 4"),
    ("index missing", "    INDEX by_customer customer TYPE set(100) GRANULARITY 4,\n", ""),
    ("constraint changed", "CHECK amount >= 0", "CHECK amount > -1"),
    ("table ttl changed", "TTL placed + INTERVAL 5 YEAR", "TTL placed + INTERVAL 3 YEAR"),
    ("table ttl dropped", "TTL placed + INTERVAL 5 YEAR\n", ""),
    ("column ttl added", "    tags Array(String)\n", "    tags Array(String) TTL toDateTime(ts) + INTERVAL 1 DAY\n"),
    ("setting changed", "merge_with_ttl_timeout = 86400", "merge_with_ttl_timeout = 3600"),
    ("table comment", "COMMENT 'orders'", "COMMENT 'old'"),
    ("engine", "ENGINE = ReplacingMergeTree\n", "ENGINE = MergeTree\n"),
    ("partition", "PARTITION BY toYYYYMM(placed)", "PARTITION BY toYear(placed)"),
    ("sorting key", "ORDER BY (order_id, placed)", "ORDER BY (placed, order_id)"),
    ("sorting key of events", "ORDER BY ts;", "ORDER BY (kind, ts);"),
    ("view query", "WHERE amount > 100", "WHERE amount > 50"),
    ("materialized view query", "SELECT toDate(placed) AS day, count() AS n", "SELECT toMonday(placed) AS day, count() AS n"),
    ("key column type", "order_id UInt64", "order_id UInt32"),
]


def _workspace(tmp_path: Path, mutants: dict[str, str]) -> Path:
    (tmp_path / "canon.sql").write_text(CANON, encoding="utf-8")
    lines = ['root = "."', 'canonical = "canon.sql"', "", "[[source]]", 'path = "canon.sql"', 'role = "dump"']
    for name, text in mutants.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        lines += ["", "[[source]]", f'path = "{name}"', 'role = "init"']
    (tmp_path / "chconform.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "chconform.toml"


def _mutant(changes: list[tuple[str, str, str]]) -> str:
    text = CANON
    for _, old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _cases() -> list[list[tuple[str, str, str]]]:
    rng = random.Random(20261201)
    singles = [[m] for m in MUTATIONS]
    pairs = []
    while len(pairs) < 6:  # two clauses at once, where the second still applies after the first
        a, b = rng.sample(MUTATIONS, 2)
        if b[1] in _mutant([a]) and a[1] != b[1]:
            pairs.append([a, b])
    return singles + pairs


@pytest.fixture(scope="module")
def proofs(tmp_path_factory: pytest.TempPathFactory):
    cases = _cases()
    mutants = {f"m{i:02}.sql": _mutant(c) for i, c in enumerate(cases)}
    config = load_config(_workspace(tmp_path_factory.mktemp("plan"), mutants))
    backend = get_backend("embedded", timeout_s=config.timeout_s, root=config.root)
    try:
        canon = build_canon(config, backend)
        out = {name: (cases[i], plan_source(config, backend, config.source(name), canon))
               for i, name in enumerate(mutants)}
    finally:
        backend.close()
    return out


def _ids() -> list[str]:
    return [" + ".join(m[0] for m in case) for case in _cases()]


@pytest.mark.parametrize("index", range(len(_cases())), ids=_ids())
def test_mutant_plus_its_plan_builds_the_canon(proofs, index: int) -> None:
    changes, proof = proofs[f"m{index:02}.sql"]
    shown = "\n".join(s.statement for s in proof.steps)
    assert proof.steps, f"no plan for {changes}"
    assert proof.errors == (), (shown, proof.errors)
    assert proof.remaining == (), (shown, proof.remaining)
    assert proof.rerun == (), (shown, proof.rerun)
    assert proof.proven


def test_a_plan_that_loses_rows_says_so(tmp_path: Path) -> None:
    """An MV with its own storage cannot be changed in place: its rows go, and the plan says it first."""
    canon = "CREATE DATABASE IF NOT EXISTS s;\nCREATE TABLE IF NOT EXISTS s.t (a UInt8) ENGINE = MergeTree ORDER BY a;\n" \
            "CREATE MATERIALIZED VIEW IF NOT EXISTS s.mv ENGINE = MergeTree ORDER BY a AS SELECT a FROM s.t;\n"
    config = _workspace(tmp_path, {"old.sql": canon.replace("SELECT a FROM s.t", "SELECT a FROM s.t WHERE a > 0")})
    (tmp_path / "canon.sql").write_text(canon, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run(["plan", "--config", str(config), "old.sql"], out, err)
    assert code == 0, out.getvalue() + err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("-- LOSES ROWS: s.mv: 1 → 0 (1 lost)"), out.getvalue()
    assert "no row lost" not in out.getvalue()
    assert "-- the plan's rows are not backfilled" not in out.getvalue()
    assert "rows written before the view is re-created are not backfilled" in out.getvalue()


def test_plan_appended_to_drifted_repository_sources_conforms(tmp_path: Path) -> None:
    """The held-out check: a column type change and an ORDER BY change that needs a rebuild."""
    config = copy_sources(tmp_path / "copy")
    inventory = "CREATE TABLE IF NOT EXISTS zakaz.fact_qtickets_inventory\n(\n    event_id String,\n    city LowCardinality(String),"
    replace_once(config.parent / "migrations/2025-qtickets-api.sql", inventory,
                 inventory.replace("LowCardinality(String)", "String"))
    replace_once(config.parent / "init.sql", "ORDER BY event_id\n", "ORDER BY (event_id, city)\n")
    replace_once(config.parent / "init_integrations.sql", "spend Float64", "spend Float32")
    for source in ("migrations/2025-qtickets-api.sql", "init.sql", "init_integrations.sql"):
        out, err = io.StringIO(), io.StringIO()
        assert run(["plan", "--config", str(config), source], out, err) == 0, out.getvalue() + err.getvalue()
        with (config.parent / source).open("a", encoding="utf-8") as handle:
            handle.write(out.getvalue())
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--config", str(config), "--no-cache", "--format", "json"], out, err)
    report = json.loads(out.getvalue())
    assert code == 0, [(s["path"], s["differences"], s["errors"]) for s in report["sources"] if not s["ok"]]


def test_a_plan_that_cannot_reach_the_canon_is_not_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the plan generator broken (it forgets column types), the proof refuses to print it: exit 1."""
    from chconform.plan import prove

    config = _workspace(tmp_path, {"old.sql": _mutant([MUTATIONS[0]])})
    monkeypatch.setattr(prove, "plan_steps", lambda *a, **k: [])
    out, err = io.StringIO(), io.StringIO()
    code = run(["plan", "--config", str(config), "old.sql"], out, err)
    assert code == 1
    assert "-- NO PLAN: the generated plan does not reach the canon" in out.getvalue()
    assert "still differs: shop.orders.amount column_type" in out.getvalue()
    assert "ALTER" not in out.getvalue()


def _golden_with_canonical_drift() -> list[str]:
    from .golden import case_names, expected

    return [n for n in case_names() if not expected(n)["errors"]
            and any(f["check"] == "canonical" for f in expected(n)["findings"])]


@pytest.fixture(scope="module")
def golden_proofs(tmp_path_factory: pytest.TempPathFactory):
    from .golden import case_config

    out = {}
    backend = get_backend("embedded", timeout_s=60)
    try:
        for name in _golden_with_canonical_drift():
            config = case_config(name, tmp_path_factory.mktemp(name))
            out[name] = plan_source(config, backend, config.source("drifted.sql"), build_canon(config, backend))
    finally:
        backend.close()
    return out


@pytest.mark.parametrize("name", _golden_with_canonical_drift())
def test_each_golden_drift_case_gets_a_proven_plan(golden_proofs, name: str) -> None:
    proof = golden_proofs[name]
    shown = "\n".join(s.statement for s in proof.steps)
    assert proof.steps and proof.proven, (shown, proof.errors, proof.remaining, proof.rerun)


def test_an_in_place_step_the_engine_refuses_falls_back_to_a_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Older releases forbid some ALTERs (24.8: a type change of a column an index reads); the proof then tries
    the same tables rebuilt. Here every ALTER is made one the engine refuses, so only the rebuild can pass."""
    from chconform.plan import steps

    monkeypatch.setattr(steps, "_table_steps", lambda want, got: ([["MODIFY SETTING no_such_setting = 1"]], []))
    config = load_config(_workspace(tmp_path, {"old.sql": _mutant([MUTATIONS[0]])}))
    backend = get_backend("embedded", timeout_s=config.timeout_s)
    try:
        proof = plan_source(config, backend, config.source("old.sql"), build_canon(config, backend))
    finally:
        backend.close()
    assert proof.proven, (proof.errors, proof.remaining)
    assert [s.kind for s in proof.steps] == ["rebuild", "view"]  # the view reads the retyped column


def test_a_view_plan_appended_conforms(tmp_path: Path) -> None:
    """CREATE OR REPLACE VIEW replaces the file's earlier definition: no duplicate finding for it."""
    config = copy_sources(tmp_path / "copy")
    replace_once(config.parent / "bootstrap_all.sql", "tickets_total - tickets_left AS tickets_sold",
                 "tickets_total + tickets_left AS tickets_sold")
    out, err = io.StringIO(), io.StringIO()
    assert run(["plan", "--config", str(config), "bootstrap_all.sql"], out, err) == 0, out.getvalue() + err.getvalue()
    assert "CREATE OR REPLACE VIEW zakaz.v_qtickets_inventory" in out.getvalue()
    with (config.parent / "bootstrap_all.sql").open("a", encoding="utf-8") as handle:
        handle.write(out.getvalue())
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--config", str(config), "--no-cache", "--source", "bootstrap_all.sql", "-q"], out, err)
    assert code == 0, out.getvalue()
