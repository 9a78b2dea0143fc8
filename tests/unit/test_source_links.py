"""Sources are read without following symbolic links, unless the link stays inside the root and leads to a
file that is itself a configured source (issue 11). The error names the link: one line, exit 2."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from chconform.cli import run
from chconform.config import load_config
from chconform.errors import ConfigError, SourceError
from chconform.sql.source import first_link, read_source

SECRET = "TOKEN=chconform-link-secret"


def _repo(tmp_path: Path, *sources: str) -> Path:
    (tmp_path / "canonical.sql").write_text("CREATE TABLE t (a UInt8) ENGINE = Memory;\n", encoding="utf-8")
    (tmp_path / ".env").write_text(SECRET + "\n", encoding="utf-8")
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "migrations" / "a.sql").write_text("SELECT 1;\n", encoding="utf-8")
    body = "".join(f'[[source]]\npath = "{s}"\n' for s in ("canonical.sql", *sources))
    (tmp_path / "chconform.toml").write_text(f'root = "."\ncanonical = "canonical.sql"\n{body}', encoding="utf-8")
    return tmp_path / "chconform.toml"


def test_a_symlink_to_a_file_that_is_not_a_source_is_refused_naming_the_link(tmp_path: Path) -> None:
    (tmp_path / "evil.sql").symlink_to(".env")
    config = _repo(tmp_path, "evil.sql")
    assert (tmp_path / "evil.sql").read_text().strip() == SECRET  # the link does lead to the secret
    with pytest.raises(ConfigError, match=r"'evil\.sql' is a symbolic link to '\.env', which is not a configured source"):
        load_config(config)
    out, err = io.StringIO(), io.StringIO()
    assert run(["check", "--config", str(config)], out, err) == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and "evil.sql" in lines[0] and "symbolic link" in lines[0], err.getvalue()
    assert SECRET not in out.getvalue() + err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_a_symlink_to_a_configured_source_inside_the_root_is_read(tmp_path: Path) -> None:
    (tmp_path / "alias.sql").symlink_to("canonical.sql")
    config = load_config(_repo(tmp_path, "alias.sql"))
    alias = config.source("alias.sql")
    assert alias.file == tmp_path.resolve() / "canonical.sql"
    assert read_source(alias.file, alias.path).statements[0].text.startswith("CREATE TABLE t")


def test_a_symlinked_directory_on_the_way_counts_as_a_link(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "m").symlink_to("migrations")
    with pytest.raises(ConfigError, match=r"'m' is a symbolic link to 'migrations/a\.sql'"):
        load_config(_repo(tmp_path, "m/a.sql"))
    allowed = load_config(_repo(tmp_path, "m/a.sql", "migrations/a.sql"))
    assert [s.path for s in allowed.sources] == ["canonical.sql", "m/a.sql", "migrations/a.sql"]


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.sql"
    outside.write_text("SELECT 1;\n", encoding="utf-8")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "out.sql").symlink_to(outside)
    with pytest.raises(ConfigError, match="outside the root"):
        load_config(_repo(root, "out.sql"))


def test_first_link_walks_the_path_as_written(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.sql").write_text("", encoding="utf-8")
    (tmp_path / "l").symlink_to("d")
    assert first_link(tmp_path, "d/f.sql") is None
    assert first_link(tmp_path, "l/f.sql") == "l"
    assert first_link(tmp_path, "d/../l/f.sql") == "l"


def test_read_source_does_not_follow_a_link(tmp_path: Path) -> None:
    """A file swapped for a link after the config was read is refused, not read through."""
    (tmp_path / ".env").write_text(SECRET + "\n", encoding="utf-8")
    (tmp_path / "swapped.sql").symlink_to(".env")
    with pytest.raises(SourceError, match="swapped.sql: is a symbolic link") as refused:
        read_source(tmp_path / "swapped.sql", "swapped.sql")
    assert SECRET not in str(refused.value)
