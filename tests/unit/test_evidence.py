"""Pure parts of the evidence checklist: rows, rendering, markers, skips, sentinels, path guard (no engine)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from chconform.errors import ChconformError
from chconform.evidence.pipeline import (
    BEGIN_MARK,
    END_MARK,
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
    junit_summary,
    render_audit_block,
    render_markdown,
    replace_block,
    sentinel_sql,
    skip_set,
)

CLEAN = GitState("abc123", "main")


def evidence(*rows: Row, git: GitState = CLEAN) -> Evidence:
    return Evidence(tuple(rows), git, "embedded (chDB data directory infra/clickhouse/data)", "26.9.2.1",
                    "2025-01-01T00:00:00+00:00", 12.3, "3.11.9")


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
    text = render_markdown(evidence(Row("git", OK, "clean"), git=GitState("abc123", "main", ())))
    assert "| git commit | abc123 (main) |" in text and "| git status | clean |" in text
    assert "26.9.2.1" in text and "embedded (chDB data directory infra/clickhouse/data)" in text
    dirty = render_markdown(evidence(Row("git", FAIL, "dirty"), git=GitState("abc123", "main", (" M a.sql",))))
    assert "NOT clean: 1 changed or untracked paths" in dirty
    assert "not a git work tree" in render_markdown(evidence(Row("git", SKIP, "x"), git=GitState(None)))


def test_a_pipe_in_a_reason_does_not_break_the_table() -> None:
    text = render_markdown(evidence(Row("check", FAIL, "a | b")))
    row = next(line for line in text.splitlines() if ITEMS["check"] in line)
    assert "a \\| b" in row


def test_audit_block_is_replaced_between_markers_only() -> None:
    before = f"# Report\n\nintro\n\n{BEGIN_MARK}\nold stuff\n{END_MARK}\n\ntail text\n"
    block = render_audit_block(evidence(Row("smoke", OK, "fine", ("smoke_qtickets.log",))))
    after = replace_block(before, block)
    assert after.startswith("# Report\n\nintro\n\n") and after.endswith("\n\ntail text\n")
    assert "old stuff" not in after and "`logs/smoke_qtickets.log`" in after
    assert replace_block(after, block) == after  # idempotent: same results, same file


def test_audit_block_has_no_time_or_commit_so_reruns_do_not_dirty_the_tree() -> None:
    one = render_audit_block(evidence(Row("smoke", OK, "fine")))
    other = render_audit_block(Evidence((Row("smoke", OK, "fine"),), GitState("fff999", "x"),
                                        "embedded (chDB data directory infra/clickhouse/data)", "26.9.2.1",
                                        "2030-06-06T06:06:06+00:00", 99.0, "3.11.9"))
    assert one == other


def test_missing_markers_is_a_clear_error() -> None:
    with pytest.raises(ChconformError, match="markers"):
        replace_block("no markers here\n", "x")


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
def test_describe_file_names(table: str, name: str) -> None:
    assert describe_file(table) == name


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
