"""A content-addressed cache of applied sources: an unchanged source is never applied twice.

What a source builds (its errors, idempotency, duplicates, role findings and round-1 snapshot) depends on
the engine release, chconform's own code, the configuration, the prelude and the source's bytes; never on
the canon, which is compared afterwards (pure and quick). So each source is one entry keyed by a hash of
exactly those inputs. An entry is JSON, checked against its own key and checksum and decoded against the
model's types: a corrupt, truncated or foreign entry is a miss, never a verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
import types
import typing
from dataclasses import fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["ResultCache", "code_digest", "default_cache_dir", "encode", "decode", "CacheMiss", "FORMAT"]

FORMAT = 1  # of an entry: bump when the entry layout changes


class CacheMiss(Exception):
    """An entry that cannot be trusted: absent, corrupt, foreign, or of another shape."""


def default_cache_dir() -> Path:
    """$CHCONFORM_CACHE_DIR, else $XDG_CACHE_HOME/chconform/results, else ~/.cache/chconform/results."""
    explicit = os.environ.get("CHCONFORM_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chconform" / "results"


@cache
def code_digest() -> str:
    """A hash of chconform's own code and package data: any change to the tool invalidates every entry."""
    root = str(Path(__file__).resolve().parents[1])
    files: list[str] = []
    for top, dirs, names in os.walk(root):  # os.walk, not Path.rglob: a tenth of the time on every start
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        files.extend(os.path.join(top, n) for n in names if n.endswith((".py", ".sql")))
    digest = hashlib.sha256()
    for file in sorted(os.path.relpath(f, root).replace(os.sep, "/") for f in files):
        with open(os.path.join(root, file), "rb") as handle:
            digest.update(file.encode() + b"\0" + handle.read() + b"\0")
    return digest.hexdigest()


def encode(value: Any) -> Any:
    """A frozen model object as plain JSON values (dataclasses as objects of their fields)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in fields(value) if f.init and not f.name.startswith("_")}
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


@cache
def _shape(kind: type) -> tuple[dict[str, Any], frozenset[str]]:
    """A dataclass's field types and the names an entry must have (resolving the hints once per class)."""
    return typing.get_type_hints(kind), frozenset(f.name for f in fields(kind) if f.init and not f.name.startswith("_"))


def decode(kind: Any, data: Any) -> Any:
    """`data` read back as `kind` (a dataclass, tuple[X, ...], X | None, …); anything unexpected is a CacheMiss."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if data is None and type(None) in options:
            return None
        for option in (o for o in options if o is not type(None)):
            try:
                return decode(option, data)
            except CacheMiss:
                continue
        raise CacheMiss(f"{data!r} is none of {kind}")
    if origin is tuple:
        if not isinstance(data, list):
            raise CacheMiss(f"expected a list for {kind}")
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in data)
        if len(args) != len(data):
            raise CacheMiss(f"expected {len(args)} items for {kind}")
        return tuple(decode(a, v) for a, v in zip(args, data))
    if origin is dict:
        key_kind, value_kind = typing.get_args(kind)
        if not isinstance(data, dict):
            raise CacheMiss(f"expected an object for {kind}")
        return {decode(key_kind, k): decode(value_kind, v) for k, v in data.items()}
    if isinstance(kind, type) and is_dataclass(kind):
        if not isinstance(data, dict):
            raise CacheMiss(f"expected an object for {kind.__name__}")
        hints, wanted = _shape(kind)
        if set(data) != wanted:
            raise CacheMiss(f"{kind.__name__}: fields {sorted(set(data) ^ wanted)} differ")
        return kind(**{name: decode(hints[name], data[name]) for name in wanted})
    if kind is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    if kind in (str, int, bool) and type(data) is kind:
        return data
    raise CacheMiss(f"{data!r} is not a {kind}")


class ResultCache:
    """Entries in one folder, written atomically; reading never raises, writing never fails the run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(*parts: str | bytes) -> str:
        digest = hashlib.sha256()
        for part in parts:
            raw = part.encode() if isinstance(part, str) else part
            digest.update(len(raw).to_bytes(8, "big") + raw)  # length-prefixed: no two part lists collide
        return digest.hexdigest()

    def _file(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def has(self, key: str) -> bool:
        """An entry is there (whether it can be trusted is decided when it is read)."""
        return self._file(key).is_file()

    def get(self, key: str, kind: Any) -> Any | None:
        try:
            entry = json.loads(self._file(key).read_text(encoding="utf-8"))
            payload = entry["payload"]
            ok = (entry.get("format") == FORMAT and entry.get("key") == key
                  and entry.get("sha256") == hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest())
            if not ok:
                raise CacheMiss("foreign or corrupt entry")
            value = decode(kind, payload)
        except (OSError, ValueError, KeyError, TypeError, CacheMiss):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        import tempfile  # here: only a run that applied something writes (a re-run starts faster)

        payload = encode(value)
        entry = {"format": FORMAT, "key": key, "payload": payload,
                 "sha256": hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()}
        target = self._file(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".entry-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle, ensure_ascii=False)
            os.replace(tmp, target)
        except OSError:  # a full or read-only cache costs speed, never a verdict
            try:
                os.unlink(tmp)
            except (OSError, UnboundLocalError):
                pass
