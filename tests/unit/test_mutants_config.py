"""Config bug that once survived the whole suite (issue 18): a table accepting a key it does not know.

A misspelt key silently ignored is a setting the user believes is on: every table with fixed keys refuses any
other key in one line naming the table and the key, and each table's known keys are still accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chconform.config import (
    BootstrapSettings,
    EvidenceSettings,
    PathSpec,
    SmokeSettings,
    SourceSpec,
    load_config,
)
from chconform.errors import ChconformError, ConfigError
from chconform.sql.migrations import StepFile

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


MISTAKES = {  # name: (the config, the one line it gets; {file} and {dir} stand for the paths)
    "root-not-dir": ('root = "a.sql"\n' + BASE.split("\n",1)[1],
        '{file}: root {dir}/a.sql is not a directory'),
    "no-canonical": (BASE.replace('canonical = "a.sql"\n', ''),
        "{file}: missing key 'canonical' (the canonical source, relative to root)"),
    "key-table-unqualified": (BASE.replace('key_tables = ["z.t"]', 'key_tables = ["t"]'),
        "{file}: key_tables entry 't' must be written as database.table"),
    "key-tables-not-list": (BASE.replace('key_tables = ["z.t"]', 'key_tables = "z.t"'),
        '{file}: key_tables must be a list of strings'),
    "twice": (BASE + '[[source]]\npath = "a.sql"\n',
        "{file}: source 'a.sql' is configured twice"),
    "canon-not-source": (BASE.replace('canonical = "a.sql"', 'canonical = "c.sql"'),
        "{file}: canonical 'c.sql' is not one of the configured sources; add a [[source]] for it"),
    "canon-step": (BASE.replace('must_define = "all"\n', 'must_define = "all"\nrole = "step"\n', 1),
        '{file}: canonical \'a.sql\' has role "step"; the canon is applied alone, give it role "dump" or "init"'),
    "max-mb": ('max_source_mb = 0\n' + BASE,
        '{file}: max_source_mb must be a positive number of megabytes, not 0'),
    "timeout": ('timeout_s = 0\n' + BASE,
        '{file}: timeout_s must be a positive number of seconds, not 0'),
    "timeout-type": ('timeout_s = "60"\n' + BASE,
        "{file}: timeout_s must be a positive number of seconds, not '60'"),
    "engine": ('engine = 24.8\n' + BASE,
        '{file}: engine must be a ClickHouse release such as "24.8" or a list of them, not 24.8'),
    "outside": (BASE.replace('path = "b.sql"\nrole', 'path = "../b.sql"\nrole'),
        "{file}: source[1].path '../b.sql' is outside the root {dir}"),
    "not-found": (BASE.replace('path = "b.sql"\nrole', 'path = "nope.sql"\nrole'),
        '{file}: source[1].path file not found: {dir}/nope.sql'),
    "no-path": (BASE.replace('path = "b.sql"\nrole', 'role'),
        '{file}: source[1] needs a path'),
    "role": (BASE.replace('role = "migration"', 'role = "seed"'),
        "{file}: source 'b.sql' has unknown role 'seed' (use one of: dump, init, migration, step)"),
    "must-define": (BASE.replace('must_define = "all"', 'must_define = "some"'),
        '{file}: source \'a.sql\': must_define must be "all" or a list of tables'),
    "prelude-missing": ('prelude = ["none.sql"]\n' + BASE,
        '{file}: prelude file not found: {dir}/none.sql'),
    "path-steps": (BASE.replace('steps = ["b.sql"]', 'steps = []'),
        '{file}: path[0].steps must be a non-empty list of files, directories or globs'),
    "path-name-type": (BASE.replace('name = "up"', 'name = 1'),
        '{file}: path[0].name must be a string, not 1'),
    "bootstrap-not-table": ('bootstrap = 1\n' + BASE,
        '{file}: write bootstrap as a [bootstrap] table (in pyproject.toml: [tool.chconform.bootstrap])'),
    "smoke-job-row-type": (BASE + '[smoke]\njob_table = "z.j"\n[smoke.job_row]\nx = [1]\n',
        '{file}: smoke.job_row.x must be a string or a number, not [1]'),
    "smoke-row-without-table": (BASE + '[smoke.job_row]\nx = 1\n',
        '{file}: smoke.job_row needs smoke.job_table (the table the row goes to)'),
    "smoke-unqualified": (BASE + '[smoke]\njob_table = "j"\n',
        "{file}: smoke.job_table entry 'j' must be written as database.table"),
    "evidence-map": (BASE + '[evidence]\nitems = "x"\n',
        '{file}: evidence.items must be a table of strings'),
    "evidence-path": (BASE + '[evidence]\naudit_report = "../x.md"\n',
        "{file}: evidence path '../x.md' must be relative to the repository, inside it"),
    "evidence-log-name": (BASE + '[evidence]\nsmoke_log = "sub/x.log"\n',
        "{file}: evidence log name 'sub/x.log' must be a plain file name (it goes under logs/)"),
    "settings-type": (BASE + '[settings]\nmax_threads = [1]\n',
        '{file}: [settings] max_threads must be a string or a number, not [1]'),
    "rules-severity": (BASE + '[rules]\nengine = "fatal"\n',
        "{file}: [rules] engine = 'fatal': use one of error, warning, off"),
    "macros-type": (BASE + '[macros]\nshard = [1]\n',
        '{file}: [macros] shard must be a string, not [1]'),
    "macros-value": (BASE + '[macros]\nshard = "<x>"\n',
        "{file}: [macros] shard = '<x>' is not a usable macro (a name and a plain value)"),
    "not-utf8": (None,
        '{file}: not UTF-8 text'),
    "pyproject-no-table": (None,
        '{file}: has no [tool.chconform] table'),
}


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_config_mistake_is_its_own_exact_line(tmp_path: Path, name: str) -> None:
    body, message = MISTAKES[name]
    if name == "not-utf8":
        file = write(tmp_path, "")
        file.write_bytes(b'root = "\xff"\n')
    elif name == "pyproject-no-table":
        write(tmp_path, "")
        file = tmp_path / "pyproject.toml"
        file.write_text("[tool.other]\n", encoding="utf-8")
    else:
        file = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert str(info.value) == message.format(file=file, dir=tmp_path.resolve())


FULL = '''root = "sql"
canonical = "canon.sql"
key_tables = ["${DB}.t", "zakaz.u"]
prelude = ["CREATE DATABASE IF NOT EXISTS ${DB}", "pre.sql"]
timeout_s = 12.5
backend = "docker"
image = "clickhouse/clickhouse-server:24.8"
data_dir = "data"
max_source_mb = 2
[[source]]
path = "canon.sql"
must_define = "all"
[[source]]
path = "mig/b.sql"
role = "migration"
must_define = ["${DB}.t"]
[[source]]
path = "step.sql"
role = "step"
[[path]]
name = "up"
steps = ["mig/b.sql"]
from_rev = "v1"
format = "plain"
[[path]]
steps = ["step.sql"]
[bootstrap]
access_source = "mig/b.sql"
[smoke]
job_table = "meta.jobs"
job_row = { job = "etl", ok = 1 }
payloads = "payloads"
reads = ["zakaz.v"]
[evidence]
title = "Evidence"
docs = ["docs/a.md"]
smoke_log = "smoke.log"
[evidence.describe_names]
"zakaz.t" = "describe_t.tsv"
[variables]
DB = "zakaz"
[settings]
max_threads = 4
allow_experimental_object_type = true
[rules]
drop_before_create = "off"
engine = "warning"
[macros]
shard = "01"
replica = 1
'''


def test_a_full_config_loads_to_exactly_these_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every table and key set at once: each value lands where it belongs, converted and substituted."""
    monkeypatch.delenv("CHCONFORM_BACKEND", raising=False)
    monkeypatch.delenv("CHCONFORM_ENGINE", raising=False)
    sql = tmp_path / "sql"
    (sql / "mig").mkdir(parents=True)
    for name in ("canon.sql", "mig/b.sql", "step.sql"):
        (sql / name).write_text("SELECT 1;\n", encoding="utf-8")
    (sql / "pre.sql").write_text("CREATE TABLE zakaz.base (a String) ENGINE = Log;\n"
                                 "CREATE TABLE zakaz.b2 (a String) ENGINE = Log;\n", encoding="utf-8")
    (tmp_path / "chconform.toml").write_text(FULL, encoding="utf-8")
    c = load_config(tmp_path / "chconform.toml")
    db = (("DB", "zakaz"),)
    assert (c.config_file, c.root, c.canonical) == (tmp_path / "chconform.toml", sql, "canon.sql")
    assert c.sources == (
        SourceSpec("canon.sql", sql / "canon.sql", "dump", ("zakaz.t", "zakaz.u"), db, 2 << 20),
        SourceSpec("mig/b.sql", sql / "mig/b.sql", "migration", ("zakaz.t",), db, 2 << 20),
    )
    assert c.step_sources == (SourceSpec("step.sql", sql / "step.sql", "step", (), db, 2 << 20),)
    assert c.key_tables == ("zakaz.t", "zakaz.u")
    assert c.prelude == ("CREATE DATABASE IF NOT EXISTS zakaz", "CREATE TABLE zakaz.base (a String) ENGINE = Log",
                         "CREATE TABLE zakaz.b2 (a String) ENGINE = Log")
    assert (c.timeout_s, c.backend, c.image, c.data_dir, c.engines) == (
        12.5, "docker", "clickhouse/clickhouse-server:24.8", tmp_path / "data", ())
    assert c.paths == (
        PathSpec("up", ("mig/b.sql",), "v1", "plain", (StepFile("mig/b.sql", sql / "mig/b.sql", "plain"),)),
        PathSpec("path1", ("step.sql",), None, "auto", (StepFile("step.sql", sql / "step.sql", "auto"),)),
    )
    assert c.bootstrap == BootstrapSettings("mig/b.sql")
    assert c.smoke == SmokeSettings("meta.jobs", (("job", "etl"), ("ok", 1)), tmp_path / "payloads", ("zakaz.v",))
    assert c.evidence == EvidenceSettings(title="Evidence", docs=("docs/a.md",), smoke_log="smoke.log",
                                          describe_names=(("zakaz.t", "describe_t.tsv"),))
    assert c.variables == db
    assert c.settings == (("max_threads", "4"), ("allow_experimental_object_type", "1"))
    assert c.rules == (("drop_before_create", "off"), ("engine", "warning"))
    assert c.rule_severity == {"drop_before_create": "off", "engine": "warning"}
    assert c.macros == (("replica", "1"), ("shard", "01"))


def test_the_defaults_of_a_minimal_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHCONFORM_BACKEND", raising=False)
    monkeypatch.delenv("CHCONFORM_ENGINE", raising=False)
    c = load_config(write(tmp_path, 'canonical = "a.sql"\n[[source]]\npath = "a.sql"\n'))
    assert c.sources == (SourceSpec("a.sql", tmp_path.resolve() / "a.sql", "dump", ()),)
    assert (c.root, c.key_tables, c.prelude, c.timeout_s, c.backend, c.data_dir, c.paths, c.engines) == (
        tmp_path.resolve(), (), (), 60.0, "embedded", None, (), ())
    assert (c.bootstrap, c.smoke, c.evidence) == (BootstrapSettings(), SmokeSettings(), EvidenceSettings())
    assert (c.variables, c.settings, c.rules, c.macros, c.step_sources) == ((), (), (), (), ())
    monkeypatch.setenv("CHCONFORM_BACKEND", "docker")
    assert load_config(tmp_path / "chconform.toml").backend == "docker"


def test_find_config_takes_the_nearest_chconform_toml_or_pyproject_with_the_table(tmp_path: Path) -> None:
    from chconform.config import find_config

    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("[tool.chconform]\ncanonical = 'x.sql'\n", encoding="utf-8")
    (tmp_path / "a" / "pyproject.toml").write_text("[tool.other]\n", encoding="utf-8")  # no table: passed over
    assert find_config(deep) == tmp_path / "pyproject.toml"
    (deep / "chconform.toml").write_text("", encoding="utf-8")  # nearer, and chosen even when empty
    assert find_config(deep) == deep / "chconform.toml"
    (tmp_path / "a" / "chconform.toml").write_text("", encoding="utf-8")
    (tmp_path / "a" / "pyproject.toml").write_text("[tool.chconform]\n", encoding="utf-8")
    assert find_config(tmp_path / "a") == tmp_path / "a" / "chconform.toml"  # chconform.toml first in a folder


def test_find_config_without_any_is_one_line_and_starts_from_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chconform.config import find_config

    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "pyproject.toml").write_text("[tool.chconformist]\n", encoding="utf-8")
    monkeypatch.setattr(Path, "parents", property(lambda self: ()))  # stop at the folder itself: / may hold one
    with pytest.raises(ConfigError) as info:
        find_config(lonely)
    assert str(info.value) == (f"no chconform.toml or pyproject.toml with [tool.chconform] found from {lonely}; "
                               "pass --config")
    (lonely / "chconform.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(lonely)
    assert find_config() == lonely / "chconform.toml"


@pytest.mark.parametrize(("body", "message"), [
    (BASE.replace('name = "up"', 'name = "up"\nfrom_rev = 1'), "{file}: path[0].from_rev must be a string, not 1"),
    (BASE.replace('name = "up"', 'name = "up"\nformat = 2'), "{file}: path[0].format must be a string, not 2"),
    (BASE + '[smoke]\njob_table = "zakaz."\n', "{file}: smoke.job_table entry 'zakaz.' must be written as database.table"),
    (BASE + '[smoke]\njob_table = ".t"\n', "{file}: smoke.job_table entry '.t' must be written as database.table"),
    (BASE + '[macros]\n"bad-name" = "x"\n', "{file}: [macros] bad-name = 'x' is not a usable macro (a name and a plain "
                                            "value)"),
    (BASE + '[macros]\nshard = ""\n', "{file}: [macros] shard = '' is not a usable macro (a name and a plain value)"),
    (BASE + '[macros]\n__ = "x"\n', "{file}: [macros] __ = 'x' is not a usable macro (a name and a plain value)"),
], ids=["from_rev", "format", "table-no-name", "table-no-database", "macro-name", "macro-empty", "macro-underscores"])
def test_more_config_mistakes(tmp_path: Path, body: str, message: str) -> None:
    file = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert str(info.value) == message.format(file=file)


def test_a_path_step_error_names_the_path(tmp_path: Path) -> None:
    file = write(tmp_path, BASE.replace('steps = ["b.sql"]', 'steps = ["nope/*.sql"]'))
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert str(info.value).startswith(f"{file}: path 'up': step 'nope/*.sql' matches no .sql file under ")


def test_rules_accept_every_kind_of_rule_id_and_list_them_when_unknown(tmp_path: Path) -> None:
    body = BASE + '[rules]\ndrop_in_dump = "warning"\ncolumn_type = "off"\nstatement_error = "warning"\n'
    assert load_config(write(tmp_path, body)).rules == (("column_type", "off"), ("drop_in_dump", "warning"),
                                                         ("statement_error", "warning"))
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, BASE + '[rules]\nnope = "off"\n'))
    listed = str(info.value).split("(rules: ", 1)[1].rstrip(")").split(", ")
    assert listed == sorted(listed) and {"drop_in_dump", "column_type", "statement_error", "engine"} <= set(listed)


@pytest.mark.parametrize(("table", "message"), [
    ('[smoke]\njob_table = 1\n', "{file}: job_table must be a str, not 1"),
    ('[smoke]\njob_table = "z.j"\njob_row = 1\n', "{file}: job_row must be a dict, not 1"),
    ('[smoke]\npayloads = 1\n', "{file}: payloads must be a str, not 1"),
    ('[smoke]\nreads = "z.v"\n', "{file}: reads must be a list of strings"),
    ('[smoke]\nreads = ["v"]\n', "{file}: smoke.reads entry 'v' must be written as database.table"),
    ('[bootstrap]\naccess_source = 1\n', "{file}: access_source must be a str, not 1"),
    ('[bootstrap]\naccess_source = "../x.sql"\n', "{file}: bootstrap.access_source '../x.sql' is outside the root {dir}"),
    ('[evidence]\ntitle = 1\n', "{file}: title must be a str, not 1"),
    ('[evidence]\ndocs = "README.md"\n', "{file}: docs must be a list of strings"),
    ('[evidence]\nbootstrap_script = "../b.sh"\n', "{file}: evidence path '../b.sh' must be relative to the repository, "
                                                  "inside it"),
    ('[evidence]\nsmoke_script = "/s.sh"\n', "{file}: evidence path '/s.sh' must be relative to the repository, inside it"),
    ('[evidence]\nvalidate_script = "../v.py"\n', "{file}: evidence path '../v.py' must be relative to the repository, "
                                                 "inside it"),
    ('[evidence]\nserver_logs = "/var/log"\n', "{file}: evidence path '/var/log' must be relative to the repository, "
                                              "inside it"),
    ('[evidence]\ndocs = ["../d.md"]\n', "{file}: evidence path '../d.md' must be relative to the repository, inside it"),
    ('[evidence]\ninstructed_docs = ["/r.md"]\n', "{file}: evidence path '/r.md' must be relative to the repository, "
                                                 "inside it"),
    ('[evidence]\nsmoke_log = "a\\\\b.log"\n', "{file}: evidence log name 'a\\\\b.log' must be a plain file name (it goes "
                                              "under logs/)"),
    ('[evidence]\nsmoke_log = ".hidden"\n', "{file}: evidence log name '.hidden' must be a plain file name (it goes under "
                                           "logs/)"),
    ('[evidence]\nsmoke_log = ""\n', "{file}: evidence log name '' must be a plain file name (it goes under logs/)"),
    ('[evidence.describe_names]\n"z.t" = "d/t.tsv"\n', "{file}: evidence log name 'd/t.tsv' must be a plain file name "
                                                       "(it goes under logs/)"),
], ids=lambda v: v.split("\n")[1][:30] if v.startswith("[") else "")
def test_each_smoke_bootstrap_and_evidence_mistake_is_its_own_line(tmp_path: Path, table: str, message: str) -> None:
    file = write(tmp_path, BASE + table)
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert str(info.value) == message.format(file=file, dir=tmp_path.resolve())


def test_macro_names_may_hold_underscores_and_values_any_plain_letter(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + '[macros]\nmy_shard = "X1"\n'))
    assert config.macros == (("my_shard", "X1"),)


def test_a_source_is_found_by_its_path_or_named_as_not_configured(tmp_path: Path) -> None:
    file = write(tmp_path, BASE)
    config = load_config(file)
    assert config.source("b.sql").role == "migration" and config.source("a.sql").role == "dump"
    with pytest.raises(ConfigError) as info:
        config.source("c.sql")
    assert str(info.value) == f"{file}: no source 'c.sql' is configured"
