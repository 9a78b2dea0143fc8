"""`chconform evidence` on copies of the repository: a clean copy passes what it runs, and breaking any one thing
makes the matching row FAIL and the command exit 1. The nested `pytest -n auto` step is skipped (`--skip pytest`)
except in one test that runs it on a single small test file."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from chconform.cli import run
from chconform.config import load_config
from chconform.evidence.pipeline import (
    BEGIN_MARK,
    END_MARK,
    FAIL,
    ITEMS,
    OK,
    SKIP,
    EvidenceOptions,
    docker_reachable,
    run_evidence,
)

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("evidence")]

REPO = Path(__file__).resolve().parents[2]
DIM_EVENTS = "CREATE TABLE IF NOT EXISTS zakaz.dim_events\n"
VIEW_COLUMN = "    tickets_left,\n    tickets_total - tickets_left AS tickets_sold"
INIT_CITY = "    event_name String,\n    city LowCardinality(String),\n    start_date Nullable(Date),"
NAMED_LOGS = ("bootstrap_first.log", "bootstrap_second.log", "smoke_qtickets.log", "schema_validation.log",
              "compileall.log", "pytest.log", "docker_build.log", "describe_dim_events.tsv", "describe_fact_inv.tsv",
              "describe_fact_inv_latest.tsv", "evidence.md")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the working tree's files (tracked and untracked, not ignored) without .git, logs or data."""
    for key in [k for k in os.environ if k.startswith("CHCONFORM_")]:
        monkeypatch.delenv(key)
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            capture_output=True, text=True, check=True).stdout.split("\0")
    dest = tmp_path / "repo"
    for name in filter(None, listed):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / "logs").mkdir(exist_ok=True)
    return dest


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {file} exactly once"
    file.write_text(text.replace(old, new), encoding="utf-8")


def evidence(repo: Path, *skip: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Exit code, {row key: (status, reason)} read back from logs/evidence.md, and the CLI output."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["evidence", "--config", str(repo / "pyproject.toml")]
    for name in ("pytest", *skip):
        argv += ["--skip", name]
    code = run(argv, out, err)
    assert err.getvalue() == ""
    by_item = {text: key for key, text in ITEMS.items()}
    rows = {}
    for line in (repo / "logs" / "evidence.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 5 and cells[2].startswith("**"):
            rows[by_item[cells[1]]] = (cells[2].strip("*"), cells[3])
    assert list(rows) == list(ITEMS)  # one row per item, in order
    return code, rows, out.getvalue()


def exit_matches(code: int, rows: dict[str, tuple[str, str]]) -> bool:
    return code == (1 if any(status == FAIL for status, _ in rows.values()) else 0)


def test_a_clean_copy_passes_every_step_it_runs_and_skips_honestly(repo: Path) -> None:
    report = repo / "ZAKAZ_DASHBOARD_AUDIT_REPORT.md"
    before = report.read_text(encoding="utf-8")
    code, rows, _ = evidence(repo)
    assert exit_matches(code, rows)
    for key in ("clean", "env", "bootstrap_first", "bootstrap_second", "idempotent", "describe", "smoke", "compileall",
                "check"):
        assert rows[key][0] == OK, (key, rows[key])
    assert rows["access"] == (SKIP, rows["access"][1]) and "7 role/grant statements skipped" in rows["access"][1]
    assert rows["pytest"] == (SKIP, "skipped by --skip pytest")
    assert rows["git"] == (SKIP, "not a git work tree")
    if not docker_reachable()[0]:
        assert rows["docker"][0] == SKIP and rows["docker"][1].startswith("no Docker engine reachable")
    if (repo / "scripts" / "validate_clickhouse_schema.py").is_file():
        assert rows["validate"] == (OK, "Schema validation passed.")
    else:
        assert rows["validate"][0] == FAIL and "not delivered" in rows["validate"][1]
    for name in NAMED_LOGS:
        assert (repo / "logs" / name).is_file(), name
    env = repo / "infra" / "clickhouse" / ".env"
    assert env.read_text() == (repo / "infra" / "clickhouse" / ".env.example").read_text()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    after = report.read_text(encoding="utf-8")
    assert after[: after.index(BEGIN_MARK)] == before[: before.index(BEGIN_MARK)]
    assert after[after.index(END_MARK):] == before[before.index(END_MARK):]
    assert "| Smoke dry run: exit 0 and zakaz.meta_job_runs count unchanged | **OK** |" in after
    describe = (repo / "logs" / "describe_dim_events.tsv").read_text(encoding="utf-8").splitlines()
    assert describe[0].split("\t")[:3] == ["name", "type", "default_type"] and describe[3].startswith("city\tLowCardinality(String)")


def test_a_view_reading_a_missing_column_fails_the_smoke_row(repo: Path) -> None:
    edit(repo / "infra/clickhouse/bootstrap_schema.sql", VIEW_COLUMN, VIEW_COLUMN.replace("    tickets_left,", "    tickets_reserved,"))
    code, rows, _ = evidence(repo, "validate", "compileall", "check", "docker")
    assert code == 1
    assert rows["smoke"][0] == FAIL and "zakaz.v_qtickets_inventory" in rows["smoke"][1]
    assert rows["bootstrap_first"][0] == FAIL
    assert "UNKNOWN_IDENTIFIER" in (repo / "logs" / "bootstrap_first.log").read_text(encoding="utf-8")


def test_a_drifted_type_in_one_source_fails_the_check_row(repo: Path) -> None:
    edit(repo / "infra/clickhouse/init.sql", INIT_CITY, INIT_CITY.replace("city LowCardinality(String)", "city String"))
    code, rows, _ = evidence(repo, "bootstrap", "smoke", "compileall", "docker")
    assert code == 1
    assert rows["check"][0] == FAIL
    log = (repo / "logs" / "check.log").read_text(encoding="utf-8")
    assert re.search(r"init\.sql:\d+\s+zakaz\.dim_events\.city\s+column_type: LowCardinality\(String\) → String", log)
    assert rows["validate"][0] == FAIL
    if (repo / "scripts" / "validate_clickhouse_schema.py").is_file():
        assert "init.sql" in (repo / "logs" / "schema_validation.log").read_text(encoding="utf-8")


def test_a_non_idempotent_statement_fails_the_second_bootstrap_row(repo: Path) -> None:
    canon = repo / "infra/clickhouse/bootstrap_schema.sql"
    canon.write_text(canon.read_text(encoding="utf-8") + "\nCREATE TABLE zakaz.probe (a String) ENGINE = MergeTree ORDER BY a;\n",
                     encoding="utf-8")
    code, rows, _ = evidence(repo, "validate", "compileall", "check", "docker")
    assert code == 1
    assert rows["bootstrap_first"][0] == OK
    assert rows["bootstrap_second"][0] == FAIL and "1 failed" in rows["bootstrap_second"][1]
    log = (repo / "logs" / "bootstrap_second.log").read_text(encoding="utf-8")
    assert re.search(r"^bootstrap_schema\.sql:\d+\s+FAILED .*TABLE_ALREADY_EXISTS", log, re.MULTILINE)


def test_a_drop_added_to_a_dump_is_refused_and_fails_the_rows(repo: Path) -> None:
    edit(repo / "infra/clickhouse/bootstrap_schema.sql", DIM_EVENTS, "DROP TABLE IF EXISTS zakaz.dim_events;\n" + DIM_EVENTS)
    code, rows, _ = evidence(repo, "validate", "compileall", "docker")
    assert code == 1
    assert rows["bootstrap_second"][0] == FAIL and "1 refused" in rows["bootstrap_second"][1]
    log = (repo / "logs" / "bootstrap_second.log").read_text(encoding="utf-8")
    assert re.search(r"REFUSED .*zakaz\.dim_events \(1 row\)", log)
    assert rows["idempotent"][0] == OK  # the refusal kept the sentinel row
    assert rows["check"][0] == FAIL
    assert "drop_in_dump" in (repo / "logs" / "check.log").read_text(encoding="utf-8")


def test_a_data_directory_outside_the_repository_is_not_removed(repo: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.bin").write_text("user data")
    (repo / "infra/clickhouse/.env").write_text(f"CHCONFORM_DATA_DIR={outside}\n", encoding="utf-8")
    monkeypatch.setenv("CHCONFORM_EVIDENCE_SKIP", "pytest")  # as the evidence's own pytest step sets it
    code, rows, _ = evidence(repo, "validate", "compileall", "check", "docker")
    assert code == 1
    assert rows["clean"][0] == FAIL and "not inside the repository" in rows["clean"][1]
    assert (outside / "keep.bin").read_text() == "user data"
    assert rows["bootstrap_first"][0] == SKIP and rows["bootstrap_first"][1].startswith("not run")
    assert "CHCONFORM_EVIDENCE_SKIP=pytest" in rows["pytest"][1]


def test_the_pytest_step_writes_junit_and_fails_on_a_failing_test(repo: Path) -> None:
    config = load_config(repo / "pyproject.toml")
    others = frozenset(ITEMS) - {"pytest"}
    (repo / "tests" / "unit" / "test_evidence_probe.py").write_text("def test_probe() -> None:\n    assert 1 + 1 == 2\n")
    options = EvidenceOptions(skip=others, pytest_args=("tests/unit/test_evidence_probe.py", "-p", "no:cacheprovider"))
    passed = {r.key: r for r in run_evidence(config, options).rows}["pytest"]
    assert passed.status == OK and passed.reason == "1 tests: 0 failures, 0 errors, 0 skipped"
    assert (repo / "logs" / "pytest-junit.xml").is_file()
    (repo / "tests" / "unit" / "test_evidence_probe.py").write_text("def test_probe() -> None:\n    assert 1 + 1 == 3\n")
    failed = {r.key: r for r in run_evidence(config, options).rows}["pytest"]
    assert failed.status == FAIL and failed.reason == "exit 1: 1 tests: 1 failures, 0 errors, 0 skipped"
