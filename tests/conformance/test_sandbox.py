"""Hostile SQL against the real embedded engine: every attack of issue 6 is refused or contained.

Each attack runs on a fresh instance with evidence it can leave behind: a
secret file outside the worker (read?), a directory to write into (written?),
a command that would touch a file (executed?), a TCP listener (connected?), a
directory to move in (moved?), a Python variable of this process (seen?).
  * with every layer on, each attack is refused by the gate or contained;
  * each layer on its own stops the attacks it is meant to stop (its own error);
  * with every layer off the same attacks do leave evidence, so the probes work.
Ordinary Zakaz DDL still runs: `chconform check` on the repository passes.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chconform.checks.run import run_check
from chconform.cli import run
from chconform.config import load_config
from chconform.engines.embedded import EmbeddedBackend, EmbeddedInstance, Hardening, limit_settings
from chconform.errors import EngineError
from chconform.reports.render import render_json, render_text
from tests.reliability import normalise, record

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parents[2]
SECRET = f"chconform-secret-{uuid.uuid4().hex[:12]}"
# A variable of the calling process: Python(...) in SQL must not reach it.
chconform_caller_secret = {"a": [SECRET]}

ATTACKS: dict[str, tuple[str, list[str]]] = {
    "read_file_table": ("read a host file with the file() table function",
                        ["SELECT * FROM file('{secret}', 'LineAsString')"]),
    "read_file_scalar": ("read a host file with the scalar file()", ["SELECT file('{secret}') AS f"]),
    "read_etc_hostname": ("the issue's own example: SELECT file('/etc/hostname')", ["SELECT file('/etc/hostname') AS f"]),
    "read_overlay": ("read a host file as a table of the default database", ["SELECT * FROM `{secret}`"]),
    "read_engine_file": ("a File-engine table over a host file",
                         ["CREATE TABLE ef (s String) ENGINE = File(LineAsString, '{secret}')", "SELECT * FROM ef"]),
    "read_in_values": ("file() evaluated inside INSERT … VALUES",
                       ["CREATE TABLE vf (s String) ENGINE = Memory", "INSERT INTO vf VALUES (file('{secret}'))",
                        "SELECT * FROM vf"]),
    "read_template_setting": ("a SET naming a file the output format reads",
                              ["SET format_template_resultset = '{template}'", "SET format_template_row = '{row}'",
                               "SELECT 1 AS x FORMAT Template"]),
    "write_insert_function": ("write a host file with INSERT INTO FUNCTION file()",
                              ["INSERT INTO FUNCTION file('{out}/written.tsv', 'TSV', 'a String') VALUES ('x')"]),
    "write_outfile": ("write a host file with INTO OUTFILE", ["SELECT 1 INTO OUTFILE '{out}/outfile.txt'"]),
    "write_disk_setting": ("a table on a custom disk outside the engine",
                           [("CREATE TABLE dk (a UInt8) ENGINE = MergeTree ORDER BY a "
                            "SETTINGS disk = disk(type = local, path = '{out}/disk/')")]),
    "exec_dictionary": ("run a command from a dictionary with SOURCE(EXECUTABLE)",
                        ["CREATE DATABASE IF NOT EXISTS z",
                         ("CREATE DICTIONARY z.dx (k UInt64, v String) PRIMARY KEY k SOURCE(EXECUTABLE("
                         "COMMAND 'touch {out}/executed; printf \"1\\\\tx\\\\n\"' FORMAT TabSeparated)) "
                         "LAYOUT(FLAT()) LIFETIME(0)"),
                         "SELECT dictGet('z.dx', 'v', toUInt64(1)) AS v"]),
    "network_url": ("reach the network with url()", ["SELECT * FROM url('http://127.0.0.1:{port}/', 'LineAsString')"]),
    "network_http_dictionary": ("reach the network from a dictionary with SOURCE(HTTP)",
                                ["CREATE DATABASE IF NOT EXISTS z",
                                 ("CREATE DICTIONARY z.dh (k UInt64, v String) PRIMARY KEY k SOURCE(HTTP("
                                 "URL 'http://127.0.0.1:{port}/' FORMAT TabSeparated)) LAYOUT(FLAT()) LIFETIME(0)"),
                                 "SELECT dictGet('z.dh', 'v', toUInt64(1)) AS v"]),
    "network_remote": ("reach another server with remote()", ["SELECT * FROM remote('127.0.0.1:{port}', system.one)"]),
    "attach_from_path": ("move a host directory into the engine with ATTACH … FROM",
                         ["CREATE DATABASE IF NOT EXISTS z",
                          "ATTACH TABLE z.moved FROM '{victim}' (s String) ENGINE = MergeTree ORDER BY s",
                          "ATTACH TABLE z.here FROM '.' (s String) ENGINE = MergeTree ORDER BY s"]),
    "read_parent_environ": ("read the parent's environment (its secrets) through /proc",
                            ["SELECT file('/proc/{ppid}/environ') AS e"]),
    "python_variable": ("read a Python variable of the caller with Python()",
                        ["SELECT * FROM Python(chconform_caller_secret)"]),
    "hang_sleep": ("hang with sleepEachRow", ["SELECT sleepEachRow(0.5) FROM numbers(1000) SETTINGS max_block_size = 1"]),
    "hang_numbers": ("hang with numbers(1e12)", ["SELECT sum(number) FROM numbers(1e12)"]),
    "lift_timeout": ("lift the time limit with SET", ["SET max_execution_time = 100000",
                                                      "SELECT getSetting('max_execution_time') AS m"]),
    "system_shutdown": ("stop the engine with SYSTEM SHUTDOWN", ["SYSTEM SHUTDOWN", "SELECT 'alive' AS a"]),
    "kill_query": ("stop other queries with KILL", ["KILL QUERY WHERE 1"]),
}

# Every switch off: the gate, privileges, constraints, Landlock, and the worker's dropping of statement
# results (so a probe sees what an escape read), its verdict session (not at stake here).
_OFF = dict(gate=False, privileges=False, constraints=False, landlock=False, drop_results=False,
            verdict_session=False)


def _only(**on: Any) -> Hardening:
    """Every layer off but those given (and any resource limit given)."""
    return Hardening(**{**_OFF, **on})


LAYERS = {
    "all": Hardening(),
    "none": _only(),
    "gate": _only(gate=True),
    "privileges": _only(privileges=True),
    "constraints": _only(constraints=True),
    "landlock": _only(landlock=True),
    "landlock_all_proc": _only(landlock=True, narrow_proc=False),  # Landlock as before issue 11: all of /proc
    "results": _only(drop_results=True),
    "process": _only(),
}
TIMEOUT_S = 3.0  # the engine's own limit is 2 s; the wall clock per statement is twice TIMEOUT_S (4 s of margin)
# With every layer on, the gate refuses all but these, which the engine itself contains:
FULLY_HARDENED = {"hang_sleep": "TIMEOUT_EXCEEDED", "hang_numbers": "TIMEOUT_EXCEEDED",  # max_execution_time
                  "lift_timeout": "SETTING_CONSTRAINT_VIOLATION",  # <max> constraint
                  "read_overlay": "UNKNOWN_TABLE"}  # the default database is plain Atomic, not the file overlay
# What each layer alone must stop, and how it says so (a substring of the error name or message).
STOPS: dict[str, dict[str, str]] = {
    "gate": {name: "REFUSED" for name in ATTACKS if name not in FULLY_HARDENED},
    "privileges": {name: "ACCESS_DENIED" for name in (
        "read_file_table", "read_engine_file", "write_insert_function", "network_url", "network_remote",
        "system_shutdown")},
    "constraints": {"read_template_setting": "SETTING_CONSTRAINT_VIOLATION", "lift_timeout": "SETTING_CONSTRAINT_VIOLATION",
                    "python_variable": "FUNCTION_NOT_ALLOWED", "hang_numbers": "TIMEOUT_EXCEEDED",
                    "hang_sleep": "TIMEOUT_EXCEEDED"},
    "landlock": {"read_file_table": "Permission denied", "read_file_scalar": "Permission denied",
                 "read_etc_hostname": "Permission denied", "read_engine_file": "Permission denied",
                 "read_in_values": "Permission denied", "read_template_setting": "Permission denied",
                 "write_insert_function": "Permission denied", "write_outfile": "Permission denied",
                 "write_disk_setting": "BAD_ARGUMENTS", "exec_dictionary": "CHILD_WAS_NOT_EXITED_NORMALLY",
                 "network_url": "TIMEOUT", "network_http_dictionary": "TIMEOUT", "network_remote": "Permission denied",
                 "read_parent_environ": "Permission denied"},
    # own process, own directories, wall clock: contained with every other layer off
    "process": {"python_variable": "PY_OBJECT_NOT_FOUND", "read_overlay": "UNKNOWN_TABLE",
                "attach_from_path": "PATH_ACCESS_DENIED", "hang_numbers": "TIMEOUT", "system_shutdown": "ENGINE_CRASHED"},
}
# Production's release, ClickHouse 24.8 (chdb 3.3.0), differs; measured. Signatures a layer stops an attack with
# there, where they differ from the newest's:
RELEASE_STOPS: dict[str, dict[tuple[str, str], str]] = {
    "24.8": {("landlock", "network_remote"): "Poco::IOException"},  # the denied connect() surfaces as an I/O error
}
# (layer, attack) a layer alone does not stop on a release, because that release's engine gives it nothing to stop
# it with: (what the attack then does, the layer that alone stops it there, that layer's signature).
#   ATTACH ... FROM: 24.8's engine moves a host directory into its store (26.x refuses it: PATH_ACCESS_DENIED);
#   python(): 24.8 has no setting that turns it off, so no constraint locks it (the variable is not in the worker).
RELEASE_GAPS: dict[str, dict[tuple[str, str], tuple[str, str, str]]] = {
    "24.8": {("process", "attach_from_path"): ("moved the victim directory", "landlock", "Permission denied"),
             ("constraints", "python_variable"): ("PY_OBJECT_NOT_FOUND", "gate", "REFUSED")},
}
# Escapes a release's engine does not open even with every layer off: (attack, what refuses it).
RELEASE_CLOSED: dict[str, dict[str, str]] = {
    "24.8": {"write_disk_setting": "custom_local_disks_base_directory"},  # a local disk() needs a configured base
}
# With every layer off these do leave evidence: the probes can see an escape.
ESCAPES = ["read_file_table", "read_file_scalar", "read_engine_file", "read_in_values", "read_template_setting",
           "write_insert_function", "write_outfile", "write_disk_setting", "exec_dictionary", "network_url",
           "network_remote", "lift_timeout", "read_parent_environ"]
# Landlock as it was (all of /proc readable) lets the parent's environment through: narrowing /proc stops it.
ESCAPES_WITH_ALL_PROC = ["read_parent_environ"]
# Reads that reach the parent only as a statement's result: the worker drops results, so nothing arrives.
READS = ["read_file_table", "read_file_scalar", "read_engine_file", "read_in_values", "read_parent_environ"]


def _parent_env() -> list[str]:
    """This process's environment as the kernel shows it in /proc now (what an escape would read).

    Read at the time of the check: a process title (pytest-xdist sets one) overwrites part of that memory.
    """
    entries = Path("/proc/self/environ").read_bytes().split(b"\0")
    worker_keys = (b"PATH=", b"HOME=", b"TMPDIR=", b"LANG=", b"PYTHON")  # a worker's own entries prove nothing
    return [e.decode(errors="replace") for e in entries
            if b"=" in e and len(e) >= 8 and b'"' not in e and b"\\" not in e and not e.startswith(worker_keys)]


@dataclass
class Probe:
    """Everything an escape could leave behind."""

    root: Path
    hostname: str
    port: int = 0
    hits: list[int] = field(default_factory=list)

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def victim(self) -> Path:
        return self.root / "victim"

    def values(self) -> dict[str, str]:
        return {"secret": str(self.root / "secret.txt"), "out": str(self.out), "port": str(self.port),
                "ppid": str(os.getpid()),
                "victim": str(self.victim), "template": str(self.root / "template.txt"), "row": str(self.root / "row.txt")}

    def evidence(self, replies: list[str]) -> list[str]:
        found = []
        text = "\n".join(replies)
        if SECRET in text:
            found.append("read the secret")
        if self.hostname and any(self.hostname in r for r in replies):
            found.append("read /etc/hostname")
        if any(self.out.iterdir()):
            found.append(f"wrote {sorted(p.name for p in self.out.iterdir())}")
        if not (self.victim / "keep.txt").is_file():
            found.append("moved the victim directory")
        if self.hits:
            found.append(f"{len(self.hits)} TCP connection(s)")
        if any('"m":100000' in r for r in replies):
            found.append("lifted the time limit")
        if any(e in r or e.replace("/", "\\/") in r for e in _parent_env() for r in replies):
            found.append("read the parent's environment")
        return found


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    (tmp_path / "out").mkdir()
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "keep.txt").write_text("keep me\n")
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    (tmp_path / "template.txt").write_text(SECRET + " ${data}")
    (tmp_path / "row.txt").write_text("${x:CSV}")
    try:
        hostname = Path("/etc/hostname").read_text().strip()
    except OSError:
        hostname = ""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    p = Probe(tmp_path, hostname if len(hostname) >= 3 else "", server.getsockname()[1])

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
    server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
    server.close()
    thread.join()


_BACKENDS: dict[str, EmbeddedBackend] = {}
_RELEASE = ["26.9"]  # the release `backends` serves now (conftest.py: every test using it runs per release)


@pytest.fixture(scope="module")
def backends(release: str) -> Iterator[dict[str, EmbeddedBackend]]:
    _RELEASE[0] = release
    yield _BACKENDS
    for backend in _BACKENDS.values():
        backend.close()
    _BACKENDS.clear()


def backend_for(backends: dict[str, EmbeddedBackend], layer: str) -> EmbeddedBackend:
    if layer not in backends:
        backends[layer] = EmbeddedBackend(prestart=False, hardening=LAYERS[layer], timeout_s=TIMEOUT_S,
                                          engine=_RELEASE[0])
    return backends[layer]


@dataclass
class Attempt:
    replies: list[str]
    errors: list[EngineError]
    evidence: list[str]

    def shown(self) -> str:
        return (f"evidence: {self.evidence}\nerrors: {[f'{e.name}: {e.message[:200]}' for e in self.errors]}\n"
                f"replies: {[r[:200] for r in self.replies]}")

    def outcome(self, probe: Probe) -> str:
        first = self.errors[0] if self.errors else None
        text = f"{first.name}: {first.message}" if first else "ran"
        return normalise(text, probe.root)


def attempt(backend: EmbeddedBackend, name: str, probe: Probe) -> Attempt:
    """Run the attack's statements in order on a fresh instance; a dead engine ends the attempt."""
    replies: list[str] = []
    errors: list[EngineError] = []
    instance = backend.instance()
    try:
        for sql in ATTACKS[name][1]:
            text = sql.format(**probe.values())
            try:
                replies.append(instance.worker.call({"sql": text, "fmt": "JSONEachRow"}, 2 * TIMEOUT_S, "attack"))
            except EngineError as exc:
                errors.append(exc)
                if exc.name in ("TIMEOUT", "ENGINE_CRASHED"):
                    break
    finally:
        instance.close()
    return Attempt(replies, errors, probe.evidence(replies))


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_every_attack_is_refused_or_contained(name: str, probe: Probe, backends: dict[str, EmbeddedBackend]) -> None:
    result = attempt(backend_for(backends, "all"), name, probe)
    assert result.evidence == [], result.shown()
    assert result.errors, result.shown()
    assert result.errors[0].name == FULLY_HARDENED.get(name, "REFUSED"), result.shown()
    record("hostile statement", name, ATTACKS[name][0], result.outcome(probe), ATTACKS)


LAYER_CASES = sorted((layer, name) for layer, names in STOPS.items() for name in names)


@pytest.mark.parametrize(("layer", "name"), LAYER_CASES, ids=[f"{lay}-{n}" for lay, n in LAYER_CASES])
def test_each_layer_alone_stops_its_attacks(layer: str, name: str, probe: Probe,
                                            backends: dict[str, EmbeddedBackend], release: str) -> None:
    gap = RELEASE_GAPS.get(release, {}).get((layer, name))
    if gap is not None:  # not this layer's on this release: another layer alone stops it, this one lets it through
        seen, cover, cover_signature = gap
        covered = attempt(backend_for(backends, cover), name, probe)
        assert covered.evidence == [], covered.shown()
        assert any(cover_signature in f"{e.name}: {e.message}" for e in covered.errors), covered.shown()
        result = attempt(backend_for(backends, layer), name, probe)
        said = result.evidence + [f"{e.name}: {e.message}" for e in result.errors]
        assert any(seen in text for text in said), result.shown()
        return
    result = attempt(backend_for(backends, layer), name, probe)
    assert result.evidence == [], result.shown()
    assert result.errors, result.shown()
    signature = RELEASE_STOPS.get(release, {}).get((layer, name), STOPS[layer][name])
    assert any(signature in f"{e.name}: {e.message}" for e in result.errors), result.shown()
    record("layer alone", f"{layer}: {name}", ATTACKS[name][0], result.outcome(probe),
           [f"{lay}: {n}" for lay, n in LAYER_CASES])


@pytest.mark.parametrize("name", ESCAPES)
def test_without_the_layers_the_probes_see_the_escape(name: str, probe: Probe,
                                                      backends: dict[str, EmbeddedBackend], release: str) -> None:
    result = attempt(backend_for(backends, "none"), name, probe)
    closed = RELEASE_CLOSED.get(release, {}).get(name)
    if closed is not None:  # this release's engine does not open the escape at all
        assert result.evidence == [] and any(closed in e.message for e in result.errors), result.shown()
        return
    assert result.evidence, result.shown()


@pytest.mark.parametrize("name", ESCAPES_WITH_ALL_PROC)
def test_landlock_with_all_of_proc_lets_the_parent_environment_through(name: str, probe: Probe,
                                                                       backends: dict[str, EmbeddedBackend]) -> None:
    """The attack on /proc succeeds under Landlock as it was (all of /proc); `narrow_proc` is what stops it."""
    result = attempt(backend_for(backends, "landlock_all_proc"), name, probe)
    assert "read the parent's environment" in result.evidence, result.shown()


@pytest.mark.parametrize("name", READS)
def test_statement_results_never_reach_the_parent(name: str, probe: Probe,
                                                  backends: dict[str, EmbeddedBackend]) -> None:
    """With every other layer off the reads succeed in the engine, but their rows stay in the worker."""
    result = attempt(backend_for(backends, "results"), name, probe)
    assert result.errors == [], result.shown()  # the read ran ...
    assert result.replies and set(result.replies) == {""}, result.shown()  # ... and nothing came back
    assert result.evidence == [], result.shown()
    record("leak", f"results: {name}", ATTACKS[name][0], "ran; the worker dropped its rows: nothing reached the parent")


def test_sandbox_is_reported_and_landlock_is_in_force_where_the_kernel_has_it(
        backends: dict[str, EmbeddedBackend]) -> None:
    backend = backend_for(backends, "all")
    assert backend.sandbox in ("landlock", "none")
    if backend.sandbox == "none":
        assert backend.sandbox_detail, "a missing sandbox is never silent: the reason is given"
    else:
        assert "Landlock ABI" in backend.sandbox_detail and "no exec" in backend.sandbox_detail
    off = backend_for(backends, "gate")
    assert off.sandbox == "none" and "not requested" in off.sandbox_detail


def test_the_run_says_which_sandbox_in_text_and_json(backends: dict[str, EmbeddedBackend]) -> None:
    config = load_config(REPO / "pyproject.toml")
    backend = backend_for(backends, "gate")  # Landlock off: the run must say "none", never stay silent
    result = run_check(config, backend, jobs=1, only=[config.canonical])
    assert result.sandbox == "none"
    assert json.loads(render_json(result))["sandbox"] == "none"
    assert ", sandbox none" in render_text(result).splitlines()[0]


def test_ordinary_zakaz_ddl_still_runs_fully_hardened() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--config", str(REPO / "pyproject.toml"), "--format", "json", "--jobs", "2"], out, err)
    report = json.loads(out.getvalue())
    assert code == 0, out.getvalue() + err.getvalue()
    probe = EmbeddedBackend(prestart=False)
    try:
        expected_sandbox = probe.sandbox
    finally:
        probe.close()
    assert report["ok"] and report["sandbox"] == expected_sandbox
    refused = [e for s in report["sources"] for e in s["errors"] if e["name"] == "REFUSED"]
    assert refused == []


def test_a_worker_environment_holds_no_secret_of_the_caller(monkeypatch: pytest.MonkeyPatch,
                                                            backends: dict[str, EmbeddedBackend]) -> None:
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", SECRET)
    backend = EmbeddedBackend(prestart=False, hardening=LAYERS["none"])
    instance = backend.instance()
    try:
        environ = Path(f"/proc/{instance.worker.proc.pid}/environ").read_bytes().decode(errors="replace")
    finally:
        instance.close()
        backend.close()
    assert SECRET not in environ
    assert "CLICKHOUSE_PASSWORD" not in environ
    assert os.environ["CLICKHOUSE_PASSWORD"] == SECRET


@pytest.mark.xdist_group("evidence")
def test_no_password_reaches_a_log_or_a_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords come only from the environment; `chconform evidence` writes none into logs/ or the report."""
    import shutil
    import subprocess

    for key in [k for k in os.environ if k.startswith("CHCONFORM_")]:
        monkeypatch.delenv(key)
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            capture_output=True, text=True, check=True).stdout.split("\0")
    repo = tmp_path / "repo"
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    (repo / "logs").mkdir(exist_ok=True)
    password = f"pw-{SECRET}"
    example = (repo / "infra/clickhouse/.env.example").read_text(encoding="utf-8")
    (repo / "infra/clickhouse/.env").write_text(example.replace("change-me", password), encoding="utf-8")
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", password)
    out, err = io.StringIO(), io.StringIO()
    run(["evidence", "--config", str(repo / "pyproject.toml"), "--skip", "pytest", "--skip", "docker"], out, err)
    written = [p for p in (repo / "logs").rglob("*") if p.is_file()]
    written += [p for p in repo.glob("*.md") if p.is_file()]
    assert any(p.name == "evidence.md" for p in written), out.getvalue() + err.getvalue()
    assert (repo / "logs" / "bootstrap_first.log").stat().st_size > 0  # the target was opened with that env file
    leaked = [str(p.relative_to(repo)) for p in written if password.encode() in p.read_bytes()]
    assert leaked == []
    assert password not in out.getvalue() + err.getvalue()
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


# Item 2 of issue 11: each resource limit of the profile, and what a source may try to lift it with.
LIMITS = sorted(limit_settings(Hardening(), TIMEOUT_S))
LIFTS = {"zero": "0", "negative": "-1", "above": "{above}"}
LIMIT_CASES = [(limit, lift) for limit in LIMITS for lift in LIFTS]


def _holds(instance: EmbeddedInstance, name: str, value: str) -> bool:
    """Whether the source's own session still has `name` = `value` (its rows never come back: an error says)."""
    try:
        instance.execute(f"SELECT throwIf(toString(getSetting('{name}')) != '{value}', 'changed') FORMAT Null",
                         timeout=2 * TIMEOUT_S)
    except EngineError:
        return False
    return True


@pytest.mark.parametrize(("limit", "lift"), LIMIT_CASES, ids=[f"{lim}-{lift}" for lim, lift in LIMIT_CASES])
def test_a_limit_cannot_be_lifted(limit: str, lift: str, backends: dict[str, EmbeddedBackend]) -> None:
    bound = limit_settings(LAYERS["constraints"], TIMEOUT_S)[limit]
    value = LIFTS[lift].format(above=int(bound) + 1)
    for layer in ("constraints", "all"):  # alone, and with every layer
        instance = backend_for(backends, layer).instance()
        try:
            assert _holds(instance, limit, bound)
            with pytest.raises(EngineError) as refused:
                instance.execute(f"SET {limit} = {value}", timeout=2 * TIMEOUT_S)
            assert _holds(instance, limit, bound), f"{layer}: SET {limit} = {value} changed it"
        finally:
            instance.close()
    record("limit", f"{limit} = {value}", f"SET {limit} = {value} (0 means no limit)",
           normalise(f"{refused.value.name}: {refused.value.message}"))


@pytest.mark.parametrize("limit", LIMITS)
def test_without_constraints_a_limit_is_lifted(limit: str, backends: dict[str, EmbeddedBackend]) -> None:
    instance = backend_for(backends, "none").instance()
    try:
        instance.execute(f"SET {limit} = 0", timeout=2 * TIMEOUT_S)
        assert _holds(instance, limit, "0")
    finally:
        instance.close()


SPILL = ("SELECT number, toString(number) AS s FROM numbers(3000000) ORDER BY s DESC "
         "SETTINGS max_bytes_before_external_sort = 1000000, max_bytes_ratio_before_external_sort = 0, max_threads = 1")
SPILLED = "SELECT sum(value) AS n FROM system.events WHERE event = 'ExternalSortCompressedBytes'"


def test_temporary_disk_is_bounded() -> None:
    """A sort told to spill: with constraints it cannot (spilling is off, the memory limit bounds it);
    without them it writes ~36 MB of temporary files (chDB 26.9 counts them against no temporary-data
    bound, measured: the reason spilling is off)."""
    outcomes: dict[str, str] = {}
    spilled: dict[str, int] = {}
    for name, hardening in (("constraints", _only(constraints=True, drop_results=True)),
                            ("all", Hardening()), ("none", _only(drop_results=True))):
        backend = EmbeddedBackend(prestart=False, hardening=hardening, timeout_s=60)
        instance = backend.instance()
        try:
            instance.worker.call({"sql": SPILL, "fmt": "Null"}, 120, "spilling")  # past the gate if it is on
            outcomes[name] = "ran"
        except EngineError as exc:
            outcomes[name] = f"{exc.name}: {exc.message}"
        finally:
            try:
                spilled[name] = int(instance.query(SPILLED)[0]["n"] or 0)
            finally:
                instance.close()
                backend.close()
    assert outcomes["none"] == "ran" and spilled["none"] > 8 << 20, (outcomes, spilled)  # the attack, unbounded
    for name in ("constraints", "all"):
        assert outcomes[name].startswith("SETTING_CONSTRAINT_VIOLATION"), outcomes
        assert spilled[name] == 0, spilled
    record("limit", "temporary_disk", TEMP_DISK, normalise(outcomes["constraints"]))


TEMP_DISK = "a sort told to spill to disk (max_bytes_before_external_sort = 1000000)"
FILL = ["CREATE TABLE fill (a UInt64, s String) ENGINE = MergeTree ORDER BY a",
        "INSERT INTO fill SELECT number, randomString(100) FROM numbers(1500000)",  # ~150 MiB of table data
        "SELECT count() FROM fill"]  # one more request: the watchdog looks before each one
FILL_DISK = "fill the worker's disk with table data (~150 MiB, bound 64 MiB)"


def test_the_worker_disk_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Table data is no temporary data: the parent measures the worker's directory (at most once a second,
    before a request and while it waits) and kills a worker past `disk_bytes`; with no bound the same
    statements write ~150 MiB. The once-a-second spacing is a cost bound, not the defence: it is set to
    50 ms here, so the outcome does not depend on how fast this machine writes 150 MiB."""
    from chconform.engines import embedded
    from chconform.engines.embedded import _disk_usage
    from chconform.errors import EngineCrashed

    monkeypatch.setattr(embedded, "_DISK_CHECK_S", 0.05)

    used: dict[int, int] = {}
    for bound in (64 << 20, 0):
        backend = EmbeddedBackend(prestart=False, hardening=_only(disk_bytes=bound, drop_results=True), timeout_s=60)
        instance = backend.instance()
        try:
            if bound:
                with pytest.raises(EngineCrashed) as killed:
                    for sql in FILL:
                        instance.execute(sql, timeout=120)
                assert killed.value.name == "DISK_LIMIT_EXCEEDED", killed.value
                assert instance.worker.proc.poll() is not None  # the worker is gone, its directory with it
            else:
                for sql in FILL:
                    instance.execute(sql, timeout=120)
                used[bound] = _disk_usage(instance.worker.workdir)
        finally:
            instance.close()
            backend.close()
    assert used[0] > 64 << 20, used  # without the bound the attack does fill the disk
    record("limit", "worker_disk", FILL_DISK, normalise(f"{killed.value.name}: {killed.value.message}"))


def reliability_rows() -> dict[tuple[str, str], str]:
    """The rows of docs/RELIABILITY.md these tests observe (tests/reliability.py)."""
    rows = {("hostile statement", name): ATTACKS[name][0] for name in ATTACKS}
    rows.update({("layer alone", f"{layer}: {name}"): ATTACKS[name][0] for layer, name in LAYER_CASES})
    rows.update({("leak", f"results: {name}"): ATTACKS[name][0] for name in READS})
    for limit, lift in LIMIT_CASES:
        value = LIFTS[lift].format(above=int(limit_settings(LAYERS["constraints"], TIMEOUT_S)[limit]) + 1)
        rows[("limit", f"{limit} = {value}")] = f"SET {limit} = {value} (0 means no limit)"
    rows[("limit", "temporary_disk")] = TEMP_DISK
    rows[("limit", "worker_disk")] = FILL_DISK
    return rows
