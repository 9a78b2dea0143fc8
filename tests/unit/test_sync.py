"""`chconform sync`: drifted key-table definitions become the canonical text; nothing else moves."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from chconform.cli import run
from chconform.config import Config, load_config
from chconform.checks.static import validate
from chconform.commands.validate import copy_sources
from chconform.plan.sync import newline_of, plan

REPO = Path(__file__).resolve().parents[2]

DIM = """CREATE TABLE IF NOT EXISTS zakaz.dim_events
(
    event_id String,
    city LowCardinality(String),
    _ver UInt64
)
ENGINE = ReplacingMergeTree(_ver)
ORDER BY event_id"""
INV = """CREATE TABLE IF NOT EXISTS zakaz.inv
(
    event_id String,
    tickets_left Nullable(UInt32)
)
ENGINE = ReplacingMergeTree
ORDER BY event_id"""
STALE = DIM.replace("city LowCardinality(String)", "city String")
CANON = "-- canonical\nCREATE DATABASE IF NOT EXISTS zakaz;\n\n" + DIM + ";\n\n" + INV + ";\n"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return run(list(argv), out, err), out.getvalue(), err.getvalue()


def make_config(tmp_path: Path, files: dict[str, bytes], roles: dict[str, str],
                must: dict[str, list[str]] | None = None) -> Config:
    lines = ['root = "."', 'canonical = "canon.sql"', 'key_tables = ["zakaz.dim_events", "zakaz.inv"]',
             "[[source]]", 'path = "canon.sql"', 'must_define = "all"']
    (tmp_path / "canon.sql").write_text(CANON, encoding="utf-8")
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        lines += ["[[source]]", f"path = {json.dumps(name)}", f"role = {json.dumps(roles[name])}",
                  f"must_define = {json.dumps((must or {}).get(name, []))}"]
    (tmp_path / "chconform.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(tmp_path / "chconform.toml")


def sync(config: Config, *flags: str) -> tuple[int, str, str]:
    return cli("sync", "--config", str(config.config_file), *flags)


def test_the_repository_needs_no_change() -> None:
    code, out, _ = cli("sync", "--check", "--config", str(REPO / "pyproject.toml"))
    assert code == 0 and out.strip().splitlines()[-1] == "sync: 0 files would change"


def test_check_prints_a_unified_diff_and_changes_nothing(tmp_path: Path) -> None:
    data = ("CREATE DATABASE IF NOT EXISTS zakaz;\n" + STALE + ";\n").encode()
    config = make_config(tmp_path, {"dump.sql": data}, {"dump.sql": "dump"})
    code, out, _ = sync(config, "--check")
    assert code == 1
    assert "--- a/dump.sql\n+++ b/dump.sql\n" in out
    assert "-    city String,\n+    city LowCardinality(String),\n" in out
    assert "sync: 1 file would change: dump.sql" in out
    assert (tmp_path / "dump.sql").read_bytes() == data


def test_write_restores_conformity_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"dump.sql": ("CREATE DATABASE IF NOT EXISTS zakaz;\n" + STALE + ";\n").encode()},
                         {"dump.sql": "dump"})
    assert not validate(config).ok
    code, out, _ = sync(config, "--write")
    assert code == 0 and "sync: wrote dump.sql" in out and out.endswith("Schema validation passed.\n")
    assert validate(config).ok
    after = (tmp_path / "dump.sql").read_bytes()
    assert sync(config, "--check")[0] == 0
    code, out, _ = sync(config, "--write")
    assert code == 0 and "sync: nothing to change" in out
    assert (tmp_path / "dump.sql").read_bytes() == after


def test_everything_outside_the_definition_is_kept_byte_for_byte(tmp_path: Path) -> None:
    head = "-- header: keep me\r\nCREATE DATABASE IF NOT EXISTS zakaz;\r\n\r\n/* before */ "
    tail = "; -- trailing comment\r\n\r\nSELECT 'x;y';\r\n"
    config = make_config(tmp_path, {"dump.sql": (head + STALE.replace("\n", "\r\n") + tail).encode()},
                         {"dump.sql": "dump"})
    assert sync(config, "--write")[0] == 0
    new = (tmp_path / "dump.sql").read_bytes().decode()
    assert new == head + DIM.replace("\n", "\r\n") + tail
    assert newline_of(new) == "\r\n" and "\n" not in new.replace("\r\n", "")


@pytest.mark.parametrize("encoding", ["cp1251", "utf-8-sig"])
def test_the_encoding_is_kept(tmp_path: Path, encoding: str) -> None:
    text = "-- Схема: измерение событий\nCREATE DATABASE IF NOT EXISTS zakaz;\n" + STALE + ";\n"
    config = make_config(tmp_path, {"dump.sql": text.encode(encoding)}, {"dump.sql": "dump"})
    assert sync(config, "--write")[0] == 0
    expected = "-- Схема: измерение событий\nCREATE DATABASE IF NOT EXISTS zakaz;\n" + DIM + ";\n"
    assert (tmp_path / "dump.sql").read_bytes() == expected.encode(encoding)


def test_a_canonical_text_the_encoding_cannot_hold_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"dump.sql": ("-- схема\n" + STALE + ";\n").encode("cp1251")}, {"dump.sql": "dump"})
    (tmp_path / "canon.sql").write_text(CANON.replace("city LowCardinality(String)",
                                                      "city LowCardinality(String) COMMENT '✓'"), encoding="utf-8")
    before = (tmp_path / "dump.sql").read_bytes()
    code, _, err = sync(config, "--write")
    assert code == 2 and err.count("\n") == 1 and "dump.sql" in err and "cp1251" in err
    assert (tmp_path / "dump.sql").read_bytes() == before


def test_a_drop_is_added_in_a_migration_before_a_rewritten_table_never_in_a_dump(tmp_path: Path) -> None:
    body = ("CREATE DATABASE IF NOT EXISTS zakaz;\n\n" + STALE + ";\n").encode()
    config = make_config(tmp_path, {"m.sql": body, "i.sql": body, "d.sql": body},
                         {"m.sql": "migration", "i.sql": "init", "d.sql": "dump"})
    assert sync(config, "--write")[0] == 0
    for name in ("m.sql", "i.sql"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "\nDROP TABLE IF EXISTS zakaz.dim_events;\n" + DIM + ";\n" in text
    assert "DROP" not in (tmp_path / "d.sql").read_text(encoding="utf-8")
    assert validate(config).ok


def test_an_existing_drop_is_not_doubled(tmp_path: Path) -> None:
    body = "CREATE DATABASE IF NOT EXISTS zakaz;\nDROP TABLE IF EXISTS zakaz.dim_events;\n" + STALE + ";\n"
    config = make_config(tmp_path, {"m.sql": body.encode()}, {"m.sql": "migration"})
    assert sync(config, "--write")[0] == 0
    assert (tmp_path / "m.sql").read_text(encoding="utf-8").count("DROP TABLE") == 1


def test_an_equivalent_spelling_is_left_alone(tmp_path: Path) -> None:
    body = ("CREATE DATABASE IF NOT EXISTS zakaz;\n" + DIM.replace("ORDER BY event_id", "order by (event_id)")
            .replace("ENGINE = ReplacingMergeTree(_ver)", "engine=ReplacingMergeTree(_ver)") + ";\n").encode()
    config = make_config(tmp_path, {"m.sql": body}, {"m.sql": "migration"})
    assert sync(config, "--check")[0] == 0
    assert sync(config, "--write")[0] == 0 and (tmp_path / "m.sql").read_bytes() == body


def test_a_missing_must_define_table_is_added_after_the_last_key_table(tmp_path: Path) -> None:
    body = "CREATE DATABASE IF NOT EXISTS zakaz;\n\n" + DIM + ";\n\n-- views follow\nSELECT 1;\n"
    config = make_config(tmp_path, {"m.sql": body.encode(), "d.sql": body.encode()},
                         {"m.sql": "migration", "d.sql": "dump"}, must={"m.sql": ["zakaz.inv"], "d.sql": ["zakaz.inv"]})
    assert not validate(config).ok
    code, out, _ = sync(config, "--write")
    assert code == 0, out
    assert (tmp_path / "m.sql").read_text(encoding="utf-8") == (
        "CREATE DATABASE IF NOT EXISTS zakaz;\n\n" + DIM + ";\n\nDROP TABLE IF EXISTS zakaz.inv;\n" + INV + ";\n\n"
        "-- views follow\nSELECT 1;\n")
    assert (tmp_path / "d.sql").read_text(encoding="utf-8") == (
        "CREATE DATABASE IF NOT EXISTS zakaz;\n\n" + DIM + ";\n\n" + INV + ";\n\n-- views follow\nSELECT 1;\n")
    assert validate(config).ok
    assert sync(config, "--check")[0] == 0


def test_a_missing_table_in_a_file_without_key_tables_goes_after_its_databases(tmp_path: Path) -> None:
    body = "CREATE DATABASE IF NOT EXISTS zakaz;\n-- nothing else"
    config = make_config(tmp_path, {"d.sql": body.encode()}, {"d.sql": "dump"}, must={"d.sql": ["zakaz.dim_events"]})
    assert sync(config, "--write")[0] == 0
    assert (tmp_path / "d.sql").read_text(encoding="utf-8") == (
        "CREATE DATABASE IF NOT EXISTS zakaz;\n\n" + DIM + ";\n-- nothing else")


def test_a_create_without_if_not_exists_is_rewritten_to_the_idempotent_canonical_text(tmp_path: Path) -> None:
    body = "CREATE DATABASE IF NOT EXISTS zakaz;\n" + DIM.replace(" IF NOT EXISTS", "") + ";\n"
    config = make_config(tmp_path, {"d.sql": body.encode()}, {"d.sql": "dump"})
    assert not validate(config).ok
    assert sync(config, "--write")[0] == 0 and validate(config).ok


def test_an_undecidable_definition_is_left_alone_with_a_note(tmp_path: Path) -> None:
    body = ("CREATE DATABASE IF NOT EXISTS zakaz;\n" + INV.replace("zakaz.inv", "zakaz.tpl") + ";\n"
            "CREATE TABLE IF NOT EXISTS zakaz.dim_events AS zakaz.tpl;\n").encode()
    config = make_config(tmp_path, {"d.sql": body}, {"d.sql": "dump"})
    code, out, _ = sync(config, "--check")
    assert code == 0 and "note: d.sql:9  zakaz.dim_events: left alone, undecidable statically" in out
    assert (tmp_path / "d.sql").read_bytes() == body


def test_the_canonical_source_is_never_rewritten(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"d.sql": ("CREATE DATABASE IF NOT EXISTS zakaz;\n" + STALE + ";\n").encode()},
                         {"d.sql": "dump"})
    plans = plan(config)
    assert [p.path for p in plans] == ["canon.sql", "d.sql"] and not plans[0].changed and plans[1].changed


def test_an_undecidable_canonical_definition_is_never_copied(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"d.sql": ("CREATE DATABASE IF NOT EXISTS zakaz;\n" + STALE + ";\n").encode()},
                         {"d.sql": "dump"})
    (tmp_path / "canon.sql").write_text(CANON + "ALTER TABLE zakaz.dim_events ADD COLUMN x String;\n", encoding="utf-8")
    code, out, _ = sync(config, "--check")
    assert "canon.sql  zakaz.dim_events: the canonical definition is undecidable statically" in out
    assert "--- " not in out  # nothing rewritten ...
    # ... yet validate still finds the stale copy: --check does not pass while validate fails, and says who can fix it
    assert code == 1 and "sync: not fixable by rewriting a definition: d.sql:" in out
    assert "sync: `chconform plan d.sql` prints the SQL that brings d.sql to the canon" in out


def test_writes_are_atomic_keep_the_mode_and_leave_no_temporary_file(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"d.sql": ("CREATE DATABASE IF NOT EXISTS zakaz;\n" + STALE + ";\n").encode()},
                         {"d.sql": "dump"})
    os.chmod(tmp_path / "d.sql", 0o640)
    inode = (tmp_path / "d.sql").stat().st_ino
    assert sync(config, "--write")[0] == 0
    assert (tmp_path / "d.sql").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "d.sql").stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canon.sql", "chconform.toml", "d.sql"]


def test_a_drifted_copy_of_the_repository_conforms_after_write(tmp_path: Path) -> None:
    """The original task's drift: a stale type everywhere in the file, fact_qtickets_inventory missing."""
    config = load_config(REPO / "pyproject.toml")
    toml = copy_sources(config, tmp_path)
    file = tmp_path / "migrations" / "2025-qtickets-api.sql"
    original = file.read_text(encoding="utf-8")
    start = original.index("DROP TABLE IF EXISTS zakaz.fact_qtickets_inventory;\n")
    end = original.index(";\n", original.index("CREATE TABLE IF NOT EXISTS zakaz.fact_qtickets_inventory\n")) + 3
    stale = (original[:start] + original[end:]).replace("tickets_left Nullable(UInt32),", "tickets_left UInt32,")
    file.write_text(stale, encoding="utf-8")
    drifted = load_config(toml)
    report = validate(drifted)
    assert not report.ok
    assert "zakaz.fact_qtickets_inventory" in next(s for s in report.sources if s.path.startswith("migrations/2025-qtickets-api.sql")).missing_tables
    code, out, _ = cli("sync", "--write", "--config", str(toml))
    assert code == 0, out
    assert "zakaz.fact_qtickets_inventory: added (must_define)" in out
    assert validate(drifted).ok
    assert cli("sync", "--check", "--config", str(toml))[0] == 0
    restored = file.read_text(encoding="utf-8")
    assert restored.count("tickets_left Nullable(UInt32),") == original.count("tickets_left Nullable(UInt32),")
    assert "DROP TABLE IF EXISTS zakaz.fact_qtickets_inventory;\nCREATE TABLE IF NOT EXISTS zakaz.fact_qtickets_inventory\n" \
        in restored


def test_views_are_synced_too(tmp_path: Path) -> None:
    view = "CREATE OR REPLACE VIEW zakaz.v AS SELECT event_id FROM zakaz.dim_events"
    config = make_config(tmp_path, {"d.sql": ("CREATE DATABASE IF NOT EXISTS zakaz;\n" + STALE + ";\n"
                                              + view.replace("SELECT event_id", "SELECT city") + ";\n").encode()},
                         {"d.sql": "dump"})
    (tmp_path / "canon.sql").write_text(CANON + view + ";\n", encoding="utf-8")
    code, out, _ = sync(config, "--write")
    assert code == 0 and "sync: wrote d.sql" in out and "zakaz.v: rewritten to the canonical text" in out
    assert view + ";" in (tmp_path / "d.sql").read_text(encoding="utf-8")
    assert sync(config, "--check")[0] == 0


def test_write_exits_1_when_findings_remain_that_sync_does_not_fix(tmp_path: Path) -> None:
    """The canon changes a table after creating it: no CREATE text to copy, so only `plan` can bring d.sql there."""
    view = "CREATE OR REPLACE VIEW zakaz.v AS SELECT event_id FROM zakaz.dim_events"
    config = make_config(tmp_path, {"d.sql": ("CREATE DATABASE IF NOT EXISTS zakaz;\n" + STALE + ";\n"
                                              + view.replace("event_id", "city") + ";\n").encode()}, {"d.sql": "dump"})
    (tmp_path / "canon.sql").write_text(CANON + "ALTER TABLE zakaz.dim_events ADD COLUMN x String;\n" + view + ";\n",
                                        encoding="utf-8")
    code, out, _ = sync(config, "--write")
    assert "sync: wrote d.sql" in out and "zakaz.v: rewritten to the canonical text" in out  # the view it can fix
    assert code == 1 and "sync: not fixable by rewriting a definition: d.sql:" in out, out
    assert "sync: `chconform plan d.sql` prints the SQL that brings d.sql to the canon" in out


def test_a_drop_block_at_the_top_is_not_doubled(tmp_path: Path) -> None:
    body = ("CREATE DATABASE IF NOT EXISTS zakaz;\nDROP TABLE IF EXISTS zakaz.dim_events;\n-- re-created below\n"
            "SELECT 1;\n" + STALE + ";\n")
    config = make_config(tmp_path, {"i.sql": body.encode()}, {"i.sql": "init"})
    assert sync(config, "--write")[0] == 0
    assert (tmp_path / "i.sql").read_text(encoding="utf-8").count("DROP TABLE IF EXISTS zakaz.dim_events") == 1
