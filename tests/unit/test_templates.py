"""Templates: `${NAME}` placeholders substituted from [variables] before anything reads the source."""

from __future__ import annotations

from pathlib import Path

import pytest

from chconform.config import load_config
from chconform.errors import ConfigError, SourceError
from chconform.sql.source import read_source
from chconform.sql.templates import check_value, placeholders, substitute

TEMPLATE = """CREATE DATABASE IF NOT EXISTS ${DATABASE};

CREATE TABLE IF NOT EXISTS ${DATABASE}.logs
(
    at DateTime,
    message String
)
ENGINE = MergeTree
ORDER BY at
TTL at + INTERVAL ${LOGS_TTL} DAY;
"""


def test_placeholders_are_replaced_and_lines_kept() -> None:
    out = substitute(TEMPLATE, {"DATABASE": "audit", "LOGS_TTL": "30"})
    assert "${" not in out
    assert "CREATE TABLE IF NOT EXISTS audit.logs" in out and "INTERVAL 30 DAY" in out
    assert out.count("\n") == TEMPLATE.count("\n")


def test_unset_placeholder_is_one_error_naming_it_and_its_line() -> None:
    with pytest.raises(SourceError) as caught:
        substitute(TEMPLATE, {"DATABASE": "audit"}, "seed/schema.sql")
    message = str(caught.value)
    assert message.startswith("seed/schema.sql:10: placeholder ${LOGS_TTL} has no value")
    assert "[variables]" in message and "\n" not in message


def test_shell_default_is_used_when_unset() -> None:
    assert substitute("TTL at + INTERVAL ${LOGS_TTL:-7} DAY", {}) == "TTL at + INTERVAL 7 DAY"
    assert substitute("TTL at + INTERVAL ${LOGS_TTL:-7} DAY", {"LOGS_TTL": "9"}) == "TTL at + INTERVAL 9 DAY"


def test_text_without_placeholders_is_returned_as_is() -> None:
    text = "SELECT '$1', concat('a', '$') -- no template here"
    assert substitute(text, {}) is text
    assert placeholders(TEMPLATE) == [("DATABASE", 1), ("DATABASE", 3), ("LOGS_TTL", 10)]


def test_values_that_would_move_lines_are_refused() -> None:
    assert "line break" in check_value("X", "a\nb")
    assert "not a placeholder name" in check_value("1X", "a")
    assert check_value("LOGS_TTL", 30) == ""


def test_read_source_substitutes_before_splitting(tmp_path: Path) -> None:
    file = tmp_path / "s.sql"
    file.write_text(TEMPLATE, encoding="utf-8")
    source = read_source(file, "s.sql", variables={"DATABASE": "audit", "LOGS_TTL": "30"})
    assert [s.target for s in source.statements] == ["default.audit", "audit.logs"]
    assert [s.line for s in source.statements] == [1, 3]
    with pytest.raises(SourceError, match=r"s\.sql:1: placeholder \$\{DATABASE\} has no value \(and 2 more\)"):
        read_source(file, "s.sql")
    with pytest.raises(SourceError, match=r"s\.sql:10: placeholder \$\{LOGS_TTL\}"):
        read_source(file, "s.sql", variables={"DATABASE": "audit"})


def _config(tmp_path: Path, variables: str) -> Path:
    (tmp_path / "schema.sql").write_text(TEMPLATE, encoding="utf-8")
    config = tmp_path / "chconform.toml"
    config.write_text('canonical = "schema.sql"\nprelude = ["CREATE DATABASE IF NOT EXISTS ${DATABASE}"]\n'
                      f'[[source]]\npath = "schema.sql"\n[variables]\n{variables}\n', encoding="utf-8")
    return config


def test_config_variables_reach_every_source_and_the_prelude(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, 'DATABASE = "audit"\nLOGS_TTL = 30'))
    assert dict(config.variables) == {"DATABASE": "audit", "LOGS_TTL": "30"}
    assert config.sources[0].variables == config.variables
    assert config.prelude == ("CREATE DATABASE IF NOT EXISTS audit",)


def test_config_variable_with_a_line_break_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line break"):
        load_config(_config(tmp_path, 'DATABASE = "a\\nb"'))


def test_config_prelude_placeholder_without_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"placeholder \$\{DATABASE\} has no value"):
        load_config(_config(tmp_path, 'LOGS_TTL = 30'))


def test_placeholder_in_a_comment_needs_no_value() -> None:
    text = "-- filled in by deploy: ${LOGS_TTL}\nSELECT ${X};"
    assert substitute(text, {"X": "1"}) == "-- filled in by deploy: ${LOGS_TTL}\nSELECT 1;"
    with pytest.raises(SourceError, match=r":2: placeholder \$\{X\}"):
        substitute(text, {})


def test_table_names_in_the_configuration_are_substituted_too(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(TEMPLATE, encoding="utf-8")
    file = tmp_path / "chconform.toml"
    body = ('canonical = "schema.sql"\nkey_tables = ["${DATABASE}.logs"]\n'
            '[[source]]\npath = "schema.sql"\nmust_define = "all"\n')
    file.write_text(body + '[variables]\nDATABASE = "audit"\nLOGS_TTL = 30\n', encoding="utf-8")
    config = load_config(file)
    assert config.key_tables == ("audit.logs",) and config.sources[0].must_define == ("audit.logs",)
    file.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"key_tables:1: placeholder \$\{DATABASE\} has no value"):
        load_config(file)
