"""`chconform path` on a real engine: an upgraded database must reach the canon, and lost rows are named.

The repository in each test is a temporary git repository, so `--from-rev`
reads a real older revision with `git show`.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from chconform.cli import run

from .docker_engine import skip_only_without_docker

pytestmark = pytest.mark.engine

OLD_CANON = """CREATE DATABASE IF NOT EXISTS app;
CREATE TABLE IF NOT EXISTS app.events
(
    event_id String,
    event_date Date
)
ENGINE = ReplacingMergeTree
ORDER BY event_id;
CREATE TABLE IF NOT EXISTS app.keep (k String) ENGINE = MergeTree ORDER BY k;
"""

EVENTS = """CREATE TABLE IF NOT EXISTS app.events
(
    event_id String,
    start_date Nullable(Date),
    end_date Nullable(Date)
)
ENGINE = ReplacingMergeTree
ORDER BY event_id;
"""

NEW_CANON = "CREATE DATABASE IF NOT EXISTS app;\n" + EVENTS + \
    "CREATE TABLE IF NOT EXISTS app.keep (k String) ENGINE = MergeTree ORDER BY k;\n"

CONFIG = """root = "sql"
canonical = "canonical.sql"
key_tables = ["app.events", "app.keep"]
timeout_s = 60

[[source]]
path = "canonical.sql"

[[source]]
path = "migration_if_not_exists.sql"
role = "migration"

[[source]]
path = "migration_drop.sql"
role = "migration"

[[path]]
name = "if-not-exists"
steps = ["migration_if_not_exists.sql"]

[[path]]
name = "drop-and-create"
steps = ["migration_drop.sql"]
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo,
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Revision 1: the old canon (event_date). Revision 2: the new canon and two candidate migrations."""
    root = tmp_path_factory.mktemp("upgrade_repo")
    (root / "sql").mkdir()
    _git(root, "init", "-q")
    (root / "sql" / "canonical.sql").write_text(OLD_CANON, encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "old canon")
    (root / "sql" / "canonical.sql").write_text(NEW_CANON, encoding="utf-8")
    (root / "sql" / "migration_if_not_exists.sql").write_text(EVENTS, encoding="utf-8")
    (root / "sql" / "migration_drop.sql").write_text("DROP TABLE IF EXISTS app.events;\n" + EVENTS, encoding="utf-8")
    (root / "chconform.toml").write_text(CONFIG, encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "new canon and migrations")
    return root


def _skip_if_unusable(code: int, err: str) -> None:
    """The configured backend (CHCONFORM_BACKEND) may be docker on a machine without Docker: skip only when the
    probe confirms no engine answers; any other engine trouble fails the test."""
    if code == 2 and "no Docker engine reachable" in err:
        skip_only_without_docker(err.strip())


def _local(path: str | None, prefix: str) -> str | None:
    """A path as the case names it, whether reports name files from the configured root or the repository's."""
    return path[len(prefix):] if path and path.startswith(prefix) else path


def _path(repo: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["path", "--config", str(repo / "chconform.toml"), *args], out, err)
    _skip_if_unusable(code, err.getvalue())
    return code, out.getvalue(), err.getvalue()


def test_if_not_exists_leaves_the_old_table_and_is_reported(repo: Path) -> None:
    code, out, err = _path(repo, "--name", "if-not-exists", "--from-rev", "HEAD~1", "--format", "json")
    assert code == 1, err
    (result,) = json.loads(out)["paths"]
    assert result["from_rev"] == "HEAD~1"
    assert result["reaches_canon"] is False
    found = {(d["object"], d["aspect"], d["column"]) for d in result["differences"]}
    assert found == {
        ("app.events", "column_missing", "start_date"),
        ("app.events", "column_missing", "end_date"),
        ("app.events", "column_extra", "event_date"),
    }
    assert result["data_loss"] == []  # nothing was dropped: the old rows and the old shape both survive
    assert set(result["seeded"]) == {"app.events", "app.keep"}
    # The CREATE … IF NOT EXISTS of the migration found the table and changed nothing: the shape is the old canon's.
    assert {(_local(d["source"], "sql/"), d["line"]) for d in result["differences"]} == {("canonical.sql@HEAD~1", 2)}


def test_if_not_exists_text_names_the_table(repo: Path) -> None:
    code, out, _ = _path(repo, "--name", "if-not-exists", "--from-rev", "HEAD~1")
    assert code == 1
    assert "DIFFERS  1 tables do not reach the canon: app.events" in out
    assert "app.events.start_date  column_missing" in out


def test_drop_and_create_reaches_the_canon_and_reports_the_rows_lost(repo: Path) -> None:
    code, out, err = _path(repo, "--name", "drop-and-create", "--from-rev", "HEAD~1", "--format", "json")
    assert code == 1, err  # lost rows are a finding unless accepted
    (result,) = json.loads(out)["paths"]
    assert result["reaches_canon"] is True
    assert result["differences"] == [] and result["errors"] == []
    # files as the repository names them (the fixture is a git checkout whose root is sql/)
    assert result["data_loss"] == [{
        "table": "app.events", "before": 1, "after": 0, "lost": 1, "step": "sql/migration_drop.sql", "line": 1,
        "statement": "DROP TABLE IF EXISTS app.events",
    }]


def test_accepted_data_loss_exits_zero_and_still_says_so(repo: Path) -> None:
    code, out, err = _path(repo, "--name", "drop-and-create", "--from-rev", "HEAD~1", "--accept-data-loss")
    assert code == 0, err
    assert "reaches the canon: 2 key tables identical" in out
    assert "data loss (accepted)  app.events: 1 → 0 rows (1 lost)  sql/migration_drop.sql:1" in out


def test_without_a_start_revision_the_path_starts_on_an_empty_server(repo: Path) -> None:
    code, out, err = _path(repo, "--name", "drop-and-create", "--format", "json")
    assert code == 1, err
    (result,) = json.loads(out)["paths"]
    assert result["from_rev"] is None and result["data_loss"] == []
    assert [(e["source"], e["line"], e["name"]) for e in result["errors"]] == [
        ("sql/migration_drop.sql", 2, "UNKNOWN_DATABASE")]  # the migration never creates its database
    assert {(d["object"], d["aspect"]) for d in result["differences"]} == {
        ("app.events", "missing_table"), ("app.keep", "missing_table")}


def test_unknown_revision_is_one_line(repo: Path) -> None:
    code, out, err = _path(repo, "--name", "drop-and-create", "--from-rev", "no-such-rev")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("chconform: git show no-such-rev:sql/canonical.sql: ")


def test_unknown_path_name_is_one_line(repo: Path) -> None:
    code, _, err = _path(repo, "--name", "nope")
    assert code == 2
    assert "no upgrade path nope configured (configured: if-not-exists, drop-and-create)" in err


def test_the_repository_path_reaches_the_canon() -> None:
    """The real init → migrations path of this repository, as configured in pyproject.toml."""
    out, err = io.StringIO(), io.StringIO()
    code = run(["path", "--config", str(Path(__file__).resolve().parents[2] / "pyproject.toml"),
                "--name", "init-to-migrations", "--format", "json", "--accept-data-loss"], out, err)
    _skip_if_unusable(code, err.getvalue())
    report = json.loads(out.getvalue())
    (result,) = report["paths"]
    assert result["errors"] == [] and result["differences"] == [], result
    assert code == 0, err.getvalue()
    for loss in result["data_loss"]:  # every lost row is pinned on the DROP that lost it
        assert loss["statement"].startswith(f"DROP TABLE IF EXISTS {loss['table']}"), loss
    assert "zakaz.meta_job_runs" in result["seeded"]
    assert "zakaz.meta_job_runs" not in {loss["table"] for loss in result["data_loss"]}


# ---- golden upgrade paths: tests/data/paths/<case>/{chconform.toml, SQL, expected.json} ----------------------------

PATHS_DIR = Path(__file__).resolve().parents[1] / "data" / "paths"
PATH_CASES = sorted(p.name for p in PATHS_DIR.iterdir() if (p / "expected.json").is_file())


@pytest.mark.parametrize("case", PATH_CASES)
def test_golden_path(case: str) -> None:
    """Exact verdicts: errors, differences with the line blamed, rows lost with the statement that lost them."""
    folder = PATHS_DIR / case
    want = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    code, out, err = _path(folder, "--format", "json")
    (got,) = json.loads(out)["paths"]
    prefix = f"tests/data/paths/{case}/"
    assert [[_local(e["source"], prefix), e["line"], e["name"]] for e in got["errors"]] == want["errors"], got["errors"]
    assert sorted([d["object"], d["aspect"], d["column"], _local(d["source"], prefix), d["line"]]
                  for d in got["differences"]) == sorted(want["differences"], key=str), got["differences"]
    assert [[x["table"], x["before"], x["after"], _local(x["step"], prefix), x["line"], x["statement"]]
            for x in got["data_loss"]] == want["data_loss"]
    if "seeded" in want:
        assert sorted(got["seeded"]) == sorted(want["seeded"])
    if "not_seeded" in want:
        assert got["not_seeded"] == want["not_seeded"]
    if "steps" in want:
        assert [_local(p, prefix) for p in got["steps"]] == want["steps"]
    assert code == want["exit"], err
    assert got["reaches_canon"] is (not want["errors"] and not want["differences"])


def test_step_sources_are_configured_but_never_applied_alone(tmp_path: Path) -> None:
    """A lone `ALTER` step on an empty server only makes noise: `check` leaves role "step" to the paths."""
    root = PATHS_DIR / "golang_migrate"
    steps = sorted(p.relative_to(root).as_posix() for p in (root / "migrations").glob("*.up.sql"))
    config = tmp_path / "chconform.toml"
    config.write_text(f'root = {json.dumps(str(root))}\ncanonical = "canonical.sql"\nkey_tables = ["blog.posts"]\n'
                      '[[source]]\npath = "canonical.sql"\n'
                      + "".join(f'[[source]]\npath = "{s}"\nrole = "step"\n' for s in steps)
                      + '[[path]]\nname = "up"\nsteps = ["migrations"]\n', encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--config", str(config), "--format", "json"], out, err)
    _skip_if_unusable(code, err.getvalue())
    assert code == 0, out.getvalue() + err.getvalue()
    prefix = "tests/data/paths/golang_migrate/"
    assert [_local(s["path"], prefix) for s in json.loads(out.getvalue())["sources"]] == ["canonical.sql"]
    code, out_text, err_text = _path(tmp_path, "--format", "json")
    assert code == 0, out_text + err_text
    assert [_local(p, prefix) for p in json.loads(out_text)["paths"][0]["steps"]] == [
        "migrations/1_init.up.sql", "migrations/2_author.up.sql", "migrations/10_tags.up.sql"]
