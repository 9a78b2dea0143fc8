"""The package's shape: every module imports on a core install, no import cycle, data flows one way through the
layers (docs/ARCHITECTURE.md), and the package names no repository it serves."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "chconform"

# Lowest first. A module may import its own layer and the layers before it, never one after it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("model", "errors")),
    ("sql", ("sql",)),
    ("gate", ("gate",)),
    ("config", ("config",)),
    ("engines", ("engines",)),
    ("schema", ("schema",)),
    ("checks", ("checks",)),
    ("plan", ("plan",)),
    ("reports", ("reports",)),
    ("evidence", ("evidence",)),
    ("edge", ("", "__main__", "cli", "commands", "api", "pytest_plugin")),  # "": the package itself
)
BASE = {f"{PACKAGE}.{name}" for name in LAYERS[0][1]}


def modules() -> dict[str, Path]:
    out = {}
    for file in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(file.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = file
    return out


def imports(name: str, file: Path, known: set[str]) -> set[str]:
    """Every chconform module `name` imports, at module level or inside a function (both are a dependency)."""
    is_package = file.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in known else module)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, file, set(mods)) for name, file in mods.items()}


def layer_of(module: str) -> int:
    rest = module[len(PACKAGE) + 1:] if module != PACKAGE else ""
    top = rest.split(".", 1)[0]
    for rank, (_, names) in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"{module}: in no layer of tests/unit/test_layers.py; add its folder to LAYERS")


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("module", sorted(m for m in modules() if not m.endswith("__main__")))  # __main__ runs
def test_every_module_imports(module: str) -> None:
    importlib.import_module(module)


# What a core install (`pip install chconform`) lacks: the [docker], [pytest] and [test] extras.
EXTRAS = ("docker", "testcontainers", "clickhouse_connect", "pytest", "xdist", "_pytest")
_BLOCKED_IMPORT = """
import importlib, sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {extras!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (a core install)", name=name)
        return None
sys.meta_path.insert(0, Blocked())
failed = []
for module in {modules!r}:
    try:
        importlib.import_module(module)
    except Exception as exc:
        failed.append(f"{{module}}: {{exc!r}}")
print("\\n".join(failed))
"""


def core_import_failures(names: list[str]) -> list[str]:
    """Modules that fail to import in a fresh interpreter where the extras cannot be imported."""
    import subprocess
    import sys

    code = _BLOCKED_IMPORT.format(extras=set(EXTRAS), modules=names)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True,
                          cwd=SRC)
    return [line for line in done.stdout.splitlines() if line]


def test_every_module_but_the_pytest_plugin_imports_on_a_core_install() -> None:
    names = sorted(m for m in modules() if not m.endswith(("__main__", "pytest_plugin")))
    assert core_import_failures(names) == []


def test_the_core_install_check_sees_a_module_that_needs_an_extra() -> None:
    assert len(core_import_failures(["chconform.pytest_plugin"])) == 1  # it imports pytest at the top


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# Known upward imports, each with why it is there and what would remove it. A new one fails the test below.
ALLOWED_UPWARD = {
    # [rules] names are checked when the configuration loads, against the registries that own the ids (rule
    # functions, report rules, snapshot aspects); imported inside config._rules only. To remove: one base-layer
    # catalogue of finding ids that those three modules build their tables from.
    "chconform.config -> chconform.checks.rules": "[rules] ids and severities",
    "chconform.config -> chconform.reports.findings": "[rules] ids of reported findings",
    "chconform.config -> chconform.schema.compare": "[rules] ids that are snapshot aspects",
}


def upward_imports(g: dict[str, set[str]]) -> list[str]:
    """A leaf (a module importing nothing of the package but the base) may serve any layer: nothing flows back."""
    leaves = {m for m, deps in g.items() if deps <= BASE}
    return sorted(f"{m} -> {d}" for m, deps in g.items() for d in deps if layer_of(d) > layer_of(m) and d not in leaves)


def test_data_flows_one_way_through_the_layers() -> None:
    assert [edge for edge in upward_imports(graph()) if edge not in ALLOWED_UPWARD] == []


def test_the_layer_check_catches_an_upward_import() -> None:
    assert layer_of("chconform.schema.snapshot") < layer_of("chconform.checks.run")
    fake = {"chconform.schema.snapshot": {"chconform.checks.run"}, "chconform.checks.run": {"chconform.sql.source"},
            "chconform.sql.source": {"chconform.errors"}, "chconform.errors": set()}
    assert upward_imports(fake) == ["chconform.schema.snapshot -> chconform.checks.run"]
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("chconform.newthing.x")


def test_the_package_names_no_repository_it_serves() -> None:
    """Zakaz is this repository's configuration (pyproject.toml), never the package's."""
    pattern = re.compile(r"zakaz|qtickets|meta_job_runs", re.IGNORECASE)
    hits = [f"{f.relative_to(SRC)}:{n}" for f in sorted((SRC / PACKAGE).rglob("*")) if f.is_file()
            and f.suffix in (".py", ".sql", ".toml", ".md", ".txt", ".json")
            for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if pattern.search(line)]
    assert hits == []
