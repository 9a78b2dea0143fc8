"""`make mutate` and the nightly mutation workflow: the score table is computed right and published."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "mutation.yml"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_score", REPO / "scripts" / "mutation_score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_score"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


ms = _script()


def test_verdicts_fold_into_the_score() -> None:
    codes = {"m.x__mutmut_1": 1, "m.x__mutmut_2": 0, "m.x__mutmut_3": 33, "m.x__mutmut_4": 36, "m.x__mutmut_5": 3,
             "m.x__mutmut_6": None, "m.x__mutmut_7": 37, "m.x__mutmut_8": -11, "m.x__mutmut_9": 1}
    s = ms.tally("m", codes)
    assert (s.killed, s.timeout, s.survived, s.no_tests, s.other, s.not_checked) == (4, 1, 1, 1, 1, 1)
    assert s.survivors == ("m.x__mutmut_2", "m.x__mutmut_3")  # a mutant no test reaches is a survivor too
    assert s.checked == 8 and s.percent == 62.5


def test_the_table_has_a_row_per_module_and_a_total() -> None:
    a = ms.tally("sql/source", {"a1": 1, "a2": 1, "a3": 1, "a4": 0})
    b = ms.tally("config", {"b1": 1, "b2": None})
    assert ms.table([a, b]) == (
        "| module | mutants | killed | timeout | survived | no tests | other | not run | score |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        "| sql/source | 4 | 3 | 0 | 1 | 0 | 0 | 0 | 75.0 % |\n"
        "| config | 2 | 1 | 0 | 0 | 0 | 0 | 1 | 100.0 % |\n"
        "| **all** | 6 | 4 | 0 | 1 | 0 | 0 | 1 | 80.0 % |\n"
    )
    assert ms.table([ms.tally("gate", {"g": None})]).splitlines()[-1] == "| gate | 1 | 0 | 0 | 0 | 0 | 0 | 1 | n/a |"


def test_every_core_module_has_files_and_unit_tests_that_import_it() -> None:
    for module in ms.MODULES:
        files = ms.source_files(module)
        assert files and all((REPO / f).is_file() for f in files), module
        tests = ms.unit_tests_for(files)
        assert tests and all(t.startswith("tests/unit/test_") for t in tests), module
    assert "tests/unit/test_mutants_gate.py" in ms.unit_tests_for(ms.source_files("gate/policy"))
    assert "tests/unit/test_mutants_config.py" in ms.unit_tests_for(ms.source_files("config"))
    assert ms.dotted("src/chconform/schema/static/views.py") == "chconform.schema.static.views"
    for module, own in ms.OWN_TESTS.items():  # a module measured against its own tests only: they exist
        assert module in ms.MODULES and own and all((REPO / t).is_file() for t in own), module


def test_the_copy_gets_a_mutmut_table_for_its_module_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ms, "WORK", tmp_path)
    monkeypatch.setattr(ms, "tracked_files", lambda root=REPO: ["pyproject.toml", "README.md",
                                                                 "src/chconform/config.py"])
    work = ms.prepare("config", ["src/chconform/config.py"], ["tests/unit/test_config.py"])
    settings = tomllib.loads((work / "pyproject.toml").read_text(encoding="utf-8"))
    mutmut = settings["tool"]["mutmut"]
    assert mutmut["only_mutate"] == ["src/chconform/config.py"]
    assert mutmut["pytest_add_cli_args_test_selection"] == ["tests/unit/test_config.py"]
    assert mutmut["also_copy"] == ["README.md", "pyproject.toml"] and mutmut["source_paths"] == ["src"]
    assert settings["tool"]["chconform"]["canonical"] == "bootstrap_schema.sql"  # the rest of pyproject kept
    (work / "mutants").mkdir()
    ms.prepare("config", ["src/chconform/config.py"], ["tests/unit/test_config.py"], keep=True)
    assert (work / "mutants").is_dir()
    ms.prepare("config", ["src/chconform/config.py"], ["tests/unit/test_config.py"])
    assert not (work / "mutants").exists()  # a fresh run: new tests get credit for what they kill


def test_make_mutate_and_the_pinned_tool() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "\nmutate: $(STAMP)" in makefile and "scripts/mutation_score.py $(MODULES)" in makefile
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["optional-dependencies"]["mutation"] == ["mutmut==3.8.1"]


def test_the_nightly_workflow_publishes_the_table_and_passes_actionlint() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert 'cron: "41 2 * * *"' in text
    assert '--summary "$GITHUB_STEP_SUMMARY"' in text and "--json logs/mutation.json" in text
    assert "actions/upload-artifact@v4" in text and "logs/mutation.md" in text
    exe = (os.environ.get("ACTIONLINT") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
           or shutil.which("actionlint"))
    assert exe, "actionlint not installed: it is a pinned dependency (pip install -e .)"
    done = subprocess.run([exe, "-no-color", str(WORKFLOW)], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=False)
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


def test_a_name_selects_its_module_or_every_module_under_it() -> None:
    assert ms.selected(["gate"]) == (["gate/decide", "gate/policy"], [])
    assert ms.selected(["config", "gate/decide", "gate"]) == (["config", "gate/decide", "gate/policy"], [])
    assert ms.selected(["gat", "sql/sourc"]) == ([], ["gat", "sql/sourc"])
    assert ms.selected([]) == ([], [])


def test_the_layer_test_is_never_picked_to_guard_a_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """test_layers.py names core modules but checks only imports; inside mutmut's copy it fails every run."""
    files = ms.source_files("reports/ci")
    assert "tests/unit/test_layers.py" not in ms.unit_tests_for(files)
    monkeypatch.setattr(ms, "NOT_GUARDS", frozenset())
    assert "tests/unit/test_layers.py" in ms.unit_tests_for(files)  # it names chconform.reports.findings
