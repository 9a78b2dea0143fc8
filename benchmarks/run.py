"""`make bench`: measure chconform against the engine's own floor and write benchmarks/RESULTS.md.

Every figure is a ratio or a per-unit cost measured side by side in this one
run (the floor and the check alternate, repeat after repeat), reported as the
median with min and max over the repeats. Generated schemas are written to a
temp dir and removed afterwards.

Usage: .venv/bin/python benchmarks/run.py [--repeats N] [--quick] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import generate
from benchmarks.measure import Measured, measure
from chconform.engines.releases import NEWEST, get_release, installation  # noqa: E402

PRODUCTION = "24.8"  # this repository's `engine`: production's ClickHouse release

PY = sys.executable
MIB = 1 << 20
# (tables, files): the grid, where every file holds at least one table.
SHAPES = ((10, 7), (100, 7), (100, 50), (1000, 7), (1000, 50), (1000, 200))
QUICK_SHAPES = ((10, 7), (100, 50))
INSTANCES = 30
SUITE = '''"""One test per configured source (the chconform pytest plugin parametrises it)."""


def test_source_conforms(chconform_session, chconform_source):
    result = chconform_session.result(chconform_source)
    assert result.ok, (chconform_source, result.errors[:3], result.differences[:3], result.missing_tables)
'''
Log = Callable[[str], None]


@dataclass(frozen=True)
class Stat:
    """Median with min and max over the repeats."""

    values: tuple[float, ...] = ()

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def show(self, fmt: str = "{:.2f}", scale: float = 1.0) -> str:
        if not self.values:
            return "not measured"
        lo, mid, hi = (fmt.format(v / scale) for v in (min(self.values), self.median, max(self.values)))
        return mid if len(self.values) == 1 else f"{mid} ({lo}–{hi})"


def stat(values: Sequence[float]) -> Stat:
    return Stat(tuple(values))


@dataclass(frozen=True)
class Case:
    """A schema measured: the repository's own, or a generated one, on one ClickHouse release."""

    name: str
    config: Path
    tables: int | None  # None: the repository
    files: int
    statements: int  # per round, as chconform runs them (and the floor does)
    plan: Path
    engine: str = "26.9"  # `chconform check --engine`; the floor runs the same release
    floor_env: tuple[tuple[str, str], ...] = ()  # PYTHONPATH of an isolated release's installation
    floor_flags: tuple[str, ...] = ()  # --process-per-source for a release that hosts one session per process

    def floor(self, *extra: str) -> list[str]:
        return [PY, str(ROOT / "benchmarks" / "floor.py"), str(self.plan), *self.floor_flags, *extra]

    def env(self) -> dict[str, str]:
        return {**os.environ, **dict(self.floor_env)}

    def check(self, *extra: str) -> list[str]:
        return chconform("check", "--config", str(self.config), "--engine", self.engine, *extra)


@dataclass
class Figures:
    """Everything measured on one case."""

    floor: Stat = Stat()
    floor_nofsync: Stat = Stat()
    check: Stat = Stat()
    ratio: Stat = Stat()
    ratio_nofsync: Stat = Stat()
    cpu_ratio: Stat = Stat()
    check_rss: Stat = Stat()
    floor_phases: dict[str, Stat] = field(default_factory=dict)
    validate: Stat = Stat()
    validate_rss: Stat = Stat()
    pytest2: Stat = Stat()
    pytest2_rss: Stat = Stat()
    pytest0: Stat = Stat()
    busy0: Stat = Stat()
    busy2: Stat = Stat()
    speedup: Stat = Stat()
    speedup_bound: Stat = Stat()
    sandbox: str = "?"


def chconform(*args: str) -> list[str]:
    return [PY, "-m", "chconform", *args]


def run_ok(cmd: list[str], what: str, env: dict[str, str] | None = None) -> Measured:
    m = measure(cmd, env=env)
    if m.returncode != 0:
        tail = (m.stderr or m.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"bench: {what} failed with exit code {m.returncode}: " + " | ".join(tail))
    return m


def write_plan(config_file: Path, dest: Path) -> int:
    """The statements `chconform check` would run (prelude + what the policy lets through), for floor.py."""
    from chconform.config import load_config
    from chconform.gate.policy import gate
    from chconform.checks.run import load_source
    from chconform.schema.snapshot import snapshot_query
    from chconform.sql.source import split_statements

    config = load_config(config_file)
    sources = [[s.text for s in load_source(spec).statements if gate(s, False).action == "run"]
               for spec in config.sources]
    plan = {
        "prelude": [s.text for text in config.prelude for s in split_statements(text)],
        "sources": sources,
        "queries": [snapshot_query(n) for n in ("databases", "tables", "columns", "indices")],
    }
    dest.write_text(json.dumps(plan), encoding="utf-8")
    return sum(len(s) for s in sources)


def environment() -> dict[str, str]:
    probe = subprocess.run([PY, "-c", "import chdb, json; print(json.dumps([chdb.__version__, chdb.engine_version]))"],
                           capture_output=True, text=True, check=True)
    chdb_version, engine = json.loads(probe.stdout)
    production = installation(get_release(PRODUCTION))
    probe = subprocess.run([PY, "-c", "import chdb, json; print(json.dumps([chdb.__version__, chdb.engine_version]))"],
                           capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": production or ""})
    old_version, old_engine = json.loads(probe.stdout)
    return {
        "CPUs": str(os.cpu_count()),
        "Python": platform.python_version(),
        "chDB (chdb-core)": chdb_version,
        "ClickHouse": engine,
        f"ClickHouse {PRODUCTION} (production's; chdb {old_version}, installed apart)": old_engine,
        "OS": f"{platform.system()} {platform.release()} {platform.machine()}",
    }


def validate_available() -> bool:
    return subprocess.run(chconform("validate", "--help"), capture_output=True, check=False).returncode == 0


def pytest_cmd(suite: Path, config: Path, workers: int) -> list[str]:
    return [PY, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider", "-c", str(suite.parent / "pytest.ini"),
            "--rootdir", str(suite.parent), "-n", str(workers), "--dist", "loadgroup",
            "--chconform-config", str(config)]


def measure_case(case: Case, suite: Path, repeats: int, validate: bool, log: Log) -> Figures:
    """Floor and check alternate (one ratio per repeat); then validate and pytest -n 2 (and -n 0 at 50 files)."""
    lists: dict[str, list[float]] = {}
    phases: dict[str, list[float]] = {}
    sandbox = "?"

    def add(key: str, value: float) -> None:
        lists.setdefault(key, []).append(value)

    for _ in range(repeats):
        f = run_ok(case.floor(), f"floor on {case.name}", case.env())
        n = run_ok(case.floor("--no-fsync"), f"floor on {case.name}", case.env())
        c = run_ok(case.check("--format", "json", "--no-cache"), f"check on {case.name}")
        report = json.loads(c.stdout)
        if not report["ok"]:
            raise SystemExit(f"bench: {case.name} does not conform; the benchmark measures conforming schemas")
        sandbox = str(report.get("sandbox", "?"))
        for key, value in json.loads(f.stdout).items():
            phases.setdefault(key, []).append(value)
        add("floor", f.wall_s)
        add("floor_nofsync", n.wall_s)
        add("check", c.wall_s)
        add("ratio", c.wall_s / f.wall_s)
        add("ratio_nofsync", c.wall_s / n.wall_s)
        add("cpu_ratio", c.cpu_s / f.cpu_s)
        add("check_rss", c.peak_rss)
        line = (f"floor {f.wall_s:.2f}s (no fsync {n.wall_s:.2f}s), check {c.wall_s:.2f}s "
                f"({c.wall_s / f.wall_s:.2f}×, {c.peak_rss / MIB:.0f} MiB)")
        if validate:
            v = run_ok(chconform("validate", "--config", str(case.config)), f"validate on {case.name}")
            add("validate", v.wall_s)
            add("validate_rss", v.peak_rss)
            line += f", validate {v.wall_s:.2f}s"
        if case.tables is not None:
            p2 = run_ok(pytest_cmd(suite, case.config, 2), f"pytest -n 2 on {case.name}")
            add("pytest2", p2.wall_s)
            add("pytest2_rss", p2.peak_rss)
            line += f", pytest -n 2 {p2.wall_s:.2f}s ({p2.peak_rss / MIB:.0f} MiB)"
            if case.files == 50:
                p0 = run_ok(pytest_cmd(suite, case.config, 0), f"pytest -n 0 on {case.name}")
                add("pytest0", p0.wall_s)
                add("busy0", p0.cpu_s / p0.wall_s)
                add("busy2", p2.cpu_s / p2.wall_s)
                add("speedup", p0.wall_s / p2.wall_s)
                add("speedup_bound", p0.wall_s / (p2.cpu_s / (os.cpu_count() or 1)))
                line += f", pytest -n 0 {p0.wall_s:.2f}s ({p0.wall_s / p2.wall_s:.2f}×)"
        log(f"  {case.name}: {line}")
    figures = Figures(**{k: stat(v) for k, v in lists.items()}, sandbox=sandbox)  # type: ignore[arg-type]
    figures.floor_phases = {k.removesuffix("_s"): stat(v) for k, v in phases.items() if k.endswith("_s")}
    return figures


def repository_copy(dest: Path, engine: str) -> Path:
    """infra/clickhouse copied to `dest` with a chconform.toml of the repository's sources on `engine`."""
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["chconform"]
    shutil.copytree(ROOT / conf["root"], dest, ignore=shutil.ignore_patterns("data", "logs", ".env"))
    lines = ['root = "."', f"engine = {json.dumps(engine)}"]
    lines += [f"{k} = {json.dumps(conf[k])}" for k in ("canonical", "prelude", "key_tables", "timeout_s") if k in conf]
    for src in conf["source"]:
        lines += ["", "[[source]]", *(f"{k} = {json.dumps(v)}" for k, v in src.items())]
    config = dest / "chconform.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def touch(file: Path, n: int) -> None:
    """A change to a source's bytes that changes nothing it builds (a comment)."""
    with file.open("a", encoding="utf-8") as fh:
        fh.write(f"\n-- benchmark edit {n}\n")


def measure_cache(work: Path, engine: str, repeats: int, log: Log) -> dict[str, Stat]:
    """On a copy of the repository: a full run, an unchanged re-run, one changed source, the canon changed."""
    config = repository_copy(work / f"cache_repo_{engine}", engine)
    cache = work / f"cache_{engine}"
    out: dict[str, list[float]] = {}

    def check(what: str, *extra: str) -> Measured:
        m = run_ok(chconform("check", "--config", str(config), "--cache-dir", str(cache), "--format", "json", *extra),
                   f"{what} on {engine}")
        report = json.loads(m.stdout)
        if not report["ok"]:
            raise SystemExit(f"bench: the repository copy does not conform on {engine} ({what})")
        out.setdefault(what, []).append(m.wall_s)
        out.setdefault(what + "_cpu", []).append(m.cpu_s)
        return m

    for n in range(repeats):
        shutil.rmtree(cache, ignore_errors=True)
        full = check("full")
        for _ in range(3):  # the re-run is short: three of them per repeat
            check("unchanged")
        touch(config.parent / "init.sql", n)
        one = check("one_changed")
        touch(config.parent / "bootstrap_schema.sql", n)
        check("canon_changed")
        out.setdefault("one_share", []).append(one.wall_s / full.wall_s)
        log(f"  cache on {engine}: full {full.wall_s:.2f}s, unchanged {out['unchanged'][-1]:.2f}s, "
            f"one changed {one.wall_s:.2f}s, canon changed {out['canon_changed'][-1]:.2f}s")
    return {k: stat(v) for k, v in out.items()}


def measure_matrix(repo: Path, releases: tuple[str, ...], repeats: int, log: Log) -> dict[str, Stat]:
    """A matrix of releases against each release alone, alternating (so the load hits them alike)."""
    out: dict[str, list[float]] = {}
    for _ in range(repeats):
        alone = 0.0
        for release in releases:
            m = run_ok(chconform("check", "--config", str(repo), "--engine", release, "--no-cache", "-q"),
                       f"check on {release}")
            out.setdefault(release, []).append(m.wall_s)
            alone += m.wall_s
        engines = [a for r in releases for a in ("--engine", r)]
        m = run_ok(chconform("check", "--config", str(repo), *engines, "--no-cache", "-q"), "matrix check")
        out.setdefault("matrix", []).append(m.wall_s)
        out.setdefault("sum", []).append(alone)
        out.setdefault("ratio", []).append(m.wall_s / alone)
        log(f"  matrix {'+'.join(releases)}: {m.wall_s:.2f}s vs alone {alone:.2f}s ({m.wall_s / alone:.2f}×)")
    return {k: stat(v) for k, v in out.items()}


def measure_lexing(log: Log) -> list[tuple[str, Stat, Stat]]:
    """The parent's lexing (tokenize, split_statements) on 1 and 4 MiB of each hostile shape: time per MiB."""
    m = run_ok([PY, str(ROOT / "benchmarks" / "lexing.py")], "lexing")
    rows = [(name, stat(small), stat(growth)) for name, small, growth in json.loads(m.stdout)]
    for name, small, growth in rows:
        log(f"  lexing {name}: {small.median:.3f} s/MiB, 4× input {growth.median:.2f}× time")
    return rows


def instance_overhead(config: Path) -> dict[str, Stat]:
    m = run_ok([PY, str(ROOT / "benchmarks" / "instances.py"), str(config), str(INSTANCES)], "instance overhead")
    return {k: stat(v) for k, v in json.loads(m.stdout).items()}


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**missed**")


def render(env: dict[str, str], cases: list[Case], figs: dict[str, Figures], inst: dict[str, Stat],
           repeats: int, validate: bool, elapsed: float, cached: dict[str, Stat], matrix: dict[str, Stat],
           lexing: list[tuple[str, Stat, Stat]]) -> str:
    sandbox = ", ".join(sorted({f.sandbox for f in figs.values()}))
    out = ["# chconform benchmark results", "",
           f"Regenerated by `make bench` (`.venv/bin/python benchmarks/run.py`) in {elapsed / 60:.0f} min. "
           f"Every figure: median (min–max) over {repeats} repeats, measured side by side in this one run "
           "(floor and check alternate, so load on the machine hits both alike).", "",
           "| Machine | |", "|---|---|", *(f"| {k} | {v} |" for k, v in env.items()),
           f"| Sandbox while measuring | {sandbox} (every hardening layer on) |", ""]
    out += ratio_section(cases, figs)
    out += cache_section(cached, figs.get(f"repository, {PRODUCTION} (production)"))
    out += matrix_section(matrix)
    out += instance_section(inst)
    out += scaling_section(cases, figs, validate)
    out += targets_section(cases, figs, validate)
    out += speedup_section(cases, figs)
    out += lexing_section(lexing)
    out += ["## How it is measured", "",
            "- Floor: `benchmarks/floor.py`, chDB alone in one process (interpreter start and chDB import "
            "included), for every source a session in a fresh directory, the prelude and every statement "
            "chconform runs applied twice with the four snapshot queries (`src/chconform/schema/queries/*.sql`) after each "
            "round; no chconform code; chDB's defaults. Check: `chconform check --format json --no-cache --engine "
            "RELEASE` (jobs = CPUs). Both are the wall time of a process this harness starts; the CPU ratio is "
            "the user + system seconds of the check's process tree over the floor's.",
            f"- On {PRODUCTION} (chdb 3.3.0) a process hosts one engine session: a second one hangs dropping a "
            "materialized view (`Release.reuse_sessions`). So its floor runs every source in a process of its "
            "own, one after another (`floor.py --process-per-source`), each importing chDB, and chconform starts "
            "a worker per source (a spare per job started beside the running sources).",
            "- Interpreters run as users run them: bytecode written (PYTHONDONTWRITEBYTECODE is removed from the "
            "harness's environment, so a start reads compiled modules instead of compiling them).",
            "- chconform's throwaway engines set `fsync_metadata = 0` (no durability needed). The ratio to a "
            "floor doing the same (`floor.py --no-fsync`) is shown beside the target ratio: chconform's overhead "
            "apart from that setting.",
            "- Schemas: `benchmarks/generate.py`: a canonical dump with every table (a view per 5 tables, a "
            "materialized view per 10), the other files re-defining a slice each (every 4th a migration that drops "
            "and re-creates); all conform.",
            "- Peak RSS: the sum of the resident sets of the command and all its descendants (engine workers, "
            "pytest-xdist workers), sampled every 10 ms from /proc (new processes found every 100 ms). Each "
            "engine worker maps chDB's 530 MiB "
            "library; the pages of it that count as resident (220-350 MiB per worker here) depend on the page "
            "cache, so a fresh install reads higher than a warm one.",
            "- `pytest -n 2` / `-n 0`: a one-test module run once per source through the plugin's "
            "`chconform_source` parametrisation (`--chconform-config`), `--dist loadgroup`.", ""]
    return "\n".join(out)


def ratio_section(cases: list[Case], figs: dict[str, Figures]) -> list[str]:
    out = ["## Ratio to the engine's floor", "",
           "| Schema | Release | Tables | Files | Statements per round | Floor s | `chconform check` s | Ratio | Target "
           "| | Floor without fsync s | Ratio to it | CPU ratio |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for case in cases:
        f = figs[case.name]
        target = 1.3 if case.tables is None else 1.2 if (case.tables, case.files) == (1000, 50) else None
        shown = f"≤ {target}" if target else "—"
        met = verdict(f.ratio.median <= target) if target else ""
        out.append(f"| {case.name} | {case.engine} | {case.tables or '—'} | {case.files} | {case.statements} | "
                   f"{f.floor.show()} | {f.check.show()} | {f.ratio.show()} | {shown} | {met} | "
                   f"{f.floor_nofsync.show()} | {f.ratio_nofsync.show()} | {f.cpu_ratio.show()} |")
    out += ["", "Where the floor's time goes (median s): " + "; ".join(
        f"{case.name}: " + ", ".join(f"{k} {v.median:.2f}" for k, v in figs[case.name].floor_phases.items()
                                     if k != "total") for case in cases), ""]
    return out


def cache_section(cached: dict[str, Stat], full: Figures | None) -> list[str]:
    """The result cache on a copy of the repository (its production release)."""
    if not cached:
        return []
    rows = (("a first run, empty cache", "full", None),
            ("an unchanged re-run", "unchanged", 0.35),
            ("one source changed (a comment appended to init.sql)", "one_changed", None),
            ("the canon changed (a comment appended to bootstrap_schema.sql)", "canon_changed", None))
    out = ["## Result cache", "",
           f"`chconform check` on a copy of the repository's sources ({PRODUCTION}) with its own `--cache-dir`: "
           "a first run fills it; then three unchanged re-runs, one source changed, the canon changed (each "
           "repeat starts from an empty cache). A changed source is applied again; a changed canon is applied "
           "again and every comparison redone (the other sources' builds stay cached).", "",
           "| Run | wall s | CPU s | Target | |", "|---|---:|---:|---:|---|"]
    for label, key, target in rows:
        if key in cached:
            met = verdict(cached[key].median <= target) if target else ""
            out.append(f"| {label} | {cached[key].show()} | {cached[key + '_cpu'].show()} | "
                       f"{'≤ ' + str(target) + ' s' if target else ''} | {met} |")
    if "one_share" in cached:
        out.append(f"| one source changed, as a share of the first run | {cached['one_share'].show()} | | | |")
    if full is not None:
        out.append(f"| (the same check with `--no-cache`, from the ratio table) | {full.check.show()} | | | |")
    return out + [""]


def matrix_section(matrix: dict[str, Stat]) -> list[str]:
    if not matrix:
        return []
    releases = [k for k in matrix if k not in ("matrix", "sum", "ratio")]
    out = ["## A matrix of releases", "",
           f"`chconform check --engine {' --engine '.join(releases)} --no-cache` on the repository against each "
           "release alone (`--engine R --no-cache`), alternating.", "",
           "| Releases | " + " | ".join(f"{r} alone s" for r in releases) + " | sum s | matrix s | matrix / sum | "
           "Target | |", "|---|" + "---:|" * len(releases) + "---:|---:|---:|---:|---|",
           f"| {' + '.join(releases)} | " + " | ".join(matrix[r].show() for r in releases) +
           f" | {matrix['sum'].show()} | {matrix['matrix'].show()} | {matrix['ratio'].show()} | ≤ 1.1 | "
           f"{verdict(matrix['ratio'].median <= 1.1)} |", ""]
    return out


def lexing_section(rows: list[tuple[str, Stat, Stat]]) -> list[str]:
    if not rows:
        return []
    out = ["## The parent's lexing", "",
           "`benchmarks/lexing.py`: `tokenize` and `split_statements` on 256 KiB and 1 MiB of each hostile shape. "
           "Linear: 4× the input costs about 4× the time (a quadratic lexer would show 16×).", "",
           "| Input | s per MiB | time growth for 4× input | Target | |", "|---|---:|---:|---:|---|"]
    for name, per, growth in rows:
        out.append(f"| {name} | {per.show('{:.3f}')} | {growth.show()}× | ≤ 6× | {verdict(growth.median <= 6)} |")
    return out + [""]


def instance_section(inst: dict[str, Stat]) -> list[str]:
    labels = {
        "critical_ms": ("waiting for a fresh instance + releasing it (critical path)", 50.0),
        "wait_ms": ("waiting for a fresh instance", None),
        "release_ms": ("releasing it", None),
        "session_ms": ("ending a session and opening a fresh one in a running worker (background)", None),
        "cold_worker_ms": ("a worker from nothing: process, chDB import, sandbox, session (background)", None),
    }
    out = ["## Per-instance overhead", "",
           f"`benchmarks/instances.py`: one backend hands out {INSTANCES} fresh instances one after another, "
           "each applying a repository source once (so pre-started workers get ready, as in a run).", "",
           "| Per instance | ms | Target | |", "|---|---:|---:|---|"]
    for key, (label, target) in labels.items():
        if key in inst:
            met = verdict(inst[key].median <= target) if target else ""
            out.append(f"| {label} | {inst[key].show('{:.1f}')} | {'≤ ' + str(int(target)) if target else ''} | "
                       f"{met} |")
    return out + [""]


def scaling_section(cases: list[Case], figs: dict[str, Figures], validate: bool) -> list[str]:
    out = ["## Scaling", "",
           "| Tables | Files | Statements | check s | check ms/stmt | floor ms/stmt | check peak MiB | validate s "
           "| validate peak MiB | pytest -n 2 s | pytest -n 2 peak MiB |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for case in cases:
        f = figs[case.name]
        per = stat([v * 1000 / case.statements for v in f.check.values])
        floor_per = stat([v * 1000 / case.statements for v in f.floor.values])
        v = f.validate.show() if validate else "not measured"
        vr = f.validate_rss.show("{:.0f}", MIB) if validate else "not measured"
        p2 = f.pytest2.show() if f.pytest2.values else "—"
        p2r = f.pytest2_rss.show("{:.0f}", MIB) if f.pytest2.values else "—"
        out.append(f"| {case.tables or case.name} | {case.files} | {case.statements} | {f.check.show()} | "
                   f"{per.show()} | {floor_per.show()} | {f.check_rss.show('{:.0f}', MIB)} | {v} | {vr} | {p2} | "
                   f"{p2r} |")
    return out + [""]


def targets_section(cases: list[Case], figs: dict[str, Figures], validate: bool) -> list[str]:
    by = {(c.tables, c.files): figs[c.name] for c in cases}
    out = ["| Growth, memory, static validator | Measured | Target | |", "|---|---:|---:|---|"]
    for files in (7, 50):
        small, big = by.get((100, files)), by.get((1000, files))
        if small and big:
            time_growth = big.check.median / small.check.median
            rss_growth = big.check_rss.median / small.check_rss.median
            out.append(f"| check time, 1000 vs 100 tables over {files} files | {time_growth:.1f}× | ≤ 10× | "
                       f"{verdict(time_growth <= 10)} |")
            out.append(f"| check peak RSS, 1000 vs 100 tables over {files} files | {rss_growth:.1f}× | ≤ 10× | "
                       f"{verdict(rss_growth <= 10)} |")
    big = by.get((1000, 200))
    if big:
        peak = big.pytest2_rss.median / MIB
        out.append(f"| peak RSS, `pytest -n 2`, 1000 tables / 200 files | {peak:.0f} MiB | ≤ 2048 MiB | "
                   f"{verdict(peak <= 2048)} |")
    for label, key, limit in (("the repository", (None, 7), 0.5), ("1000 tables / 200 files", (1000, 200), 10.0)):
        f = by.get(key)
        if f is None:
            continue
        if not validate:
            out.append(f"| `chconform validate`, {label} | not measured (no `validate` command) | ≤ {limit} s | "
                       "not measured |")
        else:
            out.append(f"| `chconform validate`, {label} | {f.validate.median:.2f} s | ≤ {limit} s | "
                       f"{verdict(f.validate.median <= limit)} |")
    return out + [""]


def speedup_section(cases: list[Case], figs: dict[str, Figures]) -> list[str]:
    out = ["## Parallel speed-up on 50 sources", "",
           "Busy: CPU seconds (user + system, whole process tree) per wall second, 2 at most. Bound: the speed-up "
           "`-n 2` would reach with every CPU busy all along for the CPU time it used (wall of `-n 0` / (CPU of "
           "`-n 2` / CPUs)).", "",
           "| Schema | pytest -n 0 s | busy | pytest -n 2 s | busy | Speed-up | Bound | Target | |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for case in cases:
        f = figs[case.name]
        if f.speedup.values:
            out.append(f"| {case.name} | {f.pytest0.show()} | {f.busy0.show()} | {f.pytest2.show()} | "
                       f"{f.busy2.show()} | {f.speedup.show()} | {f.speedup_bound.show()} | ≥ 1.6 | "
                       f"{verdict(f.speedup.median >= 1.6)} |")
    return out + [""]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3, help="repeats of every measurement (default 3)")
    parser.add_argument("--quick", action="store_true", help="only the repository and two small schemas")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args(argv)
    started = time.monotonic()

    def log(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # time what users see: compiled modules read, not rebuilt
    load_before = os.getloadavg()
    env = environment()
    validate = validate_available()
    log(f"{env}; chconform validate {'available' if validate else 'not available: not measured'}")
    work = Path(tempfile.mkdtemp(prefix="chconform-bench-"))
    try:
        suite = work / "suite" / "test_bench_sources.py"
        suite.parent.mkdir()
        suite.write_text(SUITE, encoding="utf-8")
        (suite.parent / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        repo = ROOT / "pyproject.toml"
        statements = write_plan(repo, work / "repo.json")
        production = ("PYTHONPATH", str(installation(get_release(PRODUCTION)) or ""))
        cases = [Case(f"repository, {PRODUCTION} (production)", repo, None, 7, statements, work / "repo.json",
                      PRODUCTION, (production,), ("--process-per-source",)),
                 Case(f"repository, {NEWEST}", repo, None, 7, statements, work / "repo.json", NEWEST)]
        for tables, files in QUICK_SHAPES if args.quick else SHAPES:
            shape = generate(work / f"gen_{tables}_{files}", tables, files)
            plan = work / f"gen_{tables}_{files}.json"
            cases.append(Case(f"{tables} tables / {files} files", shape.config, tables, files,
                              write_plan(shape.config, plan), plan, NEWEST))
        log(f"per-instance overhead ({INSTANCES} instances)")
        inst = instance_overhead(repo)
        figs: dict[str, Figures] = {}
        for case in cases:
            log(f"{case.name} ({case.statements} statements per round)")
            figs[case.name] = measure_case(case, suite, args.repeats, validate, log)
        log(f"result cache on {PRODUCTION}")
        cached = measure_cache(work, PRODUCTION, args.repeats, log)
        log(f"matrix {PRODUCTION} + {NEWEST}")
        matrix = measure_matrix(repo, (PRODUCTION, NEWEST), args.repeats, log)
        log("the parent's lexing")
        lexing = measure_lexing(log)
        env["Load average (1 min) at start / end"] = f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f}"
        text = render(env, cases, figs, inst, args.repeats, validate, time.monotonic() - started,
                      cached, matrix, lexing)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
