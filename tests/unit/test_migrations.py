"""Migration folders as tools write them: version order, up parts with their lines kept, [[path]] configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from chconform.checks.inventory import unconfigured_sources
from chconform.config import load_config
from chconform.errors import ConfigError, SourceError
from chconform.sql.migrations import detect_format, expand_steps, natural_key, up_part
from chconform.sql.source import split_statements

GOOSE = """-- header comment, not part of any section
-- +goose Up
-- +goose StatementBegin
CREATE TABLE a.t (id UInt64) ENGINE = MergeTree ORDER BY id;
-- +goose StatementEnd
ALTER TABLE a.t ADD COLUMN v String;

-- +goose Down
DROP TABLE a.t;
"""

DBMATE = """-- migrate:up transaction:false
CREATE TABLE a.t (id UInt64) ENGINE = MergeTree ORDER BY id;
-- migrate:down
DROP TABLE a.t;
"""


def test_goose_up_part_keeps_line_numbers_and_drops_the_down_part() -> None:
    text = up_part(GOOSE, "goose", "x.sql")
    assert text.count("\n") == GOOSE.count("\n")
    found = [(s.line, s.first_line) for s in split_statements(text)]
    assert found == [(4, "CREATE TABLE a.t (id UInt64) ENGINE = MergeTree ORDER BY id"),
                     (6, "ALTER TABLE a.t ADD COLUMN v String")]


def test_dbmate_up_part_with_options_on_the_marker() -> None:
    found = [(s.line, s.kind) for s in split_statements(up_part(DBMATE, "dbmate", "x.sql"))]
    assert found == [(2, "create_table")]


def test_a_down_section_before_the_up_section_is_not_applied() -> None:
    text = "-- migrate:down\nDROP TABLE a.t;\n-- migrate:up\nCREATE TABLE a.u (id UInt64) ENGINE = Memory;\n"
    assert [s.line for s in split_statements(up_part(text, "dbmate"))] == [4]


@pytest.mark.parametrize("fmt", ["plain", "golang-migrate"])
def test_plain_and_golang_migrate_files_are_applied_whole(fmt: str) -> None:
    assert up_part(GOOSE, fmt) == GOOSE


def test_a_goose_file_without_an_up_marker_is_one_clear_error() -> None:
    with pytest.raises(SourceError, match=r"^x\.sql: a goose migration without a `-- \+goose Up` line"):
        up_part("CREATE TABLE a.t (id UInt64) ENGINE = Memory;\n", "goose", "x.sql")


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [("001_x.sql", GOOSE, "goose"), ("001_x.sql", DBMATE, "dbmate"), ("001_x.up.sql", "SELECT 1;", "golang-migrate"),
     ("001_x.sql", "SELECT 1; -- migrate:up is only text here", "plain"), ("1.2.0/0.sql", "SELECT 1;", "plain")],
)
def test_detect_format(name: str, text: str, fmt: str) -> None:
    assert detect_format(name, text) == fmt


def test_a_version_sorts_before_a_longer_version_it_starts() -> None:
    names = ["V2__c.sql", "V1.1__b.sql", "V1__a.sql", "V1.10__d.sql", "V1.9__e.sql"]
    assert sorted(names, key=natural_key) == ["V1__a.sql", "V1.1__b.sql", "V1.9__e.sql", "V1.10__d.sql", "V2__c.sql"]


def test_natural_order_of_versions() -> None:
    names = ["1.23.0/1.sql", "1.4.0/0.sql", "10_c.up.sql", "1.23.0/0.sql", "9_b.up.sql", "1.9.2/0.sql"]
    assert sorted(names, key=natural_key) == ["1.4.0/0.sql", "1.9.2/0.sql", "1.23.0/0.sql", "1.23.0/1.sql",
                                              "9_b.up.sql", "10_c.up.sql"]


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


MIGRATE = {"m/1_a.up.sql": "CREATE TABLE a.t (id UInt64) ENGINE = Memory;", "m/1_a.down.sql": "DROP TABLE a.t;",
           "m/10_c.up.sql": "SELECT 1;", "m/2_b.up.sql": "DROP TABLE a.old;",
           "m/2_b.down.sql": "CREATE TABLE a.old (id UInt64) ENGINE = Memory;",
           "extra/x.sql": "SELECT 1;"}


@pytest.mark.parametrize("entry", ["m", "m/", "m/*.sql", "m/*.up.sql", "**/[0-9]*_*.sql"])
def test_directories_and_globs_expand_to_up_files_in_version_order(tmp_path: Path, entry: str) -> None:
    _tree(tmp_path, MIGRATE)
    got = [s.path for s in expand_steps(tmp_path, [entry], "auto", "cfg")]
    assert got == ["m/1_a.up.sql", "m/2_b.up.sql", "m/10_c.up.sql"]


def test_entries_keep_their_order_and_a_file_is_applied_once(tmp_path: Path) -> None:
    _tree(tmp_path, MIGRATE)
    got = [s.path for s in expand_steps(tmp_path, ["extra/x.sql", "m/2_b.up.sql", "m"], "auto", "cfg")]
    assert got == ["extra/x.sql", "m/2_b.up.sql", "m/1_a.up.sql", "m/10_c.up.sql"]


@pytest.mark.parametrize(
    ("entry", "fmt", "message"),
    [("nothing/*.sql", "auto", "step 'nothing/*.sql' matches no .sql file under"),
     ("m/1_a.down.sql", "auto", "step 'm/1_a.down.sql' matches no .sql file under"),
     ("../outside.sql", "auto", "step '../outside.sql' names"),
     ("m", "flyway", "format 'flyway' is not one of auto, plain, golang-migrate, goose, dbmate")],
)
def test_bad_steps_are_one_line_naming_the_entry(tmp_path: Path, entry: str, fmt: str, message: str) -> None:
    root = _tree(tmp_path / "root", MIGRATE)
    (tmp_path / "outside.sql").write_text("SELECT 1;", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        expand_steps(root, [entry], fmt, "cfg: path 'up'")
    assert str(info.value).startswith("cfg: path 'up': ") and message in str(info.value)
    assert "\n" not in str(info.value)


CONFIG = """root = "."
canonical = "canon.sql"
[[source]]
path = "canon.sql"
"""


def _config(tmp_path: Path, body: str) -> Path:
    _tree(tmp_path, {**MIGRATE, "canon.sql": "CREATE TABLE a.t (id UInt64) ENGINE = Memory;",
                     "m/1_a.up.sql": "CREATE TABLE a.t (id UInt64) ENGINE = Memory;"})
    file = tmp_path / "chconform.toml"
    file.write_text(CONFIG + body, encoding="utf-8")
    return file


def test_a_path_over_a_folder_loads_with_its_files(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, '[[path]]\nname = "up"\nsteps = ["m"]\nformat = "golang-migrate"\n'))
    (spec,) = config.paths
    assert (spec.name, spec.steps, spec.format) == ("up", ("m",), "golang-migrate")
    assert spec.step_paths == ("m/1_a.up.sql", "m/2_b.up.sql", "m/10_c.up.sql")


def test_files_that_are_path_steps_count_as_configured(tmp_path: Path) -> None:
    """Neither the up files nor their down twins need a [[source]]: they are meaningful only in order."""
    without = load_config(_config(tmp_path, ""))
    assert unconfigured_sources(without) == ["m/1_a.up.sql", "m/2_b.down.sql"]
    with_path = load_config(_config(tmp_path, '[[path]]\nname = "up"\nsteps = ["m/*.sql"]\n'))
    assert unconfigured_sources(with_path) == []


def test_a_step_role_source_is_configured_and_never_applied_alone(tmp_path: Path) -> None:
    body = '[[source]]\npath = "m/1_a.up.sql"\nrole = "step"\n[[source]]\npath = "m/2_b.down.sql"\nrole = "step"\n'
    config = load_config(_config(tmp_path, body))
    assert [s.path for s in config.sources] == ["canon.sql"]  # check, validate, sync, pytest see only these
    assert [s.path for s in config.step_sources] == ["m/1_a.up.sql", "m/2_b.down.sql"]
    assert unconfigured_sources(config) == []


def test_the_canon_cannot_be_a_step(tmp_path: Path) -> None:
    file = _config(tmp_path, "")
    file.write_text(CONFIG.replace('path = "canon.sql"\n', 'path = "canon.sql"\nrole = "step"\n'), encoding="utf-8")
    with pytest.raises(ConfigError, match="canonical 'canon.sql' has role \"step\""):
        load_config(file)


@pytest.mark.parametrize(
    ("body", "message"),
    [('[[path]]\nname = "up"\nsteps = ["m"]\nfrom_revision = "v1"\n', "unknown key path[0].'from_revision'"),
     ('[[path]]\nname = "up"\nstep = ["m"]\n', "unknown key path[0].'step'"),
     ('[[path]]\nname = "up"\nsteps = []\n', "path[0].steps must be a non-empty list"),
     ('[[path]]\nname = "up"\nsteps = ["m"]\nformat = 3\n', "path[0].format must be a string"),
     ('[[path]]\nname = "up"\nsteps = ["m"]\nformat = "flyway"\n', "format 'flyway' is not one of")],
)
def test_path_config_mistakes_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    """Issue 18: `from_revision` for `from_rev` must be an error naming the key, never silently ignored."""
    with pytest.raises(ConfigError) as info:
        load_config(_config(tmp_path, body))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_step_without_its_tools_up_marker_is_one_line_before_any_engine_starts(tmp_path: Path) -> None:
    import io

    from chconform.cli import run

    _tree(tmp_path, {"canon.sql": "SELECT 1;", "db/1_a.sql": "CREATE TABLE a.t (id UInt64) ENGINE = Memory;\n"})
    config = tmp_path / "chconform.toml"
    config.write_text(CONFIG + '[[path]]\nname = "up"\nsteps = ["db"]\nformat = "goose"\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["path", "--config", str(config)], out, err) == 2
    assert out.getvalue() == "" and err.getvalue().count("\n") == 1
    assert "db/1_a.sql: a goose migration without a `-- +goose Up` line" in err.getvalue()
