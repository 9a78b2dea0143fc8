"""The result cache: exact round trips of the model, and no entry trusted that is not exactly what was written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chconform.checks.cache import CacheMiss, ResultCache, decode, encode
from chconform.checks.run import CachedSource, Skipped, SourceResult, StatementError
from chconform.model import Column, Difference, Index, Snapshot, Table

SNAP = Snapshot(
    databases=("db",),
    tables=(Table("db", "t", "table", engine="MergeTree", sorting_key="a",
                  columns=(Column("a", 1, "UInt8"), Column("b", 2, "Nullable(String)", "DEFAULT", "'x'")),
                  indices=(Index("i", "minmax", "a", 1),)),),
)
RESULT = SourceResult("a.sql", "init",
                      errors=(StatementError(2, 3, 57, "TABLE_ALREADY_EXISTS", "exists", "CREATE TABLE db.t", "a.sql"),),
                      differences=(Difference("db.t", "column_type", "UInt8", "Int8", "a", "a.sql", 4),),
                      skipped=(Skipped(9, "access control", "GRANT …"),), warnings=("w",), defined=("db.t",),
                      duration_s=0.25)
ENTRY = CachedSource(RESULT, SNAP, "24.8.4.1", "landlock")


def test_round_trip_is_exact() -> None:
    again = decode(CachedSource, json.loads(json.dumps(encode(ENTRY))))
    assert again == ENTRY
    assert again.snapshot is not None and again.snapshot.table("db.t") == SNAP.table("db.t")


def test_none_snapshot_round_trips() -> None:
    entry = CachedSource(RESULT, None, "26.9", "none")
    assert decode(CachedSource, encode(entry)) == entry


@pytest.mark.parametrize("damage", [
    lambda d: d["result"].pop("errors"),                             # a field missing
    lambda d: d["result"].update(ok=True),                           # a field nobody defined (a forged verdict)
    lambda d: d["result"].update(differences="none"),                # a wrong type
    lambda d: d["snapshot"]["tables"][0]["columns"][0].update(position="1"),
    lambda d: d.update(clickhouse_version=24.8),
], ids=["missing", "unknown", "type", "nested-type", "scalar-type"])
def test_a_misshapen_payload_is_refused(damage) -> None:
    data = encode(ENTRY)
    damage(data)
    with pytest.raises(CacheMiss):
        decode(CachedSource, data)


def test_get_returns_what_put_stored(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = cache.key("a", b"b")
    assert cache.get(key, CachedSource) is None and cache.misses == 1
    cache.put(key, ENTRY)
    assert cache.has(key) and cache.get(key, CachedSource) == ENTRY and cache.hits == 1


def _entry_file(tmp_path: Path, cache: ResultCache, key: str) -> Path:
    (file,) = [p for p in tmp_path.rglob("*.json") if p.stem == key]
    return file


@pytest.mark.parametrize("tamper", [
    lambda e: e["payload"]["result"].update(differences=[]),        # a hidden difference: checksum fails
    lambda e: e.update(key="0" * 64),                               # another key's entry copied here
    lambda e: e.update(format=0),                                   # another layout
], ids=["payload", "foreign-key", "format"])
def test_a_tampered_or_foreign_entry_is_a_miss(tmp_path: Path, tamper) -> None:
    cache = ResultCache(tmp_path)
    key = cache.key("x")
    cache.put(key, ENTRY)
    file = _entry_file(tmp_path, cache, key)
    entry = json.loads(file.read_text(encoding="utf-8"))
    tamper(entry)
    file.write_text(json.dumps(entry), encoding="utf-8")
    assert cache.get(key, CachedSource) is None


def test_a_truncated_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = cache.key("x")
    cache.put(key, ENTRY)
    file = _entry_file(tmp_path, cache, key)
    file.write_bytes(file.read_bytes()[:40])
    assert cache.get(key, CachedSource) is None


def test_key_parts_never_collide_by_concatenation() -> None:
    assert ResultCache.key("ab", "c") != ResultCache.key("a", "bc")
    assert ResultCache.key("a") != ResultCache.key(b"a", "")


def test_an_unwritable_cache_costs_nothing_but_speed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    cache = ResultCache(blocker / "sub")
    cache.put(cache.key("x"), ENTRY)  # no exception
    assert cache.get(cache.key("x"), CachedSource) is None
