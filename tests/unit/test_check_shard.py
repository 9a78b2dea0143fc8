"""`chconform check --shard K/N`: every configured source in exactly one share; a bad K/N is one line, exit 2."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from chconform.cli import EXIT_BAD, run
from chconform.commands.check import shard_arg, shard_of
from chconform.config import load_config

TABLE = "CREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = MergeTree ORDER BY a;\n"


def _config(tmp_path: Path, count: int):
    lines = ['root = "."', 'canonical = "s0.sql"']
    for i in range(count):
        (tmp_path / f"s{i}.sql").write_text(TABLE, encoding="utf-8")
        lines += ["[[source]]", f'path = "s{i}.sql"', 'role = "init"']
    (tmp_path / "chconform.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(tmp_path / "chconform.toml")


@pytest.mark.parametrize(("count", "shares"), [(7, 1), (7, 2), (7, 3), (7, 7), (3, 5)])
def test_every_source_in_exactly_one_share(tmp_path: Path, count: int, shares: int) -> None:
    config = _config(tmp_path, count)
    picked = [path for k in range(1, shares + 1) for path in shard_of(config, k, shares)]
    assert sorted(picked) == sorted(s.path for s in config.sources)
    assert len(picked) == len(set(picked))
    sizes = [len(shard_of(config, k, shares)) for k in range(1, shares + 1)]
    assert max(sizes) - min(sizes) <= 1  # balanced by count


def test_a_share_is_stable(tmp_path: Path) -> None:
    assert shard_of(_config(tmp_path, 7), 2, 3) == ["s1.sql", "s4.sql"]


@pytest.mark.parametrize("text", ["0/3", "4/3", "2", "a/b", "1/0", "-1/2", ""])
def test_a_bad_share_is_refused(text: str) -> None:
    with pytest.raises(Exception, match="K/N"):
        shard_arg(text)


def test_bad_share_on_the_command_line_is_one_line_exit_2(tmp_path: Path) -> None:
    _config(tmp_path, 2)
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--config", str(tmp_path / "chconform.toml"), "--shard", "3/2"], out, err)
    assert code == EXIT_BAD


def test_shard_and_source_together_are_refused(tmp_path: Path) -> None:
    _config(tmp_path, 2)
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--config", str(tmp_path / "chconform.toml"), "--shard", "1/2", "--source", "s1.sql"],
               out, err)
    assert code == EXIT_BAD and err.getvalue().count("\n") == 1 and "--shard and --source" in err.getvalue()
