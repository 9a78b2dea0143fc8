"""The pre-commit hooks (run by pre-commit's own runner) and the GitHub Action's script, on a drifted repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .repo_copy import REPO, copy_sources, replace_once

pytestmark = pytest.mark.engine

BIN = Path(sys.executable).parent
DRIFT = ("CREATE TABLE IF NOT EXISTS zakaz.fact_qtickets_inventory\n(\n    event_id String,\n    city LowCardinality(String),",
         "CREATE TABLE IF NOT EXISTS zakaz.fact_qtickets_inventory\n(\n    event_id String,\n    city String,")
DRIFTED = "infra/clickhouse/migrations/2025-qtickets-api.sql"


def repository(tmp_path: Path, drifted: bool) -> Path:
    """A git checkout holding the schema under infra/clickhouse/, with its config at the top."""
    repo = tmp_path / "repo"
    config = copy_sources(repo / "infra" / "clickhouse")
    text = config.read_text(encoding="utf-8").replace('root = "."', 'root = "infra/clickhouse"')
    (repo / "chconform.toml").write_text(text, encoding="utf-8")
    config.unlink()
    if drifted:
        replace_once(repo / DRIFTED, *DRIFT)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_action_script_writes_sarif_naming_the_drifted_file(tmp_path: Path) -> None:
    repo = repository(tmp_path, drifted=True)
    outputs = tmp_path / "github_output"
    env = {**os.environ, "CHCONFORM": str(BIN / "chconform"), "CHCONFORM_CONFIG": str(repo / "chconform.toml"),
           "CHCONFORM_SARIF": str(tmp_path / "out.sarif"), "GITHUB_OUTPUT": str(outputs), "NO_COLOR": "1"}
    done = subprocess.run([str(REPO / "scripts" / "action_check.sh")], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    sarif = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"column_type"}
    location = results[0]["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": DRIFTED}, "region": {"startLine": 62}}
    assert f"::error file={DRIFTED},line=62,title=chconform column_type::" in done.stdout
    assert outputs.read_text(encoding="utf-8").splitlines() == ["exit-code=1", f"sarif={tmp_path / 'out.sarif'}"]


def test_action_script_exit_2_writes_no_annotations(tmp_path: Path) -> None:
    env = {**os.environ, "CHCONFORM": str(BIN / "chconform"), "CHCONFORM_CONFIG": str(tmp_path / "absent.toml"),
           "CHCONFORM_SARIF": str(tmp_path / "out.sarif"), "GITHUB_OUTPUT": str(tmp_path / "o")}
    done = subprocess.run([str(REPO / "scripts" / "action_check.sh")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "::error" not in done.stdout
    assert "exit-code=2" in (tmp_path / "o").read_text(encoding="utf-8")


def test_action_yml_runs_the_script_and_fails_on_its_exit_code() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    check = next(s for s in steps if s.get("id") == "check")
    assert "scripts/action_check.sh" in check["run"]
    assert (REPO / "scripts" / "action_check.sh").stat().st_mode & 0o111
    used = {k.split(".")[1] for s in steps for k in _expressions(s) if k.startswith("inputs.")}
    assert used <= set(action["inputs"]), used - set(action["inputs"])
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == check["env"]["CHCONFORM_SARIF"]
    assert steps[-1]["run"] == 'exit "${CODE:-2}"'


def _expressions(step: dict) -> list[str]:
    import re

    return re.findall(r"\$\{\{\s*([\w.-]+)", json.dumps(step))


def _precommit_config(repo: Path) -> None:
    """The manifest's hooks, run by pre-commit itself; only `language` differs (this venv instead of a fresh one)."""
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    local = [{**h, "language": "system", "entry": str(BIN / h["entry"])} for h in hooks]
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": local}]}),
                                                  encoding="utf-8")


@pytest.mark.parametrize("hook", ["chconform-validate", "chconform-check"])
def test_precommit_hooks_fail_on_drift_and_pass_on_the_canon(tmp_path: Path, hook: str) -> None:
    precommit = shutil.which("pre-commit", path=str(BIN))
    assert precommit, "pre-commit is a test dependency (pip install -e '.[test]')"
    for drifted, want in ((True, 1), (False, 0)):
        repo = repository(tmp_path / str(drifted), drifted)
        _precommit_config(repo)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
        done = subprocess.run([precommit, "run", hook, "--all-files", "--hook-stage", "manual"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=600)
        shown = done.stdout + done.stderr
        assert done.returncode == want, shown
        if drifted:
            assert f"{DRIFTED}:62" in shown and "column_type" in shown, shown
        else:
            assert "Passed" in shown, shown
