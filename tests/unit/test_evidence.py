"""Pure parts of the evidence checklist: rows, wording, rendering, markers, skips, sentinels, path guard, git
cleanliness and the lock (no engine)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from chconform.config import Config, load_config
from chconform.errors import ChconformError, ConfigError
from chconform.evidence.edges import porcelain_path
from chconform.evidence.pipeline import (
    FAIL,
    ITEMS,
    OK,
    SKIP,
    Evidence,
    GitState,
    Row,
    UnsafePath,
    base_type,
    describe_file,
    guard_removal,
    item_texts,
    junit_summary,
    own_output,
    render_audit_block,
    render_markdown,
    replace_block,
    sentinel_sql,
    skip_set,
)
from chconform.evidence.runtime import HELD_ENV, Busy, hold, lock_file, runtime_dir

REPO = Path(__file__).resolve().parents[2]
CLEAN = GitState("abc123", "main")
BEGIN_MARK, END_MARK = "<!-- chconform evidence:begin -->", "<!-- chconform evidence:end -->"

# This repository's checklist as `make evidence` wrote it before the wording became configuration: every row
# must keep its words (ZAKAZ_DASHBOARD_AUDIT_REPORT.md and the acceptance read them).
REPO_ITEMS = {
    "clean": "Fresh start: the project's data and ClickHouse log directories removed (nothing outside the repository)",
    "env": "`.env` created from `.env.example` when absent",
    "bootstrap_first": "Bootstrap, first run: every statement succeeded",
    "bootstrap_second": "Bootstrap, second run without cleaning: every statement succeeded",
    "idempotent": "Second run left the schema identical (snapshot) and lost no data (sentinel row in every key table)",
    "describe": "DESCRIBE of every key table saved as TSV and equal to the canonical build",
    "access": "Roles and grants of bootstrap_all.sql applied on a server with access control",
    "smoke": "Smoke dry run: exit 0 and zakaz.meta_job_runs count unchanged",
    "validate": "Validator `python scripts/validate_clickhouse_schema.py` passed: \"Schema validation passed.\"",
    "prove": "Validator fails on an injected divergence (mutation proof: `chconform validate --prove`)",
    "compileall": "`python -m compileall src scripts` succeeded",
    "pytest": "`pytest -n auto` passed (JUnit XML)",
    "check": "Schema: the key tables are identical in every SQL source (live check `chconform check`)",
    "docker": "`docker build` of the repository's Dockerfile",
    "docs": "Docs: ADR-007, CHANGELOG-007, audit report block, README and CONTRIBUTING bootstrap/smoke/evidence instructions",
    "git": "Git: working tree clean (checked before the run)",
}


@pytest.fixture(scope="module")
def repo_config() -> Config:
    return load_config(REPO / "pyproject.toml")


def generic_config(tmp_path: Path, extra: str = "") -> Config:
    """A repository that configures nothing about evidence: the package's defaults."""
    (tmp_path / "db").mkdir(exist_ok=True)
    (tmp_path / "db" / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS app.t (a String) ENGINE = Memory;\n")
    (tmp_path / "chconform.toml").write_text('root = "db"\ncanonical = "schema.sql"\nkey_tables = ["app.t", "app.u"]\n'
                                            f'{extra}\n[[source]]\npath = "schema.sql"\n', encoding="utf-8")
    return load_config(tmp_path / "chconform.toml")


def evidence(*rows: Row, git: GitState = CLEAN) -> Evidence:
    return Evidence(tuple(rows), git, "embedded (chDB data directory infra/clickhouse/data)", "26.9.2.1",
                    "2025-01-01T00:00:00+00:00", 12.3, python="3.11.9")


def test_this_repository_keeps_every_row_and_its_wording(repo_config: Config) -> None:
    assert item_texts(repo_config) == REPO_ITEMS
    assert list(ITEMS) == list(REPO_ITEMS)  # the same rows, in the same order


def test_the_generic_wording_names_no_repository(tmp_path: Path) -> None:
    texts = item_texts(generic_config(tmp_path))
    assert texts == ITEMS
    for text in texts.values():
        assert not any(word in text.lower() for word in ("zakaz", "qtickets", "meta_job_runs", "adr-007"))
    assert texts["smoke"] == "Smoke dry run: exit 0 and no table's row count changed"


def test_an_unknown_item_key_is_one_config_error(tmp_path: Path) -> None:
    config = generic_config(tmp_path, '[evidence.items]\nsmokes = "typo"')
    with pytest.raises(ConfigError, match="evidence.items.smokes: no such row"):
        item_texts(config)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[evidence]\nlogs = "../elsewhere"', "must be relative to the repository"),
        ('[evidence]\nsmoke_log = "sub/smoke.log"', "must be a plain file name"),
        ('[evidence]\ncolour = "red"', "unknown key evidence.'colour'"),
        ('[smoke]\njob_table = "no_database"', "must be written as database.table"),
        ('[smoke.job_row]\njob = "x"', "smoke.job_row needs smoke.job_table"),
        ('[smoke]\njob_table = "a.b"\njob_row = {job = [1]}', "smoke.job_row.job must be a string or a number"),
        ('[bootstrap]\naccess_source = "none.sql"', "bootstrap.access_source file not found"),
        ('bootstrap = "grants.sql"', r"write bootstrap as a \[bootstrap\] table"),
    ],
    ids=["logs-outside", "log-path", "unknown-key", "job-table", "job-row-alone", "job-row-type", "access-missing",
         "not-a-table"],
)
def test_bad_evidence_settings_are_one_line_config_errors(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        generic_config(tmp_path, extra)


def test_a_skip_row_is_never_shown_or_counted_as_ok() -> None:
    ev = evidence(Row("bootstrap_first", OK, "fine", ("bootstrap_first.log",)),
                  Row("docker", SKIP, "no Docker engine reachable", ("docker_build.log",)))
    text = render_markdown(ev)
    docker_line = next(line for line in text.splitlines() if ITEMS["docker"] in line)
    assert "**SKIP**" in docker_line and "OK" not in docker_line.replace(ITEMS["docker"], "")
    assert "no Docker engine reachable" in docker_line and "[docker_build.log](docker_build.log)" in docker_line
    assert ev.ok and ev.counts() == {OK: 1, FAIL: 0, SKIP: 1}
    assert "(1 OK, 0 FAIL, 1 SKIP)" in text and "never counted as OK" in text


def test_one_fail_row_fails_the_whole_evidence() -> None:
    ev = evidence(Row("bootstrap_first", OK, "fine"), Row("smoke", FAIL, "exit 1"))
    assert not ev.ok
    text = render_markdown(ev)
    assert "**Result: FAIL**" in text and "exits 1" in text


def test_markdown_carries_commit_cleanliness_engine_and_backend() -> None:
    text = render_markdown(evidence(Row("git", OK, "clean"), git=GitState("abc123", "main", ())), "Evidence: x")
    assert text.startswith("# Evidence: x\n")
    assert "| git commit | abc123 (main) |" in text and "| git status | clean |" in text
    assert "26.9.2.1" in text and "embedded (chDB data directory infra/clickhouse/data)" in text
    dirty = render_markdown(evidence(Row("git", FAIL, "dirty"), git=GitState("abc123", "main", (" M a.sql",))))
    assert "NOT clean: 1 changed or untracked paths" in dirty
    assert "not a git work tree" in render_markdown(evidence(Row("git", SKIP, "x"), git=GitState(None)))


def test_a_pipe_in_a_reason_does_not_break_the_table() -> None:
    text = render_markdown(evidence(Row("check", FAIL, "a | b")))
    row = next(line for line in text.splitlines() if ITEMS["check"] in line)
    assert "a \\| b" in row


def test_audit_block_is_replaced_between_markers_only(repo_config: Config) -> None:
    before = f"# Report\n\nintro\n\n{BEGIN_MARK}\nold stuff\n{END_MARK}\n\ntail text\n"
    block = render_audit_block(evidence(Row("smoke", OK, "fine", ("smoke_qtickets.log",))), repo_config)
    after = replace_block(before, block, BEGIN_MARK, END_MARK)
    assert after.startswith("# Report\n\nintro\n\n") and after.endswith("\n\ntail text\n")
    assert "old stuff" not in after and "`logs/smoke_qtickets.log`" in after
    assert replace_block(after, block, BEGIN_MARK, END_MARK) == after  # idempotent: same results, same file


def test_audit_block_commands_come_from_the_configuration(repo_config: Config, tmp_path: Path) -> None:
    mine = render_audit_block(evidence(Row("smoke", OK, "fine")), repo_config)
    assert "`make evidence` (= `chconform evidence`)" in mine
    assert "`scripts/bootstrap_clickhouse.sh --env-file infra/clickhouse/.env` twice" in mine
    assert "`python scripts/validate_clickhouse_schema.py`" in mine
    generic = render_audit_block(evidence(Row("smoke", OK, "fine")), generic_config(tmp_path))
    assert "`chconform bootstrap --env-file db/.env` twice" in generic
    assert "`chconform smoke --dry-run --env-file db/.env`" in generic and "make evidence" not in generic


def test_audit_block_has_no_time_or_commit_so_reruns_do_not_dirty_the_tree(repo_config: Config) -> None:
    one = render_audit_block(evidence(Row("smoke", OK, "fine")), repo_config)
    other = render_audit_block(Evidence((Row("smoke", OK, "fine"),), GitState("fff999", "x"),
                                        "embedded (chDB data directory infra/clickhouse/data)", "26.9.2.1",
                                        "2030-06-06T06:06:06+00:00", 99.0, python="3.11.9"), repo_config)
    assert one == other


def test_audit_block_shows_the_stable_reason_of_a_row_that_depends_on_the_machine(repo_config: Config) -> None:
    created = Row("env", OK, "created x/.env from x/.env.example", ("env.log",), "x/.env in place")
    kept = Row("env", OK, "x/.env exists; kept", ("env.log",), "x/.env in place")
    assert render_audit_block(evidence(created), repo_config) == render_audit_block(evidence(kept), repo_config)
    assert "created x/.env" in render_markdown(evidence(created))  # the run's own log keeps what happened


def test_missing_markers_is_a_clear_error() -> None:
    with pytest.raises(ChconformError, match="markers"):
        replace_block("no markers here\n", "x", BEGIN_MARK, END_MARK)


def test_skip_groups_expand_and_unknown_names_are_refused() -> None:
    assert skip_set(["validate"]) == {"validate", "prove"}
    assert {"bootstrap_first", "bootstrap_second", "idempotent", "describe"} <= skip_set(["bootstrap"])
    assert skip_set(["pytest", " ", "docker"]) == {"pytest", "docker"}
    with pytest.raises(ChconformError, match="unknown evidence step 'pytset'"):
        skip_set(["pytset"])


@pytest.mark.parametrize(
    ("table", "name"),
    [
        ("zakaz.dim_events", "describe_dim_events.tsv"),
        ("zakaz.fact_qtickets_inventory", "describe_fact_inv.tsv"),
        ("zakaz.fact_qtickets_inventory_latest", "describe_fact_inv_latest.tsv"),
        ("zakaz.stg_vk_ads_daily", "describe_stg_vk_ads_daily.tsv"),
        ("meta.jobs", "describe_meta_jobs.tsv"),
    ],
    ids=lambda v: v,
)
def test_describe_file_names_of_this_repository(repo_config: Config, table: str, name: str) -> None:
    assert describe_file(table, repo_config) == name


def test_generic_describe_names_drop_the_database_only_when_all_share_it(tmp_path: Path) -> None:
    config = generic_config(tmp_path)
    assert describe_file("app.t", config) == "describe_t.tsv"
    assert describe_file("other.t", config) == "describe_other_t.tsv"


def test_base_type_unwraps_low_cardinality_and_nullable() -> None:
    assert base_type("LowCardinality(Nullable(String))") == "String"
    assert base_type("Nullable(UInt32)") == "UInt32"
    assert base_type("FixedString(32)") == "FixedString(32)"


def test_sentinel_marks_a_string_column_and_leaves_defaults_alone() -> None:
    columns = [
        {"name": "snapshot_ts", "type": "DateTime", "default_type": ""},
        {"name": "event_id", "type": "String", "default_type": ""},
        {"name": "city", "type": "LowCardinality(String)", "default_type": ""},
        {"name": "tickets_total", "type": "Nullable(UInt32)", "default_type": ""},
        {"name": "_dedup_key", "type": "FixedString(4)", "default_type": ""},
        {"name": "_loaded_at", "type": "DateTime", "default_type": "DEFAULT"},
    ]
    insert, count = sentinel_sql("zakaz.t", columns, "tag-it's")
    assert insert.startswith("INSERT INTO `zakaz`.`t` (`snapshot_ts`, `event_id`, `city`, `tickets_total`, `_dedup_key`)")
    assert "_loaded_at" not in insert
    assert "defaultValueOfTypeName('DateTime')" in insert and "'tag-it\\'s'" in insert
    assert "toFixedString('tag-', 4)" in insert
    assert count == "SELECT count() AS n FROM `zakaz`.`t` WHERE `event_id` = 'tag-it\\'s'"


def test_sentinel_without_a_string_column_counts_the_table() -> None:
    _, count = sentinel_sql("zakaz.n", [{"name": "x", "type": "UInt8", "default_type": ""}], "tag")
    assert count == "SELECT count() AS n FROM `zakaz`.`n`"


def test_junit_summary(tmp_path: Path) -> None:
    xml = tmp_path / "j.xml"
    xml.write_text('<testsuites><testsuite tests="5" failures="1" errors="0" skipped="2"/></testsuites>')
    assert junit_summary(xml) == "5 tests: 1 failures, 0 errors, 2 skipped"
    assert junit_summary(tmp_path / "none.xml") == "no readable JUnit XML"


def _git_repo(path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "tracked").mkdir()
    (path / "tracked" / "keep.txt").write_text("x")
    subprocess.run(["git", "-C", str(path), "add", "tracked"], check=True)


def test_guard_refuses_paths_outside_the_repository(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    outside.mkdir()
    with pytest.raises(UnsafePath, match="not inside the repository"):
        guard_removal(outside, repo, (outside,))  # even when the configuration names it as the data directory
    with pytest.raises(UnsafePath, match="not inside the repository"):
        guard_removal(repo / ".." / "elsewhere", repo, (outside,))
    with pytest.raises(UnsafePath, match="not inside the repository"):
        guard_removal(repo, repo, (repo,))


def test_guard_refuses_what_is_not_one_of_the_project_directories(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    with pytest.raises(UnsafePath, match="outside the project's own data, log and temporary directories"):
        guard_removal(repo / "src", repo, (repo / "infra" / "clickhouse" / "data",))


def test_guard_refuses_a_symlink_that_leads_outside(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    outside.mkdir()
    (repo / "data").symlink_to(outside)
    with pytest.raises(UnsafePath):
        guard_removal(repo / "data", repo, (repo / "data",))


def test_guard_refuses_a_directory_with_tracked_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git_repo(repo)
    with pytest.raises(UnsafePath, match="tracked by git"):
        guard_removal(repo / "tracked", repo, (repo / "tracked",))
    data = repo / "infra" / "data"
    assert guard_removal(data, repo, (data,)) == data.resolve()


def test_porcelain_paths() -> None:
    assert porcelain_path(" M ZAKAZ.md") == "ZAKAZ.md"
    assert porcelain_path("?? logs/") == "logs"
    assert porcelain_path('R  old.sql -> "new name.sql"') == "new name.sql"


def _committed_repo(path: Path, report: str) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "REPORT.md").write_text(report, encoding="utf-8")
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)


def test_a_previous_runs_outputs_do_not_count_against_git_clean(tmp_path: Path) -> None:
    from chconform.evidence.edges import git_state

    report = f"# R\n\n{BEGIN_MARK}\nold\n{END_MARK}\n\ntail\n"
    config = generic_config(tmp_path, '[evidence]\naudit_report = "REPORT.md"')
    _committed_repo(tmp_path, report)
    (tmp_path / "REPORT.md").write_text(report.replace("old", "new results"), encoding="utf-8")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "evidence.md").write_text("x")
    (tmp_path / "db" / "data").mkdir()
    (tmp_path / "db" / "data" / "x.bin").write_text("x")
    state = git_state(tmp_path, own_output(config, (tmp_path / "db" / "data").resolve()))
    assert state.clean, state
    assert {porcelain_path(line) for line in state.own} >= {"REPORT.md", "logs", "db/data"}
    # The same check with the defence off (nothing is the run's own): the tree is not clean.
    assert not git_state(tmp_path).clean


def test_an_edit_outside_the_block_or_an_unrelated_file_still_counts(tmp_path: Path) -> None:
    from chconform.evidence.edges import git_state

    report = f"# R\n\n{BEGIN_MARK}\nold\n{END_MARK}\n\ntail\n"
    config = generic_config(tmp_path, '[evidence]\naudit_report = "REPORT.md"')
    _committed_repo(tmp_path, report)
    (tmp_path / "REPORT.md").write_text(report.replace("tail", "edited by hand"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("new")
    state = git_state(tmp_path, own_output(config, None))
    assert not state.clean
    assert {porcelain_path(line) for line in state.changes} == {"REPORT.md", "notes.txt"}


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    with hold(folder, "chconform evidence"):
        with pytest.raises(Busy, match=r"in use by chconform evidence \(pid \d+") as caught:
            with hold(folder, "chconform bootstrap"):
                pass
        assert "--wait SECONDS" in str(caught.value) and "\n" not in str(caught.value)
    with hold(folder, "chconform bootstrap"):  # released: the next run gets it
        pass


def test_a_step_of_the_holding_run_passes_and_nothing_else_does(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    folder, other = tmp_path / "data", tmp_path / "other"
    with hold(folder, "chconform evidence") as held:
        monkeypatch.setenv(HELD_ENV, str(held))
        with hold(folder, "chconform bootstrap"):  # evidence's own bootstrap step
            pass
        with hold(other, "x"):  # a lock the parent does not hold is taken as usual
            pass
        monkeypatch.setenv(HELD_ENV, str(lock_file(other)))
        with pytest.raises(Busy):
            with hold(folder, "chconform bootstrap"):
                pass


def test_the_lock_lives_outside_the_folder_it_guards(tmp_path: Path) -> None:
    path = lock_file(tmp_path / "repo" / "data")
    assert not path.is_relative_to(tmp_path) and path == lock_file(tmp_path / "repo" / ".." / "repo" / "data")


def test_a_runtime_folder_created_in_a_repository_is_ignored_by_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    runtime_dir(tmp_path / "db" / "data")
    (tmp_path / "db" / "data" / "store.bin").write_text("x")
    status = subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    assert status == ""
    plain = tmp_path / "db" / "plain"
    plain.mkdir()  # the same folder made without runtime_dir shows up: the .gitignore is what hides it
    (plain / "store.bin").write_text("x")
    assert "db/plain/store.bin" in subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain",
                                                   "--untracked-files=all"], capture_output=True, text=True).stdout
    existing = tmp_path / "mine"
    existing.mkdir()
    runtime_dir(existing)
    assert not (existing / ".gitignore").exists()  # a folder the user made is left as it is


def test_audit_block_names_no_test_count(repo_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new test must not dirty the tracked report: the pytest row's block text has no count (the log has)."""
    from chconform.evidence import steps

    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuites><testsuite tests="1806" failures="0" errors="0" skipped="5"/></testsuites>',
                     encoding="utf-8")

    class _Run:  # the parts of a run step_pytest reads
        options = type("O", (), {"skip": (), "python": "python", "pytest_args": (), "pytest_timeout_s": 1})()
        env: dict[str, str] = {}
        logs = tmp_path
        repo = tmp_path

    monkeypatch.setattr(steps, "run_logged", lambda *a, **k: (0, ""))  # pytest "ran" and passed
    (tmp_path / "pytest-junit.xml").write_bytes(junit.read_bytes())
    row = steps.step_pytest(_Run())  # type: ignore[arg-type]
    assert row.status == OK and "1806 tests" in row.reason
    block = render_audit_block(evidence(row), repo_config)
    assert "1806" not in block and "every test passed: no failure, no error" in block
