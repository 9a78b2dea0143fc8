"""The `--reuse` reset on a real engine, here: what a source created is dropped and nothing else.

The docker backend resets its reused container through `reset()`; this test
runs the same function through a real clickhouse-connect client whose engine
is chDB (in a child process), so databases, tables, views, dictionaries and
functions are dropped for real without Docker. Users, roles and the other
access objects have no storage in chDB: their reset runs only in CI
(tests/conformance/test_docker_backend.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

SCRIPT = r"""
import json, sys, tempfile
import clickhouse_connect
from chconform.engines.docker import reset, reset_statements, take_inventory
from chconform.engines.server import HttpInstance
from chconform.config import load_config
from chconform.checks.run import load_source
from chconform.schema.snapshot import take_snapshot

config = load_config(sys.argv[1])
with tempfile.TemporaryDirectory() as scratch:
    client = clickhouse_connect.get_client(interface="chdb", path=scratch)
    server = HttpInstance(client, "chdb", read_only=False)
    server.execute("CREATE TABLE default.kept (a String) ENGINE = MergeTree ORDER BY a")  # there before: stays
    baseline, fresh = take_inventory(server.query), take_snapshot(server.query)
    for text in config.prelude:
        server.execute(text)
    for statement in load_source(config.canonical_source).statements:
        server.execute(statement.text)
    for sql in ("CREATE TABLE default.src (k String, v String) ENGINE = MergeTree ORDER BY k",
                "CREATE DICTIONARY default.dict (k String, v String) PRIMARY KEY k "
                "SOURCE(CLICKHOUSE(TABLE 'src')) LIFETIME(0) LAYOUT(HASHED())",
                "CREATE TABLE default.reads_dict (k String, v String DEFAULT dictGetString('default.dict', 'v', k)) "
                "ENGINE = MergeTree ORDER BY k",
                "CREATE VIEW default.v AS SELECT * FROM default.src",
                "CREATE FUNCTION chconform_test_inc AS (x) -> x + 1"):
        server.execute(sql)
    dirty = take_snapshot(server.query)
    planned = reset_statements(baseline, take_inventory(server.query))
    reset(server, baseline)
    result = {
        "planned": planned,
        "dirty_differs": dirty != fresh,
        "same_snapshot": take_snapshot(server.query) == fresh,
        "same_inventory": take_inventory(server.query) == baseline,
        "kept": [t.fqn for t in take_snapshot(server.query).tables],
    }
    client.close()
print(json.dumps(result))
"""


def test_reset_drops_what_the_source_created_and_keeps_the_rest() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(PYPROJECT)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dirty_differs"]  # the test has teeth
    assert result["same_snapshot"] and result["same_inventory"], result
    assert result["kept"] == ["default.kept"]
    assert "DROP DATABASE IF EXISTS `zakaz` SYNC" in result["planned"]
    assert "DROP FUNCTION IF EXISTS `chconform_test_inc`" in result["planned"]
    assert not any("`kept`" in sql for sql in result["planned"])
