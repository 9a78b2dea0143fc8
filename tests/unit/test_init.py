"""`chconform init`: the guesses on repositories laid out as each migration tool lays them out (SQL written here),
the reasons printed, a configuration that loads and validates, and never an overwrite."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest

from chconform.cli import run
from chconform.commands.init import guess, survey

USERS = """CREATE TABLE IF NOT EXISTS shop.users
(
    id UInt64,
    email String,
    created_at DateTime DEFAULT now()
)
ENGINE = MergeTree
ORDER BY id;
"""
ORDERS = """CREATE TABLE IF NOT EXISTS shop.orders
(
    order_id UInt64,
    user_id UInt64,
    total Decimal(12, 2)
)
ENGINE = ReplacingMergeTree
ORDER BY order_id;
"""
VIEW = "CREATE VIEW IF NOT EXISTS shop.v_totals AS SELECT user_id, sum(total) AS spent FROM shop.orders GROUP BY user_id;\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def init(folder: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["init", str(folder)], out, err)
    return code, out.getvalue(), err.getvalue()


def written(folder: Path) -> dict[str, object]:
    return tomllib.loads((folder / "chconform.toml").read_text(encoding="utf-8"))


def validates(folder: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run(["validate", "--config", str(folder / "chconform.toml")], out, err)
    assert code == 0, out.getvalue() + err.getvalue()


def test_golang_migrate_folder_beside_a_schema_dump(tmp_path: Path) -> None:
    write(tmp_path, {
        "db/schema.sql": "CREATE DATABASE IF NOT EXISTS shop;\n" + USERS + ORDERS + VIEW,
        "db/migrations/001_users.up.sql": "CREATE DATABASE IF NOT EXISTS shop;\n" + USERS,
        "db/migrations/001_users.down.sql": "DROP TABLE IF EXISTS shop.users;\n",
        "db/migrations/002_orders.up.sql": ORDERS,
        "db/migrations/002_orders.down.sql": "DROP TABLE IF EXISTS shop.orders;\n",
        "README.md": "not SQL\n",
    })
    code, out, err = init(tmp_path)
    assert code == 0, err
    conf = written(tmp_path)
    assert conf["root"] == "db" and conf["canonical"] == "schema.sql"
    assert conf["source"] == [{"path": "schema.sql", "role": "dump", "must_define": "all"}]
    assert conf["path"] == [{"name": "migrations", "steps": ["migrations"], "format": "golang-migrate"}]
    assert conf["key_tables"] == ["shop.orders", "shop.users"]  # tables in 2 files; the view is no key table
    assert "golang-migrate, 2 files: 2 files named NNN_name.up.sql (2 .down.sql twins, never applied)" in out
    assert "canonical: schema.sql (defines 3 objects, drops nothing" in out and "'schema'" in out
    validates(tmp_path)


def test_goose_sections_and_a_prelude_for_a_database_nobody_creates(tmp_path: Path) -> None:
    write(tmp_path, {
        "sql/structure.sql": USERS + ORDERS,
        "sql/goose/20240101120000_users.sql": "-- +goose Up\n" + USERS + "-- +goose Down\nDROP TABLE shop.users;\n",
        "sql/goose/20240102120000_orders.sql": "-- +goose Up\n-- +goose StatementBegin\n" + ORDERS
                                               + "-- +goose StatementEnd\n-- +goose Down\nDROP TABLE shop.orders;\n",
    })
    code, out, _ = init(tmp_path)
    assert code == 0
    conf = written(tmp_path)
    assert conf["canonical"] == "structure.sql"
    assert conf["path"] == [{"name": "goose", "steps": ["goose"], "format": "goose"}]
    assert conf["prelude"] == ["CREATE DATABASE IF NOT EXISTS shop"]
    assert "2 of 2 files mark their up part with `-- +goose Up`" in out and "prelude: CREATE DATABASE" in out
    validates(tmp_path)


def test_dbmate_sections(tmp_path: Path) -> None:
    write(tmp_path, {
        "db/schema.sql": "CREATE DATABASE IF NOT EXISTS shop;\n" + USERS + ORDERS,
        "db/migrations/20240101_users.sql": "-- migrate:up\n" + USERS + "\n-- migrate:down\nDROP TABLE shop.users;\n",
        "db/migrations/20240102_orders.sql": "-- migrate:up\n" + ORDERS + "\n-- migrate:down\nDROP TABLE shop.orders;\n",
    })
    code, out, _ = init(tmp_path)
    assert code == 0
    assert written(tmp_path)["path"] == [{"name": "migrations", "steps": ["migrations"], "format": "dbmate"}]
    assert "mark their up part with `-- migrate:up`" in out


def test_versioned_directories_next_to_the_dump(tmp_path: Path) -> None:
    write(tmp_path, {
        "schema/full_schema.sql": "CREATE DATABASE IF NOT EXISTS shop;\n" + USERS + ORDERS,
        "schema/versions/1.4.0/0.sql": "CREATE DATABASE IF NOT EXISTS shop;\n" + USERS,
        "schema/versions/1.23.0/0.sql": ORDERS,
    })
    code, out, _ = init(tmp_path)
    assert code == 0
    conf = written(tmp_path)
    assert conf["canonical"] == "full_schema.sql"
    assert conf["path"] == [{"name": "versions", "steps": ["versions/*/*.sql"], "format": "plain"}]
    assert "versioned directories" in out
    validates(tmp_path)


def test_roles_from_what_each_file_does_and_the_reasons_are_printed(tmp_path: Path) -> None:
    write(tmp_path, {
        "ch/bootstrap_schema.sql": "CREATE DATABASE IF NOT EXISTS shop;\n" + USERS + ORDERS + VIEW,
        "ch/init.sql": "CREATE DATABASE IF NOT EXISTS shop;\nDROP TABLE IF EXISTS shop.users;\n"
                       + USERS.replace("IF NOT EXISTS ", ""),
        "ch/reporting.sql": "CREATE DATABASE IF NOT EXISTS shop;\n" + ORDERS + VIEW,
        "ch/add_email.sql": "CREATE DATABASE IF NOT EXISTS shop;\n" + USERS
                            + "ALTER TABLE shop.users ADD COLUMN IF NOT EXISTS phone String;\n",
    })
    code, out, _ = init(tmp_path)
    assert code == 0
    roles = {s["path"]: s["role"] for s in written(tmp_path)["source"]}  # type: ignore[attr-defined]
    assert roles == {"bootstrap_schema.sql": "dump", "init.sql": "init", "reporting.sql": "dump",
                     "add_email.sql": "migration"}
    assert "alters tables (1 ALTER/RENAME): a migration" in out
    assert [s["path"] for s in written(tmp_path)["source"]][0] == "bootstrap_schema.sql"  # type: ignore[attr-defined]
    assert "init.sql" in out and "drops 1 table(s) it re-creates" in out
    assert "next: reporting.sql" in out  # the runner-up is named, so a wrong guess is easy to fix
    validates(tmp_path)


def test_a_guess_reads_no_runtime_or_vcs_folder(tmp_path: Path) -> None:
    write(tmp_path, {
        "db/schema.sql": USERS,
        "db/data/store/leftover.sql": ORDERS,
        ".venv/lib/site.sql": ORDERS,
        ".git/x.sql": ORDERS,
    })
    found = survey(tmp_path)
    assert [f.path for f in found.files] == ["db/schema.sql"]
    assert guess(found).canonical == "schema.sql"


def test_never_overwrites_a_configuration(tmp_path: Path) -> None:
    write(tmp_path, {"db/schema.sql": USERS, "chconform.toml": "# mine\n"})
    code, out, err = init(tmp_path)
    assert code == 2 and out == "" and err.count("\n") == 1 and "never overwrites" in err
    assert (tmp_path / "chconform.toml").read_text() == "# mine\n"
    other = tmp_path / "other"
    write(other, {"db/schema.sql": USERS, "pyproject.toml": '[project]\nname = "x"\n\n[tool.chconform]\nroot = "db"\n'})
    code, _, err = init(other)
    assert code == 2 and "pyproject.toml already configures chconform" in err
    assert not (other / "chconform.toml").exists()


def test_a_folder_without_tables_is_one_line(tmp_path: Path) -> None:
    write(tmp_path, {"q.sql": "SELECT 1;\n"})
    code, out, err = init(tmp_path)
    assert code == 2 and err.count("\n") == 1 and "no .sql file here creates a table" in err
    assert not (tmp_path / "chconform.toml").exists()
    code, _, err = init(tmp_path / "missing")
    assert code == 2 and "not a folder" in err


def test_this_repositorys_sources_get_this_repositorys_canon(tmp_path: Path) -> None:
    import shutil

    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "infra" / "clickhouse", tmp_path / "ch", ignore=shutil.ignore_patterns("data", "logs"))
    code, out, _ = init(tmp_path / "ch")
    assert code == 0
    conf = written(tmp_path / "ch")
    assert conf["canonical"] == "bootstrap_schema.sql"
    assert set(conf["key_tables"]) >= {  # type: ignore[arg-type]
        "zakaz.dim_events", "zakaz.fact_qtickets_inventory", "zakaz.fact_qtickets_inventory_latest",
        "zakaz.stg_vk_ads_daily", "zakaz.stg_qtickets_api_orders_raw", "zakaz.stg_qtickets_api_inventory_raw",
        "zakaz.fact_qtickets_sales_daily"}
    validates(tmp_path / "ch")


def test_help_names_init(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init", "--help"], io.StringIO(), io.StringIO()) == 0
    assert "chconform.toml" in capsys.readouterr().out
