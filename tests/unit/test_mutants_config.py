"""Config bug that once survived the whole suite (issue 18): a table accepting a key it does not know.

A misspelt key silently ignored is a setting the user believes is on: every table with fixed keys refuses any
other key in one line naming the table and the key, and each table's known keys are still accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chconform.config import load_config
from chconform.errors import ChconformError, ConfigError

BASE = ('root = "."\ncanonical = "a.sql"\nkey_tables = ["z.t"]\n'
        '[[source]]\npath = "a.sql"\nmust_define = "all"\n'
        '[[source]]\npath = "b.sql"\nrole = "migration"\n'
        '[[path]]\nname = "up"\nsteps = ["b.sql"]\n')

# table -> (TOML that ends inside that table, the prefix the error names the key with)
TABLES = {
    "top level": ("", ""),
    "[[source]]": ('[[source]]\npath = "c.sql"\n', "source[2]."),
    "[[path]]": ('[[path]]\nname = "again"\nsteps = ["b.sql"]\n', "path[1]."),
    "[bootstrap]": ("[bootstrap]\n", "bootstrap."),
    "[smoke]": ('[smoke]\njob_table = "z.jobs"\n', "smoke."),
    "[evidence]": ('[evidence]\ntitle = "t"\n', "evidence."),
}
# near misses of real keys: each is what a user might type for a key that exists
NEAR_MISSES = {
    "top level": "key_table",
    "[[source]]": "must_defines",
    "[[path]]": "from_revision",
    "[bootstrap]": "access_sources",
    "[smoke]": "job_tables",
    "[evidence]": "validate_scripts",
}


def write(tmp_path: Path, body: str) -> Path:
    for name in ("a.sql", "b.sql", "c.sql"):
        (tmp_path / name).write_text("SELECT 1;\n", encoding="utf-8")
    file = tmp_path / "chconform.toml"
    file.write_text(body, encoding="utf-8")
    return file


def _with_key(table: str, line: str) -> str:
    opening, _ = TABLES[table]
    if table == "top level":
        return line + BASE
    return BASE + opening + line


@pytest.mark.parametrize("table", list(TABLES))
def test_an_unknown_key_in_any_table_is_one_line_naming_it(tmp_path: Path, table: str) -> None:
    _, prefix = TABLES[table]
    for key in ("bogus", NEAR_MISSES[table]):
        file = write(tmp_path, _with_key(table, f'{key} = "x"\n'))
        with pytest.raises(ConfigError) as info:
            load_config(file)
        message = str(info.value)
        assert message.startswith(f"{file}: unknown key {prefix}'{key}' (allowed: "), message
        assert "\n" not in message


def test_each_table_without_the_unknown_key_loads(tmp_path: Path) -> None:
    """The refusals above are the key's doing, not the table's: the same tables load without it."""
    body = BASE.replace('[[path]]\nname = "up"', '[[path]]\nname = "up"\nfrom_rev = "HEAD"')
    for table, (opening, _) in TABLES.items():
        if table not in ("top level", "[[path]]"):
            body += opening
    config = load_config(write(tmp_path, body))
    assert [s.path for s in config.sources] == ["a.sql", "b.sql", "c.sql"]
    assert [(p.name, p.from_rev) for p in config.paths] == [("up", "HEAD")]
    assert config.smoke.job_table == "z.jobs" and config.evidence.title == "t"


def test_the_allowed_keys_of_a_source_are_listed(tmp_path: Path) -> None:
    file = write(tmp_path, _with_key("[[source]]", "paths = 1\n"))
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert str(info.value) == f"{file}: unknown key source[2].'paths' (allowed: must_define, path, role)"


def test_an_unknown_rule_and_an_unknown_evidence_row_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, BASE + '[rules]\ndrop_in_dumps = "error"\n'))
    assert "[rules] unknown rule 'drop_in_dumps'" in str(info.value)
    from chconform.evidence.checklist import item_texts

    config = load_config(write(tmp_path, BASE + '[evidence.items]\ndokcs = "Docs"\n'))
    with pytest.raises(ChconformError) as row:
        item_texts(config)
    assert "evidence.items.dokcs: no such row" in str(row.value)
