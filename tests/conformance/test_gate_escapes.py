"""Each way around the old gate (issue 10), on the real engine: refused by the gate, and escaping without it.

For every bypass class a planted secret file, a directory to write into and a TCP listener say whether
the attack got out:
  * with the gate alone (every other layer off) the attack is REFUSED and leaves no evidence;
  * with every layer on it is REFUSED too;
  * with every layer off the same statements do leak the secret or connect, so these tests can fail.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chconform.engines.embedded import EmbeddedBackend, Hardening
from chconform.errors import EngineError

pytestmark = pytest.mark.engine

SECRET = f"chconform-gate-secret-{uuid.uuid4().hex[:12]}"
TIMEOUT_S = 5.0

# name → (what it tries, statements; the last ones read what leaked)
ATTACKS: dict[str, tuple[str, list[str]]] = {
    "dictionary_where": ("SQL in a CLICKHOUSE dictionary's WHERE", [
        "CREATE TABLE src (k UInt64, v String) ENGINE = Memory",
        "INSERT INTO src VALUES (1, 'one')",
        ("CREATE DICTIONARY dw (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(TABLE 'src' "
         "WHERE 'k = 0 UNION ALL SELECT toUInt64(2), file(''{secret}'')')) LAYOUT(HASHED()) LIFETIME(0)"),
        "SELECT dictGet('dw', 'v', toUInt64(2)) AS v"]),
    "dictionary_query": ("SQL in a CLICKHOUSE dictionary's QUERY", [
        ("CREATE DICTIONARY dq (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(QUERY "
         "'SELECT toUInt64(2) AS k, file(''{secret}'') AS v')) LAYOUT(HASHED()) LIFETIME(0)"),
        "SELECT dictGet('dq', 'v', toUInt64(2)) AS v"]),
    "dictionary_host_expression": ("a CLICKHOUSE dictionary's HOST as an expression, with a PORT", [
        "CREATE TABLE src (k UInt64, v String) ENGINE = Memory",
        ("CREATE DICTIONARY dh (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(HOST concat('127.0.0', '.1') "
         "PORT {port} TABLE 'src')) LAYOUT(HASHED()) LIFETIME(0)"),
        "SELECT dictGet('dh', 'v', toUInt64(1)) AS v"]),
    "dictionary_local_port": ("a CLICKHOUSE dictionary on a literal local host with a PORT", [
        "CREATE TABLE src (k UInt64, v String) ENGINE = Memory",
        ("CREATE DICTIONARY dp (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(HOST 'localhost' "
         "PORT {port} TABLE 'src')) LAYOUT(HASHED()) LIFETIME(0)"),
        "SELECT dictGet('dp', 'v', toUInt64(1)) AS v"]),
    "dialect_kusto": ("SET dialect: text in a language the gate never parsed", [
        "SET allow_experimental_kusto_dialect = 1",
        "SET dialect = 'kusto'",
        "print x = file('{secret}')"]),
    "insert_into_format": ("a table named format: the rest taken for inline data", [
        "CREATE TABLE format (s String) ENGINE = Memory",
        "INSERT INTO format SELECT file('{secret}')",
        "SELECT * FROM format"]),
    "unserialisable_with_escape": ("a JSON(...) column (no JSON tree) and an escaped name \\x66ile", [
        "CREATE TABLE j (a JSON(x UInt8), s String DEFAULT `\\x66ile`('{secret}')) ENGINE = Memory",
        "INSERT INTO j (a) VALUES ('{{}}')",
        "SELECT s FROM j"]),
    "unserialisable_outfile": ("SHOW CREATE (no JSON tree) INTO OUTFILE writes a host file", [
        "CREATE TABLE shown (a UInt8) ENGINE = Memory COMMENT '{secret}'",
        "SHOW CREATE TABLE shown INTO OUTFILE '{out}/shown.sql' FORMAT TSVRaw"]),
    "insert_alias_values": ("a SELECT from input() aliased VALUES: the rest taken for inline data", [
        "CREATE TABLE av (s String) ENGINE = Memory",
        "INSERT INTO av SELECT * FROM input('s String') AS VALUES UNION ALL SELECT file('{secret}') FORMAT CSV\nx\n",
        "SELECT * FROM av"]),
    "values_expression": ("file() evaluated in INSERT … VALUES rows", [
        "CREATE TABLE vf (s String) ENGINE = Memory",
        "INSERT INTO vf VALUES ('a'), (`\\x66ile`('{secret}'))",
        "SELECT * FROM vf"]),
}
# Every other switch off, results shipped back (drop_results off) so a probe sees what an escape read.
_OFF = dict(gate=False, privileges=False, constraints=False, landlock=False, drop_results=False)
LAYERS = {
    "gate": Hardening(**{**_OFF, "gate": True}),
    "all": Hardening(),
    "none": Hardening(**_OFF),
}


@dataclass
class Probe:
    root: Path
    port: int = 0
    hits: list[int] = field(default_factory=list)

    def evidence(self, replies: list[str]) -> list[str]:
        found = ["read the secret"] if any(SECRET in r for r in replies) else []
        found += [f"wrote {p.name}" for p in (self.root / "out").iterdir()]
        return found + ([f"{len(self.hits)} TCP connection(s)"] if self.hits else [])


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    (tmp_path / "out").mkdir()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    p = Probe(tmp_path, server.getsockname()[1])

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            p.hits.append(1)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield p
    server.shutdown(socket.SHUT_RDWR)
    server.close()
    thread.join()


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, EmbeddedBackend]]:
    made = {name: EmbeddedBackend(prestart=False, hardening=h, timeout_s=TIMEOUT_S) for name, h in LAYERS.items()}
    yield made
    for backend in made.values():
        backend.close()


def attempt(backend: EmbeddedBackend, name: str, probe: Probe) -> tuple[list[str], list[EngineError]]:
    replies: list[str] = []
    errors: list[EngineError] = []
    instance = backend.instance()
    try:
        for sql in ATTACKS[name][1]:
            text = sql.format(secret=probe.root / "secret.txt", port=probe.port, out=probe.root / "out")
            try:
                replies.append(instance.worker.call({"sql": text, "fmt": "JSONEachRow"}, 2 * TIMEOUT_S, "attack"))
            except EngineError as exc:
                errors.append(exc)
                if exc.name in ("TIMEOUT", "ENGINE_CRASHED"):
                    break
    finally:
        instance.close()
    return replies, errors


@pytest.mark.parametrize("layer", ["gate", "all"])
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_the_gate_refuses_each_bypass_and_nothing_gets_out(name: str, layer: str, probe: Probe,
                                                           backends: dict[str, EmbeddedBackend]) -> None:
    replies, errors = attempt(backends[layer], name, probe)
    shown = f"errors: {[f'{e.name}: {e.message[:160]}' for e in errors]}\nreplies: {[r[:160] for r in replies]}"
    assert probe.evidence(replies) == [], shown
    assert any(e.name == "REFUSED" for e in errors), shown


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_without_the_gate_each_bypass_gets_out(name: str, probe: Probe, backends: dict[str, EmbeddedBackend]) -> None:
    replies, errors = attempt(backends["none"], name, probe)
    assert probe.evidence(replies), f"errors: {[f'{e.name}: {e.message[:200]}' for e in errors]}"
