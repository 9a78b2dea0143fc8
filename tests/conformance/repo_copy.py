"""A throwaway copy of the repository's schema sources with a standalone chconform.toml."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def copy_sources(dest: Path) -> Path:
    """Copy infra/clickhouse to `dest` and write `dest/chconform.toml`; return the config file."""
    conf = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["chconform"]
    shutil.copytree(REPO / conf["root"], dest, ignore=shutil.ignore_patterns("data", "logs", ".env"))
    lines = ['root = "."']
    for key in ("canonical", "prelude", "key_tables", "timeout_s"):
        if key in conf:
            lines.append(f"{key} = {json.dumps(conf[key])}")
    for src in conf["source"]:
        lines.append("\n[[source]]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in src.items())
    for table in ("bootstrap", "smoke"):  # what bootstrap and smoke read; paths made absolute (the copy is elsewhere)
        settings = {k: str(REPO / v) if k == "payloads" else v for k, v in conf.get(table, {}).items()}
        lines.append(f"\n[{table}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in settings.items() if not isinstance(v, dict))
        for name, sub in ((k, v) for k, v in settings.items() if isinstance(v, dict)):
            lines.append(f"\n[{table}.{name}]")
            lines.extend(f"{k} = {json.dumps(v)}" for k, v in sub.items())
    config = dest / "chconform.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def replace_once(file: Path, old: str, new: str) -> None:
    """Change exactly one occurrence, so a test cannot silently edit nothing."""
    text = file.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {file}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
