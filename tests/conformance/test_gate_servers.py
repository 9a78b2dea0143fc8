"""Statements for a server or a container pass the same gate: the embedded engine parses, the tree decides.

The server side here records what it would have been sent; the parse is the real embedded engine's.
"""

from __future__ import annotations

from typing import Any

import pytest

from chconform.engines.server import HttpInstance
from chconform.errors import EngineError

pytestmark = pytest.mark.engine


class RecordingClient:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def command(self, sql: str, **_: Any) -> None:
        self.sent.append(sql)


@pytest.mark.parametrize(("sql", "reason"), [
    ("SELECT * FROM file('/etc/hostname', 'LineAsString')", "file() reaches host files"),
    ("CREATE TABLE format (s String) ENGINE = URL('http://127.0.0.1:1/', LineAsString)", "engine URL"),
    ("INSERT INTO format SELECT file('/etc/hostname')", "file()"),
    ("SET dialect = 'kusto'", "dialect"),
    ("CREATE USER u IDENTIFIED BY 'x' SETTINGS dialect = 'kusto'", "setting dialect"),
    ("CREATE SETTINGS PROFILE sp SETTINGS max_threads = 2, additional_result_filter = 'x > 1' TO ALL",
     "setting additional_result_filter"),
    ("ALTER ROLE r SETTINGS format_schema = '/etc/hostname'", "setting format_schema"),
    ("CREATE ROW POLICY p ON t USING file('/etc/hostname') = '' TO ALL", "USING is refused: file()"),
    ("CREATE ROW POLICY p ON t USING a = 1 UNION ALL SELECT 1 TO ALL", "gives no tree"),
    ("SYSTEM SHUTDOWN", "SYSTEM statements"),
])
def test_a_server_never_receives_what_the_gate_refuses(sql: str, reason: str) -> None:
    client = RecordingClient()
    with pytest.raises(EngineError) as caught:
        HttpInstance(client, "http://ch:8123", read_only=False).execute(sql)
    assert caught.value.name == "REFUSED" and reason in caught.value.message
    assert client.sent == []


@pytest.mark.parametrize("sql", [
    "CREATE TABLE IF NOT EXISTS zakaz.t (a UInt8, j JSON(x UInt8)) ENGINE = MergeTree ORDER BY a",
    "SELECT k FROM e ARRAY JOIN mapKeys(m) AS k",
    "GRANT SELECT ON zakaz.* TO analyst",
    "CREATE ROLE IF NOT EXISTS analyst",
    "CREATE USER IF NOT EXISTS reader IDENTIFIED BY 'x' DEFAULT ROLE analyst SETTINGS max_threads = 4 READONLY",
    "CREATE SETTINGS PROFILE IF NOT EXISTS light SETTINGS max_memory_usage = 1000000 MAX 2000000 TO analyst",
    "CREATE ROW POLICY IF NOT EXISTS tenant_a ON zakaz.t USING tenant = 'a' AS RESTRICTIVE TO analyst",
    "CREATE QUOTA IF NOT EXISTS q FOR INTERVAL 1 hour MAX queries = 100 TO analyst",
    "REVOKE ALL ON zakaz.* FROM analyst",
    "DROP USER IF EXISTS reader",
    "INSERT INTO format VALUES (1)",
])
def test_a_server_receives_what_the_gate_lets_through(sql: str) -> None:
    client = RecordingClient()
    HttpInstance(client, "http://ch:8123", read_only=False).execute(sql)
    assert client.sent == [sql]
