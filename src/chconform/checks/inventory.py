"""The inventory: every .sql file under the root that creates a table must be a configured source or a path step."""

from __future__ import annotations

from chconform.config import Config
from chconform.sql.source import tokenize

__all__ = ["has_create_table", "path_files", "unconfigured_sources"]


def has_create_table(text: str) -> bool:
    """True if a CREATE … TABLE statement appears outside comments and strings."""
    try:
        words = [t.upper for t in tokenize(text) if t.kind not in ("space", "comment")]
    except Exception:  # an unlexable file is reported by the source check; count it as SQL here
        return "CREATE" in text.upper()
    return any(w == "CREATE" and "TABLE" in words[i + 1 : i + 4] for i, w in enumerate(words))


def path_files(config: Config) -> set[str]:
    """Files that [[path]] steps name, and the `.down.sql` twin of each `.up.sql` step (never applied)."""
    steps = {f.path for spec in config.paths for f in spec.files}
    downs = {p[: -len(".up.sql")] + ".down.sql" for p in steps if p.lower().endswith(".up.sql")}
    return steps | downs


def unconfigured_sources(config: Config) -> list[str]:
    """Paths (relative to root) of table-creating .sql files that no [[source]] and no [[path]] names."""
    configured = {s.path for s in config.sources + config.step_sources} | path_files(config)
    out = []
    for path in sorted(config.root.rglob("*.sql")):
        rel = path.relative_to(config.root).as_posix()
        if rel in configured or any(part in ("data", "logs") for part in path.relative_to(config.root).parts[:-1]):
            continue
        if has_create_table(path.read_bytes().decode("utf-8", errors="replace")):
            out.append(rel)
    return out
