from __future__ import annotations

from pathlib import Path

import pytest

from chconform.config import load_config
from chconform.errors import ConfigError


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "a.sql").write_text("SELECT 1;")
    (tmp_path / "sub").mkdir(exist_ok=True)
    (tmp_path / "sub" / "b.sql").write_text("SELECT 1;")
    file = tmp_path / "chconform.toml"
    file.write_text(body)
    return file


GOOD = 'root = "."\ncanonical = "a.sql"\nkey_tables = ["z.t"]\n[[source]]\npath = "a.sql"\nmust_define = "all"\n' \
       '[[source]]\npath = "sub/b.sql"\nrole = "migration"\n'


def test_loads_and_resolves_relative_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.root == tmp_path.resolve()
    assert [s.path for s in config.sources] == ["a.sql", "sub/b.sql"]
    assert config.canonical_source.must_define == ("z.t",)
    assert config.timeout_s == 60


def test_pyproject_table(tmp_path: Path) -> None:
    write(tmp_path, "")
    py = tmp_path / "pyproject.toml"
    py.write_text("[tool.chconform]\n" + GOOD.replace("[[source]]", "[[tool.chconform.source]]"))
    assert load_config(py).canonical == "a.sql"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("bogus = 1\n" + GOOD, "unknown key 'bogus'"),
        (GOOD.replace('path = "sub/b.sql"', 'path = "sub/none.sql"'), "file not found"),
        (GOOD.replace('path = "sub/b.sql"', 'path = "../outside.sql"'), "outside the root"),
        (GOOD + '[[source]]\npath = "a.sql"\n', "configured twice"),
        (GOOD.replace('role = "migration"', 'role = "seed"'), "unknown role 'seed'"),
        ('root = "."\ncanonical = "a.sql"\n[[source]]\npath = "sub/b.sql"\n', "not one of the configured sources"),
        ("root = [", "TOML syntax error"),
        (GOOD.replace("[[source]]\npath", "[[source]]\nwhat = 1\npath", 1), "unknown key source[0].'what'"),
        ("timeout_s = -1\n" + GOOD, "timeout_s must be a positive"),
    ],
    ids=["unknown-key", "missing-file", "outside-root", "duplicate", "unknown-role", "canonical-not-source",
         "toml-syntax", "unknown-source-key", "bad-timeout"],
)
def test_mistakes_are_one_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, body))
    assert message in str(info.value) and "\n" not in str(info.value)
