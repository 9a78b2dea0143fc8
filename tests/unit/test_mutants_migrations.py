"""Migration folders as golang-migrate, goose, dbmate and versioned directories lay them out, exactly: the up
part of each file (every other line blank, line numbers kept), the order of the steps, and each mistake as
one line naming the file or entry, what is wrong and what to do. Written against the survivors of
`make mutate` on sql/migrations (docs/mutation/sql-migrations.md); every migration file here is written
for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from chconform.errors import ConfigError, SourceError
from chconform.sql.migrations import StepFile, detect_format, expand_steps, is_down_file, natural_key, up_part

# --- goose ------------------------------------------------------------------------------------------------

GOOSE = """-- Orders and their lines.
-- +goose Up
-- +goose StatementBegin
CREATE TABLE shop.orders
(
    id UInt64,
    placed DateTime
)
ENGINE = MergeTree
ORDER BY id;
-- +goose StatementEnd
CREATE TABLE shop.order_lines (order_id UInt64, sku String) ENGINE = MergeTree ORDER BY order_id;

-- +goose Down
DROP TABLE shop.order_lines;
DROP TABLE shop.orders;"""


def test_goose_up_part_exactly_with_every_other_line_blank() -> None:
    assert up_part(GOOSE, "goose", "db/00001_orders.sql") == (
        "\n"
        "\n"
        "\n"
        "CREATE TABLE shop.orders\n"
        "(\n"
        "    id UInt64,\n"
        "    placed DateTime\n"
        ")\n"
        "ENGINE = MergeTree\n"
        "ORDER BY id;\n"
        "\n"
        "CREATE TABLE shop.order_lines (order_id UInt64, sku String) ENGINE = MergeTree ORDER BY order_id;\n"
        "\n"
        "\n"
        "\n"
        "")  # the last line, of the down part, had no line break: none is added


def test_goose_markers_in_any_case_and_with_options() -> None:
    text = ("-- +goose NO TRANSACTION\n"
            "--+goose up\n"
            "ALTER TABLE shop.orders ADD COLUMN note String;\n"
            "  -- +GOOSE DOWN\n"
            "ALTER TABLE shop.orders DROP COLUMN note;\n")
    assert detect_format("00002_note.sql", text) == "goose"
    assert up_part(text, "goose") == "\n\nALTER TABLE shop.orders ADD COLUMN note String;\n\n\n"


def test_a_goose_file_without_its_up_marker_says_which_file_and_what_to_do() -> None:
    with pytest.raises(SourceError) as info:
        up_part("-- +goose Down\nDROP TABLE shop.orders;\n", "goose", "db/00003_drop.sql")
    assert str(info.value) == ("db/00003_drop.sql: a goose migration without a `-- +goose Up` line; add it above "
                               "the up part or set format = \"plain\" for this path")


# --- dbmate -----------------------------------------------------------------------------------------------

DBMATE = """-- migrate:up transaction:false
CREATE TABLE shop.stock (sku String, qty Int32) ENGINE = ReplacingMergeTree ORDER BY sku;
INSERT INTO shop.stock VALUES ('a', 1);

-- migrate:down
DROP TABLE shop.stock;
"""


def test_dbmate_up_part_exactly() -> None:
    assert up_part(DBMATE, "dbmate", "db/migrations/20240105093000_stock.sql") == (
        "\n"
        "CREATE TABLE shop.stock (sku String, qty Int32) ENGINE = ReplacingMergeTree ORDER BY sku;\n"
        "INSERT INTO shop.stock VALUES ('a', 1);\n"
        "\n"
        "\n"
        "\n")


def test_dbmate_down_section_first_then_up() -> None:
    text = "-- migrate:down\nDROP TABLE shop.tags;\n-- MIGRATE:UP\nCREATE TABLE shop.tags (t String) ENGINE = Memory;"
    assert up_part(text, "dbmate") == "\n\n\nCREATE TABLE shop.tags (t String) ENGINE = Memory;"


def test_a_dbmate_file_without_its_up_marker_says_which_file_and_what_to_do() -> None:
    with pytest.raises(SourceError) as info:
        up_part("CREATE TABLE shop.tags (t String) ENGINE = Memory;\n", "dbmate", "db/20240106_tags.sql")
    assert str(info.value) == ("db/20240106_tags.sql: a dbmate migration without a `-- migrate:up` line; add it "
                               "above the up part or set format = \"plain\" for this path")


# --- which tool a file was written for ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [("000001_users.UP.SQL", "CREATE TABLE u (id UInt64) ENGINE = Memory;", "golang-migrate"),
     ("000001_users.down.sql", "DROP TABLE u;", "plain"),
     ("00004_idx.sql", "    -- +goose Up\nALTER TABLE u ADD INDEX i id TYPE minmax;", "goose"),
     ("20240107_x.sql", "CREATE TABLE t (c String DEFAULT '-- migrate:up') ENGINE = Memory;", "plain"),
     ("20240107_y.up.sql", "-- migrate:up\nSELECT 1;", "dbmate"),  # the markers win over the name
     ("1.23.0/0.sql", "CREATE TABLE t (id UInt64) ENGINE = Memory;", "plain")],
    ids=["golang-migrate-any-case", "a-down-file", "goose-indented", "marker-in-a-string", "markers-win",
         "versioned-directory"],
)
def test_detect_format(name: str, text: str, fmt: str) -> None:
    assert detect_format(name, text) == fmt


@pytest.mark.parametrize(("name", "down"), [("000001_users.down.sql", True), ("1_a.DOWN.SQL", True),
                                            ("000001_users.up.sql", False), ("down.sql", False),
                                            ("1_a.down.sql.bak", False), ("1_slowdown.sql", False)])
def test_is_down_file(name: str, down: bool) -> None:
    assert is_down_file(name) is down


# --- version order -----------------------------------------------------------------------------------------

def test_the_key_of_a_versioned_path() -> None:
    assert natural_key("1.23.0/0_Init.sql") == ((0, 1), (2, ""), (0, 23), (2, ""), (0, 0), (1, "/"), (0, 0),
                                                (1, "_init.sql"))


@pytest.mark.parametrize(
    ("names", "ordered"),
    [(["000010_tags.up.sql", "000002_stock.up.sql", "000001_users.up.sql"],
      ["000001_users.up.sql", "000002_stock.up.sql", "000010_tags.up.sql"]),
     (["20240110080000_tags.sql", "20231231235959_users.sql", "20240105093000_stock.sql"],
      ["20231231235959_users.sql", "20240105093000_stock.sql", "20240110080000_tags.sql"]),
     (["V2__tags.sql", "V1.1__stock.sql", "V1__users.sql", "V1.10__price.sql", "V1.9__sku.sql"],
      ["V1__users.sql", "V1.1__stock.sql", "V1.9__sku.sql", "V1.10__price.sql", "V2__tags.sql"]),
     (["seed.sql", "2_stock.sql", "1_users.sql"], ["1_users.sql", "2_stock.sql", "seed.sql"]),
     (["1.4.0/Orders.sql", "1.4.0/_shared.sql", "1.4.0/accounts.sql", "1.10.0/0.sql", "1.4.0/0.sql"],
      ["1.4.0/0.sql", "1.4.0/_shared.sql", "1.4.0/accounts.sql", "1.4.0/Orders.sql", "1.10.0/0.sql"])],
    ids=["golang-migrate-padded", "dbmate-timestamps", "flyway-versions", "numbers-before-names",
         "versioned-directories-case-blind"],
)
def test_version_order(names: list[str], ordered: list[str]) -> None:
    assert sorted(names, key=natural_key) == ordered


# --- steps of a path ---------------------------------------------------------------------------------------

def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


MIGRATE = {
    "db/migrations/000001_users.up.sql": "CREATE TABLE shop.users (id UInt64) ENGINE = MergeTree ORDER BY id;\n",
    "db/migrations/000001_users.down.sql": "DROP TABLE shop.users;\n",
    "db/migrations/000002_stock.up.sql": "CREATE TABLE shop.stock (sku String) ENGINE = MergeTree ORDER BY sku;\n",
    "db/migrations/000002_stock.down.sql": "DROP TABLE shop.stock;\n",
    "db/migrations/000010_tags.up.sql": "CREATE TABLE shop.tags (t String) ENGINE = Memory;\n",
    "db/migrations/README.md": "golang-migrate files\n",
    "db/seed.sql": "INSERT INTO shop.users VALUES (1);\n",
    "1.10.0/0.sql": "SELECT 1;\n", "1.4.0/1.sql": "SELECT 1;\n", "1.4.0/0.sql": "SELECT 1;\n",
    "1.4.0/extra/0.sql": "SELECT 1;\n",
}


def test_a_directory_is_its_up_files_in_version_order_with_tool_and_full_path(tmp_path: Path) -> None:
    root = _tree(tmp_path, MIGRATE)
    steps = expand_steps(root, ["db/migrations"], "golang-migrate", "cfg")
    top = root.resolve()
    assert steps == (
        StepFile("db/migrations/000001_users.up.sql", top / "db/migrations/000001_users.up.sql", "golang-migrate"),
        StepFile("db/migrations/000002_stock.up.sql", top / "db/migrations/000002_stock.up.sql", "golang-migrate"),
        StepFile("db/migrations/000010_tags.up.sql", top / "db/migrations/000010_tags.up.sql", "golang-migrate"),
    )


def test_versioned_directories_in_version_order_subdirectories_included(tmp_path: Path) -> None:
    root = _tree(tmp_path, MIGRATE)
    got = [s.path for s in expand_steps(root, ["1.4.0", "1.10.0/"], "plain", "cfg")]
    assert got == ["1.4.0/0.sql", "1.4.0/1.sql", "1.4.0/extra/0.sql", "1.10.0/0.sql"]


@pytest.mark.parametrize(
    ("entry", "paths"),
    [("**/0.sql", ["1.4.0/0.sql", "1.4.0/extra/0.sql", "1.10.0/0.sql"]),
     ("*.*.0/?.sql", ["1.4.0/0.sql", "1.4.0/1.sql", "1.10.0/0.sql"]),
     ("db/**/*.sql", ["db/migrations/000001_users.up.sql", "db/migrations/000002_stock.up.sql",
                      "db/migrations/000010_tags.up.sql", "db/seed.sql"]),
     ("db/migrations/00000[12]_*", ["db/migrations/000001_users.up.sql", "db/migrations/000002_stock.up.sql"])],
    ids=["double-star-any-depth", "question-mark", "double-star-zero-depth", "brackets"],
)
def test_globs(tmp_path: Path, entry: str, paths: list[str]) -> None:
    root = _tree(tmp_path, MIGRATE)
    assert [s.path for s in expand_steps(root, [entry], "auto", "cfg")] == paths


def test_a_root_whose_own_path_has_brackets_still_globs(tmp_path: Path) -> None:
    """The root is no pattern: `proj[1]/db/*.sql` once matched nothing (a bug, fixed)."""
    root = _tree(tmp_path / "proj[1]", MIGRATE)
    assert [s.path for s in expand_steps(root, ["db/migrations/*.up.sql"], "auto", "cfg")] == [
        "db/migrations/000001_users.up.sql", "db/migrations/000002_stock.up.sql", "db/migrations/000010_tags.up.sql"]


def test_entries_in_the_order_written_and_a_file_applied_once_where_first_named(tmp_path: Path) -> None:
    root = _tree(tmp_path, MIGRATE)
    got = [s.path for s in expand_steps(root, ["db/migrations/000010_tags.up.sql", "db/seed.sql", "db/migrations",
                                               "db/seed.sql"], "auto", "cfg")]
    assert got == ["db/migrations/000010_tags.up.sql", "db/seed.sql", "db/migrations/000001_users.up.sql",
                   "db/migrations/000002_stock.up.sql"]


def test_mistakes_in_steps_are_one_line_naming_the_entry_and_what_to_do(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo", MIGRATE)
    top = root.resolve()
    where = "chconform.toml: path 'upgrade'"
    expected = {
        "db/migrations/*.down.sql": f"{where}: step 'db/migrations/*.down.sql' matches no .sql file under {top} "
                                    "(a file, a directory or a glob; .down.sql files are never steps)",
        "db/migrations/000003_missing.up.sql": f"{where}: step 'db/migrations/000003_missing.up.sql' matches no "
                                               f".sql file under {top} (a file, a directory or a glob; .down.sql "
                                               "files are never steps)",
        "docs": f"{where}: step 'docs' matches no .sql file under {top} (a file, a directory or a glob; "
                ".down.sql files are never steps)",
    }
    (root / "docs").mkdir()
    for entry, message in expected.items():
        with pytest.raises(ConfigError) as info:
            expand_steps(root, [entry], "auto", where)
        assert str(info.value) == message
    with pytest.raises(ConfigError) as info:
        expand_steps(root, ["db"], "flyway", where)
    assert str(info.value) == f"{where}: format 'flyway' is not one of auto, plain, golang-migrate, goose, dbmate"


def test_a_step_outside_the_root_is_refused_by_name(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo", MIGRATE)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "000005_common.up.sql").write_text("SELECT 1;\n", encoding="utf-8")
    (root / "db" / "migrations" / "000005_common.up.sql").symlink_to(tmp_path / "shared" / "000005_common.up.sql")
    top = root.resolve()
    with pytest.raises(ConfigError) as info:
        expand_steps(root, ["../shared/*.sql"], "auto", "cfg")
    assert str(info.value) == (f"cfg: step '../shared/*.sql' names {root / '../shared/000005_common.up.sql'}, "
                               f"outside the root {top}")
    with pytest.raises(ConfigError) as info:
        expand_steps(root, ["db/migrations"], "auto", "cfg")
    assert str(info.value) == (f"cfg: step 'db/migrations' names {root / 'db/migrations/000005_common.up.sql'}, "
                               f"outside the root {top}")


def test_a_file_without_a_name_is_shown_as_source() -> None:
    with pytest.raises(SourceError) as info:
        up_part("SELECT 1;\n", "dbmate")
    assert str(info.value).startswith("<source>: a dbmate migration without a `-- migrate:up` line; ")
