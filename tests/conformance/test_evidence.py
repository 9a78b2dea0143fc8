"""`chconform evidence` on copies of the repository: a clean copy passes what it runs, and breaking any one thing
makes the matching row FAIL and the command exit 1; twice in a row in a git clone both pass and leave every
tracked file as it was; a second run at the same time waits or says who holds the data and exits 2. The nested
`pytest -n auto` step is skipped (`--skip pytest`) except in one test that runs it on a single small test file."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
import sys
import time
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
    item_texts,
    run_evidence,
)
from chconform.evidence.runtime import hold, lock_file

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
    by_item = {text: key for key, text in item_texts(load_config(repo / "pyproject.toml")).items()}
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
    if docker_reachable()[0]:  # a real engine builds the real Dockerfile (a fake engine: the docker tests below)
        assert rows["docker"] == (OK, "built chconform:evidence"), rows["docker"]
    else:
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


FAST = ("validate", "compileall", "check", "docker")  # steps these tests do not need (each has its own test above)


def _git_clone_of(repo: Path) -> None:
    """Make the copy a git work tree with everything committed, as a fresh clone is."""
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"],
                   check=True)


def _tracked(repo: Path) -> dict[str, bytes]:
    names = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, text=True,
                           check=True).stdout.split("\0")
    return {n: (repo / n).read_bytes() for n in filter(None, names)}


def test_twice_in_a_row_both_pass_and_the_second_changes_no_tracked_byte(repo: Path) -> None:
    _git_clone_of(repo)
    code, rows, _ = evidence(repo, *FAST)
    assert code == 0 and rows["git"] == (OK, "clean (the commit is in the table above)"), rows["git"]
    after_first = _tracked(repo)
    status_first = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True,
                                  check=True).stdout
    code, rows, _ = evidence(repo, *FAST)
    assert code == 0, rows
    assert rows["git"][0] == OK  # the first run's audit block is its own output, not a dirty tree
    assert rows["env"][0] == OK and "kept" in rows["env"][1]  # the machine differs (.env now exists) ...
    assert _tracked(repo) == after_first  # ... and still no tracked byte changed
    assert subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True,
                          check=True).stdout == status_first
    log = (repo / "logs" / "git_status.log").read_text(encoding="utf-8")
    if status_first:
        assert "a previous run's own output: not counted" in log


def test_a_hand_edit_outside_the_audit_block_still_fails_the_git_row(repo: Path) -> None:
    _git_clone_of(repo)
    report = repo / "ZAKAZ_DASHBOARD_AUDIT_REPORT.md"
    report.write_text(report.read_text(encoding="utf-8") + "\nan uncommitted note\n", encoding="utf-8")
    code, rows, _ = evidence(repo, "bootstrap", "smoke", *FAST)
    assert code == 1 and rows["git"] == (FAIL, "1 changed or untracked paths before the run")


def test_a_run_while_another_holds_the_data_directory_is_one_line_and_exit_2(repo: Path) -> None:
    config = load_config(repo / "pyproject.toml")
    with hold((repo / "infra" / "clickhouse" / "data").resolve(), "chconform evidence"):
        out, err = io.StringIO(), io.StringIO()
        code = run(["evidence", "--config", str(config.config_file), "--skip", "pytest"], out, err)
    assert code == 2 and out.getvalue() == ""
    assert err.getvalue().count("\n") == 1 and "is in use by chconform evidence (pid" in err.getvalue()
    assert not (repo / "logs" / "evidence.md").exists()  # it touched nothing


def _evidence_process(repo: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHCONFORM_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH", "")]))
    argv = [sys.executable, "-m", "chconform", "evidence", "--config", str(repo / "pyproject.toml"), "--skip", "pytest"]
    for name in FAST:
        argv += ["--skip", name]
    return subprocess.Popen([*argv, *extra], cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_concurrent_runs_end_without_a_traceback_one_waits_one_is_told_who_holds(repo: Path) -> None:
    first = _evidence_process(repo)
    lock = lock_file(repo / "logs")
    deadline = time.monotonic() + 300  # a generous bound on start-up, not a timing assertion
    while f"(pid {first.pid}," not in (lock.read_text() if lock.exists() else "") and first.poll() is None:
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.05)
    refused = _evidence_process(repo)
    waiting = _evidence_process(repo, "--wait", "1800")
    results = [(p, *p.communicate(timeout=1800)) for p in (first, refused, waiting)]
    for proc, out, err in results:
        assert "Traceback" not in out + err, out + err
    (_, out1, err1), (_, out2, err2), (_, out3, err3) = results
    if refused.returncode == 2:  # the first run still held the lock when the second started (the usual case)
        assert out2 == "" and err2.count("\n") == 1 and f"in use by chconform evidence (pid {first.pid}," in err2
    else:  # the first had already finished: the second simply ran
        assert refused.returncode == 0, out2 + err2
    assert first.returncode == 0, out1 + err1
    assert waiting.returncode == 0, out3 + err3  # it waited for the lock, then passed


# The docker and validate rows, each alone (every other step skipped). A Docker engine where there is one; where
# there is none, a fake `docker` client first on PATH that answers as an engine would and records what it was
# asked, so the row's verdicts are asserted on every machine, never only where Docker happens to be absent.
FAKE_DOCKER = """#!{python}
import json, sys
args = sys.argv[1:]
with open({log!r}, "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\\n")
if args[:1] == ["info"]:
    if {engine!r} == "down":
        print("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
              file=sys.stderr)
        sys.exit(1)
    print("27.5.1")
    sys.exit(0)
if args[:1] == ["build"]:
    print("#1 [internal] load build definition from Dockerfile")
    if {engine!r} == "build fails":
        print("ERROR: failed to solve: python:3.11-slim: pull access denied, repository does not exist")
        sys.exit(1)
    print("#9 naming to docker.io/library/chconform:evidence done")
    sys.exit(0)
sys.exit(2)
"""


def _fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str) -> Path:
    """A `docker` client first on PATH behaving as `engine` says ("up", "down", "build fails"); returns its log."""
    bin_dir, log = tmp_path / "fake-docker-bin", tmp_path / "fake-docker.log"
    bin_dir.mkdir()
    client = bin_dir / "docker"
    client.write_text(FAKE_DOCKER.format(python=sys.executable, log=str(log), engine=engine), encoding="utf-8")
    client.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def _row(repo: Path, key: str) -> tuple[str, str]:
    config = load_config(repo / "pyproject.toml")
    rows = {r.key: r for r in run_evidence(config, EvidenceOptions(skip=frozenset(ITEMS) - {key})).rows}
    return rows[key].status, rows[key].reason


def _calls(log: Path) -> list[list[str]]:
    import json

    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_the_docker_row_builds_the_dockerfile(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = None if docker_reachable()[0] else _fake_docker(tmp_path, monkeypatch, "up")
    assert _row(repo, "docker") == (OK, "built chconform:evidence")
    if log is not None:  # the fake engine was asked to build this copy's Dockerfile under that tag
        assert _calls(log)[-1] == ["build", "-t", "chconform:evidence", "-f", str(repo / "Dockerfile"), "."]
    assert "chconform:evidence" in (repo / "logs" / "docker_build.log").read_text(encoding="utf-8")


def test_a_failed_docker_build_fails_the_docker_row(repo: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if docker_reachable()[0]:  # a real engine: a Dockerfile whose only step cannot run
        (repo / "Dockerfile").write_text("FROM scratch\nRUN false\n", encoding="utf-8")
        status, reason = _row(repo, "docker")
        assert status == FAIL and reason.startswith("exit 1: "), reason
    else:
        _fake_docker(tmp_path, monkeypatch, "build fails")
        assert _row(repo, "docker") == (FAIL, "exit 1: ERROR: failed to solve: python:3.11-slim: pull access denied, "
                                              "repository does not exist")


def test_the_docker_row_skips_only_when_no_engine_answers(repo: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    log = _fake_docker(tmp_path, monkeypatch, "down")  # a client whose engine does not answer (on every machine)
    assert _row(repo, "docker") == (SKIP, "no Docker engine reachable")
    assert [call[0] for call in _calls(log)] == ["info"]  # nothing was built
    assert "Cannot connect to the Docker daemon" in (repo / "logs" / "docker_build.log").read_text(encoding="utf-8")
    (repo / "Dockerfile").unlink()  # and no Dockerfile either: still a skip, and it says so
    assert _row(repo, "docker") == (SKIP, "no Docker engine reachable; the repository has no Dockerfile either")


def test_an_engine_without_a_dockerfile_fails_the_docker_row(repo: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if not docker_reachable()[0]:
        _fake_docker(tmp_path, monkeypatch, "up")
    (repo / "Dockerfile").unlink()
    assert _row(repo, "docker") == (FAIL, "no Dockerfile at the repository root")


VALIDATORS = {  # (what the configured validator script does, the validate row it must give)
    "exit 0, passed line": ("print('checked 7 files')\nprint('Schema validation passed.')\n",
                            (OK, "Schema validation passed.")),
    "exit 0, no passed line": ("print('checked 7 files')\n",
                               (FAIL, 'exit 0: exit 0 but no "Schema validation passed." line')),
    "exit 0, nothing printed": ("", (FAIL, 'exit 0: exit 0 but no "Schema validation passed." line')),
    "exit 1, passed line": ("print('Schema validation passed.')\nprint('but: zakaz.t differs')\nraise SystemExit(1)\n",
                            (FAIL, "exit 1: but: zakaz.t differs")),
}


@pytest.mark.parametrize("behaviour", list(VALIDATORS))
def test_the_validate_row_needs_exit_0_and_the_passed_line(repo: Path, behaviour: str) -> None:
    script, row = VALIDATORS[behaviour]
    (repo / "scripts" / "validate_clickhouse_schema.py").write_text(script, encoding="utf-8")
    assert _row(repo, "validate") == row


def test_a_repository_that_configures_nothing_gets_a_generic_checklist(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No [tool.chconform.evidence], no .env.example, no scripts: chconform's own commands run, nothing Zakaz."""
    for key in [k for k in os.environ if k.startswith("CHCONFORM_")]:
        monkeypatch.delenv(key)
    repo = tmp_path / "shop"
    (repo / "db").mkdir(parents=True)
    (repo / "db" / "schema.sql").write_text(
        "CREATE DATABASE IF NOT EXISTS shop;\n"
        "CREATE TABLE IF NOT EXISTS shop.orders (id UInt64, total Float64) ENGINE = MergeTree ORDER BY id;\n",
        encoding="utf-8")
    (repo / "db" / "copy.sql").write_text((repo / "db" / "schema.sql").read_text(encoding="utf-8"), encoding="utf-8")
    (repo / "chconform.toml").write_text('root = "db"\ncanonical = "schema.sql"\nkey_tables = ["shop.orders"]\n'
                                         '[[source]]\npath = "schema.sql"\n[[source]]\npath = "copy.sql"\n',
                                         encoding="utf-8")
    _git_clone_of(repo)
    out, err = io.StringIO(), io.StringIO()
    code = run(["evidence", "--config", str(repo / "chconform.toml"), "--skip", "pytest", "--skip", "docker"], out, err)
    assert err.getvalue() == "" and code == 0, out.getvalue()
    text = (repo / "logs" / "evidence.md").read_text(encoding="utf-8")
    status = {key: line for key in ITEMS for line in text.splitlines() if f"| {ITEMS[key]} |" in line}
    assert list(status) == list(ITEMS)  # every row, in the generic wording
    for key in ("clean", "bootstrap_first", "bootstrap_second", "idempotent", "describe", "smoke", "validate", "prove",
                "check", "git"):
        assert "**OK**" in status[key], status[key]
    assert "**SKIP**" in status["env"] and "needs no env file" in status["env"]
    assert "**SKIP**" in status["docs"] and "no documents configured" in status["docs"]
    assert "**SKIP**" in status["compileall"]
    assert "**SKIP**" in status["access"] and "no role or grant statements" in status["access"]
    assert (repo / "logs" / "describe_orders.tsv").is_file() and (repo / "logs" / "smoke.log").is_file()
    assert "zakaz" not in text.lower() and not (repo / "ZAKAZ_DASHBOARD_AUDIT_REPORT.md").exists()
    assert subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
                          capture_output=True, text=True, check=True).stdout == ""  # logs/ and db/data/ ignore themselves
