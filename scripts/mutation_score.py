"""Mutation score of chconform's pure core, one module at a time (`make mutate`, docs/MUTATION.md).

Why per module and in a copy: mutmut (pinned in pyproject's `mutation` extra, configured in [tool.mutmut])
mutates one function at a time and runs only the unit tests that reach it. Running each module of the core
in its own copy of the tree (.mutation/<module>/, git-ignored) lets a run pick just the unit-test files that
import that module (fast: no engine) and never touches the working tree. Each run starts afresh (`--keep`
reuses mutmut's verdicts for unchanged functions: quicker, but blind to new tests).

    python scripts/mutation_score.py                      # every module, table on stdout
    python scripts/mutation_score.py config gate          # some modules ("gate": gate/decide and gate/policy)
    python scripts/mutation_score.py --report-only        # the table from the last runs, no new run
    python scripts/mutation_score.py --summary FILE --json FILE --fail-under 90

Score = killed / (mutants checked). A timeout (the mutant loops) and a type-check kill count as killed;
"no tests" (no unit test reaches the function) and a survivor count against the score.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".mutation"

# module name -> the source files mutated (globs under src/chconform). The pure core: no engine, no I/O
# beyond reading files. Data-only files (the gate's catalog and settings-name list) are module-level tables,
# which mutmut does not mutate; the functions that read them are.
MODULES: dict[str, tuple[str, ...]] = {
    "sql/source": ("sql/source.py", "sql/lexer.py", "sql/templates.py", "sql/locate.py"),  # reading SQL
    "sql/cluster": ("sql/cluster.py",),  # ON CLUSTER, Replicated*, {macros} on one node
    "sql/migrations": ("sql/migrations.py",),  # migration tools' folder conventions
    "gate/decide": ("gate/decide.py",),  # the tree walk and its decisions
    "gate/policy": ("gate/policy.py", "gate/parse.py", "gate/settings.py"),  # the gate's entry points, ClickHouse's parse
    "config": ("config.py",),
    "schema/compare": ("schema/compare.py",),
    "schema/static": ("schema/static/*.py", "checks/static.py"),
    "checks/rules": ("checks/rules.py",),
    "checks/path": ("checks/blame.py", "checks/sentinels.py"),  # path's pure parts (checks/path.py drives git and engines)
    "plan/steps": ("plan/steps.py",),  # the ALTER/rebuild steps (plan/prove.py runs them on an engine)
    "plan/sync": ("plan/sync.py",),
    "reports/render": ("reports/render.py",),
    "reports/ci": ("reports/findings.py", "reports/sarif.py", "reports/junit.py", "reports/github.py",
                   "reports/escape.py", "reports/matrix.py"),
}


def selected(names: list[str]) -> tuple[list[str], list[str]]:
    """Modules named, a name standing also for every module under it ("gate" = gate/decide, gate/policy);
    and the names that match none."""
    chosen, unknown = [], []
    for name in names:
        matches = [m for m in MODULES if m == name or m.startswith(name.rstrip("/") + "/")]
        chosen += [m for m in matches if m not in chosen]
        if not matches:
            unknown.append(name)
    return chosen, unknown


# The unit-test files a module is measured against when not every file that imports it: config is read by
# nearly every test (each mutant of it would run hundreds), so its own tests stand for it.
OWN_TESTS: dict[str, tuple[str, ...]] = {
    # the files that decide on recorded trees; gate/policy's own tests are measured there
    "gate/decide": ("tests/unit/test_mutants_gate_decide.py", "tests/unit/test_mutants_gate_decide_explain.py",
                    "tests/unit/test_policy.py", "tests/unit/test_gate_refusal.py", "tests/unit/test_reports_ci.py"),
    "config": ("tests/unit/test_config.py", "tests/unit/test_mutants_config.py", "tests/unit/test_rules_config.py"),
    # the lexer is reached by nearly every unit test: the files written to guard sql/source stand for it
    "sql/source": ("tests/unit/test_sources.py", "tests/unit/test_gate_lexer.py", "tests/unit/test_templates.py",
                   "tests/unit/test_locate.py", "tests/unit/test_mutants_source.py"),
    # test_layers.py imports every module in a fresh interpreter, which fails inside mutmut's copy: left out
    "reports/ci": ("tests/unit/test_matrix.py", "tests/unit/test_reports_ci.py", "tests/unit/test_mutants_reports_ci.py"),
    # its own tests (no engine, no subprocess): test_static.py, test_sync.py and test_mutants_tooling.py also import
    # it but validate the whole repository or start processes, seconds for each of its ~2,900 mutants
    "schema/static": ("tests/unit/test_mutants_static.py", "tests/unit/test_mutants_static_checks.py"),
    "checks/rules": ("tests/unit/test_bench_generator.py", "tests/unit/test_errors_and_rules.py",
                     "tests/unit/test_mutants_rules.py", "tests/unit/test_rules_config.py"),
    "schema/compare": ("tests/unit/test_cluster.py", "tests/unit/test_compare.py", "tests/unit/test_mutants_compare.py",
                       "tests/unit/test_one_cause.py"),
}

# unit-test files that import the core but guard no behaviour of it, and cannot run in mutmut's copy:
# test_layers.py imports every module in a fresh interpreter (the layer rules), which fails there
NOT_GUARDS = frozenset({"tests/unit/test_layers.py"})

# mutmut's exit-code verdicts (mutmut.stats.status_by_exit_code), folded into what the score needs
KILLED_CODES = {1, 3, 37}  # a test failed, pytest errored, the type checker refused it
TIMEOUT_CODES = {36, 24, -24, 152, 255, -9}  # the mutant ran past its CPU bound (-9: SIGKILL after SIGXCPU)
SURVIVED_CODES = {0}
NO_TESTS_CODES = {5, 33}
SKIPPED_CODES = {34}


@dataclass(frozen=True)
class Score:
    """One module's verdict counts."""

    module: str
    killed: int = 0
    timeout: int = 0
    survived: int = 0
    no_tests: int = 0
    other: int = 0  # suspicious, segfault, interrupted
    not_checked: int = 0
    survivors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def checked(self) -> int:
        return self.killed + self.timeout + self.survived + self.no_tests + self.other

    @property
    def percent(self) -> float:
        return 100.0 * (self.killed + self.timeout) / self.checked if self.checked else 0.0


def tally(module: str, exit_codes: dict[str, int | None]) -> Score:
    """Fold mutmut's per-mutant exit codes into a Score (survivors: survived or reached by no test)."""
    counts = {"killed": 0, "timeout": 0, "survived": 0, "no_tests": 0, "other": 0, "not_checked": 0}
    survivors = []
    for name, code in sorted(exit_codes.items()):
        if code is None:
            counts["not_checked"] += 1
        elif code in KILLED_CODES:
            counts["killed"] += 1
        elif code in TIMEOUT_CODES:
            counts["timeout"] += 1
        elif code in SURVIVED_CODES or code in NO_TESTS_CODES:
            counts["survived" if code in SURVIVED_CODES else "no_tests"] += 1
            survivors.append(name)
        elif code in SKIPPED_CODES:
            counts["not_checked"] += 1
        else:
            counts["other"] += 1
    return Score(module, survivors=tuple(survivors), **counts)


def table(scores: list[Score]) -> str:
    """The per-module score table, markdown."""
    lines = ["| module | mutants | killed | timeout | survived | no tests | other | not run | score |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in scores:
        total = s.checked + s.not_checked
        score = f"{s.percent:.1f} %" if s.checked else "n/a"
        lines.append(f"| {s.module} | {total} | {s.killed} | {s.timeout} | {s.survived} | {s.no_tests} | "
                     f"{s.other} | {s.not_checked} | {score} |")
    checked = sum(s.checked for s in scores)
    caught = sum(s.killed + s.timeout for s in scores)
    if checked:
        lines.append(f"| **all** | {checked + sum(s.not_checked for s in scores)} | "
                     f"{sum(s.killed for s in scores)} | {sum(s.timeout for s in scores)} | "
                     f"{sum(s.survived for s in scores)} | {sum(s.no_tests for s in scores)} | "
                     f"{sum(s.other for s in scores)} | {sum(s.not_checked for s in scores)} | "
                     f"{100.0 * caught / checked:.1f} % |")
    return "\n".join(lines) + "\n"


def slug(module: str) -> str:
    return module.replace("/", "-")


def source_files(module: str, root: Path = REPO) -> list[str]:
    """The module's files, repository-relative."""
    base = root / "src" / "chconform"
    found = sorted({p.relative_to(root).as_posix() for pattern in MODULES[module] for p in base.glob(pattern)
                    if p.name != "__init__.py" or pattern.endswith("__init__.py")})
    return found


def dotted(path: str) -> str:
    """src/chconform/schema/static/views.py -> chconform.schema.static.views"""
    return path.removeprefix("src/").removesuffix(".py").replace("/", ".")


def unit_tests_for(files: list[str], root: Path = REPO) -> list[str]:
    """The unit-test files that name one of the module's files (or its package) in an import."""
    names = {dotted(f) for f in files}
    names |= {n.rsplit(".", 1)[0] for n in names if n.count(".") > 2}  # chconform.schema.static for its parts
    forms = [re.escape(n) for n in sorted(names)]  # `import chconform.plan.sync`, `from chconform.plan.sync import`
    for n in sorted(names):  # `from chconform.plan import sync` (on one line or in parentheses)
        package, module = (re.escape(x) for x in n.rsplit(".", 1))
        forms.append(rf"from\s+{package}\s+import\s+(?:\([^)]*\b{module}\b|[^\n]*\b{module}\b)")
    pattern = re.compile(r"\b(?:" + "|".join(forms) + r")\b")
    tests = []
    for test in sorted((root / "tests" / "unit").glob("test_*.py")):
        rel = test.relative_to(root).as_posix()
        if rel not in NOT_GUARDS and pattern.search(test.read_text(encoding="utf-8")):
            tests.append(rel)
    return tests


def tracked_files(root: Path = REPO) -> list[str]:
    """The working tree as git sees it (tracked and new files, ignored ones left out)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, check=True,
                            capture_output=True).stdout.decode("utf-8")
    return [p for p in listed.split("\0") if p and (root / p).is_file()]


def prepare(module: str, files: list[str], tests: list[str], keep: bool = False) -> Path:
    """Copy the tree into .mutation/<module>/ and point [tool.mutmut] at the module.

    mutmut's cache (mutants/) is dropped unless `keep`: it re-tests a mutant only when its function changed,
    so a new test would not be credited with the mutants it kills.
    """
    work = WORK / slug(module)
    work.mkdir(parents=True, exist_ok=True)
    for entry in work.iterdir():  # a file deleted from the tree must not linger in the copy
        if entry.name != "mutants" or not keep:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    tops: set[str] = set()
    for rel in tracked_files():
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, target)
        tops.add(rel.split("/", 1)[0])
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    base = tomllib.loads(pyproject).get("tool", {}).get("mutmut", {})
    settings = {
        **base,
        "source_paths": ["src"],
        "only_mutate": files,
        "also_copy": sorted(tops - {"src", "tests"}),
        "pytest_add_cli_args_test_selection": tests,
    }
    (work / "pyproject.toml").write_text(_without_mutmut_table(pyproject) + "\n[tool.mutmut]\n"
                                         + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()),
                                         encoding="utf-8")
    return work


def _without_mutmut_table(text: str) -> str:
    out, skipping = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skipping = line.strip() == "[tool.mutmut]"
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


def mutmut_bin() -> str:
    here = Path(sys.executable).parent / "mutmut"
    return str(here) if here.exists() else (shutil.which("mutmut") or "mutmut")


def run_module(module: str, jobs: int, log: Path, keep: bool = False, recheck: bool = False) -> int:
    """mutmut over one module; `recheck`: only the last run's survivors again (new tests get their credit)."""
    files = source_files(module)
    tests = list(OWN_TESTS.get(module, ())) or unit_tests_for(files)
    if not files or not tests:
        print(f"{module}: no files ({files}) or no unit tests ({tests})", file=sys.stderr)
        return 2
    survivors = list(read_score(module).survivors) if recheck else []
    if recheck and not survivors:
        return 0
    work = prepare(module, files, tests, keep or recheck)
    command = ["nice", "-n", "19", mutmut_bin(), "run", "--max-children", str(jobs), *survivors]
    print(f"{module}: {len(files)} files, {len(tests)} unit-test files; log {log}", file=sys.stderr, flush=True)
    with log.open("w", encoding="utf-8") as out:
        return subprocess.run(command, cwd=work, stdout=out, stderr=subprocess.STDOUT, check=False).returncode


def read_score(module: str) -> Score:
    """The module's verdicts from mutmut's .meta files in its copy."""
    work = WORK / slug(module)
    codes: dict[str, int | None] = {}
    for file in source_files(module):
        meta = work / "mutants" / (file + ".meta")
        if meta.exists():
            codes.update(json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {}))
    return tally(module, codes)


def show(module: str, mutant: str) -> str:
    """mutmut's diff of one mutant (from the module's copy)."""
    done = subprocess.run([mutmut_bin(), "show", mutant], cwd=WORK / slug(module), capture_output=True, text=True,
                          check=False)
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATE_JOBS", 0)) or os.cpu_count() or 1)
    parser.add_argument("--report-only", action="store_true", help="read the last runs, run nothing")
    parser.add_argument("--keep", action="store_true", help="reuse mutmut's verdicts for unchanged functions")
    parser.add_argument("--recheck", action="store_true", help="run only the last run's survivors again")
    parser.add_argument("--summary", type=Path, help="append the markdown table here (e.g. $GITHUB_STEP_SUMMARY)")
    parser.add_argument("--json", type=Path, help="write scores and surviving mutants (with diffs) here")
    parser.add_argument("--fail-under", type=float, help="exit 1 if a module scores below this percentage")
    args = parser.parse_args(argv)
    chosen, unknown = selected(args.modules)
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)} (known: {', '.join(MODULES)})")
    modules = chosen or list(MODULES)
    WORK.mkdir(exist_ok=True)
    failed = []
    if not args.report_only:
        for module in modules:
            code = run_module(module, args.jobs, WORK / f"{slug(module)}.log", args.keep, args.recheck)
            if code != 0:
                failed.append(f"{module}: mutmut exited {code} (see .mutation/{slug(module)}.log)")
    scores = [read_score(m) for m in modules]
    text = table(scores)
    print(text, end="")
    for s in scores:
        for name in s.survivors:
            print(f"  survivor {s.module}: {name}")
    for line in failed:
        print(line, file=sys.stderr)
    if args.summary:
        with args.summary.open("a", encoding="utf-8") as out:
            out.write("## Mutation score per module (unit tests only)\n\n" + text + "\n")
    if args.json:
        args.json.write_text(json.dumps({
            "modules": [{"module": s.module, "killed": s.killed, "timeout": s.timeout, "survived": s.survived,
                         "no_tests": s.no_tests, "other": s.other, "not_checked": s.not_checked,
                         "score": round(s.percent, 1),
                         "survivors": [{"name": n, "diff": show(s.module, n)} for n in s.survivors]}
                        for s in scores]}, indent=2) + "\n", encoding="utf-8")
    low = [s for s in scores if args.fail_under is not None and (not s.checked or s.percent < args.fail_under)]
    for s in low:
        print(f"{s.module}: {s.percent:.1f} % is under {args.fail_under:g} %", file=sys.stderr)
    return 1 if failed or low else 0


if __name__ == "__main__":
    sys.exit(main())
