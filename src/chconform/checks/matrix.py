"""The engine matrix: one conformance run per ClickHouse release, and what differs between the releases.

An upgrade (or a downgrade to production's release) changes what ClickHouse accepts and what it builds.
Each release gets the same check; then, from those runs alone (pure), the matrix finds
  * statements whose outcome differs: "applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS): …";
  * sources that build a different schema on one release than on another, where both applied cleanly
    (snapshots compared across releases: the same SQL must compare identical unless it means something else).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chconform.checks.run import AppliedSource, RunResult, StatementError, apply_source, finish_source
from chconform.config import Config
from chconform.engines.base import Backend
from chconform.model import Difference, Snapshot
from chconform.schema.compare import compare

__all__ = ["ReleaseRun", "Divergence", "BuildDivergence", "MatrixResult", "run_matrix", "divergences",
           "build_divergences", "outcome_text"]

APPLIES = "applies"


@dataclass(frozen=True)
class ReleaseRun:
    """One release's check, with the round-1 snapshot of each source (to compare across releases)."""

    release: str  # "24.8"
    result: RunResult
    snapshots: tuple[tuple[str, Snapshot | None], ...] = ()
    duration_s: float = 0.0

    def snapshot(self, path: str) -> Snapshot | None:
        return dict(self.snapshots).get(path)


@dataclass(frozen=True)
class Divergence:
    """A statement whose outcome differs between releases: per release "applies" or the error."""

    source: str
    line: int
    round: int
    statement: str
    outcomes: tuple[tuple[str, str], ...]  # (release, "applies" | "Code 36 (BAD_ARGUMENTS): …"), in run order

    @property
    def summary(self) -> str:
        """ "applies on 24.8; fails on 26.9 with Code 36 (BAD_ARGUMENTS): …" """
        parts = [f"applies on {r}" if o == APPLIES else f"fails on {r} with {o}" for r, o in self.outcomes]
        return "; ".join(parts)


@dataclass(frozen=True)
class BuildDivergence:
    """A source that applied cleanly on two releases and built different schemas."""

    source: str
    base: str  # the release compared against (the first of the matrix)
    other: str
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class MatrixResult:
    runs: tuple[ReleaseRun, ...]
    divergences: tuple[Divergence, ...]
    build_divergences: tuple[BuildDivergence, ...]

    @property
    def ok(self) -> bool:
        """Every release's verdict is a pass (divergences are reported, and fail only through a verdict)."""
        return all(run.result.ok for run in self.runs)

    @property
    def releases(self) -> tuple[str, ...]:
        return tuple(run.release for run in self.runs)


def outcome_text(error: StatementError) -> str:
    head = f"Code {error.code} ({error.name})" if error.code is not None else str(error.name or "error")
    return f"{head}: {error.message}"


def _stopped_at(run: RunResult, path: str) -> tuple[int, int] | None:
    """(round, line) where a source's rounds stopped (timeout, crash, unreadable): nothing after it ran."""
    for source in run.sources:
        if source.path == path:
            for error in source.errors:
                if error.name in ("TIMEOUT", "ENGINE_CRASHED", "UNREADABLE"):
                    return error.round, error.line
    return None


def divergences(runs: Sequence[tuple[str, RunResult]]) -> tuple[Divergence, ...]:
    """Statements (source, round, line) whose outcome is not the same on every release (pure)."""
    keyed: dict[tuple[str, int, int], dict[str, StatementError]] = {}
    texts: dict[tuple[str, int, int], str] = {}
    for release, run in runs:
        for source in run.sources:
            for error in source.errors:
                if error.line <= 0 or error.source != source.path:
                    continue  # a prelude's or a snapshot's error is not a statement of this source
                key = (source.path, error.round, error.line)
                keyed.setdefault(key, {})[release] = error
                texts.setdefault(key, error.statement)
    found: list[Divergence] = []
    for key, errors in sorted(keyed.items()):
        path, round_no, line = key
        outcomes: list[tuple[str, str]] = []
        for release, run in runs:
            if release in errors:
                outcomes.append((release, outcome_text(errors[release])))
                continue
            stop = _stopped_at(run, path)
            if stop is not None and stop <= (round_no, line):
                outcomes.append((release, "did not run (the source stopped earlier)"))
            else:
                outcomes.append((release, APPLIES))
        if len({_class(o) for _, o in outcomes}) > 1:
            found.append(Divergence(path, line, round_no, texts[key], tuple(outcomes)))
    return tuple(found)


def _class(outcome: str) -> str:
    """What must agree across releases: applies, fails or did not run (releases renumber and reword errors:
    24.8's INCORRECT_QUERY is 26.9's BAD_ARGUMENTS for the same refusal)."""
    return outcome if outcome == APPLIES or outcome.startswith("did not run") else "fails"


def build_divergences(runs: Sequence[ReleaseRun]) -> tuple[BuildDivergence, ...]:
    """Sources that applied with no error on the first release and another, yet built different schemas."""
    if len(runs) < 2:
        return ()
    base = runs[0]
    clean = {r.release: {s.path for s in r.result.sources if not s.errors} for r in runs}
    found: list[BuildDivergence] = []
    for other in runs[1:]:
        for path, snap in base.snapshots:
            theirs = other.snapshot(path)
            if snap is None or theirs is None or path not in clean[base.release] or path not in clean[other.release]:
                continue
            diffs = compare(snap, theirs)
            if diffs:
                found.append(BuildDivergence(path, base.release, other.release, tuple(diffs)))
    return tuple(found)


def run_release(config: Config, backend: Backend, release: str, jobs: int = 2, only: list[str] | None = None,
                progress: Callable[[str, float], None] | None = None) -> ReleaseRun:
    """`run_check` on one release's backend, keeping each source's round-1 snapshot."""
    started = time.monotonic()
    canon = config.canonical_source
    others = [s for s in config.sources if s.path != config.canonical and (only is None or s.path in only)]
    reserve = getattr(backend, "reserve", None)
    if callable(reserve):
        count = 1 + len(others)
        reserve(max(1, min(jobs, count)), spares=0 if count <= jobs else None, total=count)

    def apply(spec: object) -> AppliedSource:
        began = time.monotonic()
        applied = apply_source(backend, config, spec)  # type: ignore[arg-type]
        if progress is not None:
            progress(f"{release}: {applied.spec.path}", time.monotonic() - began)
        return applied

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        applied = list(pool.map(apply, [canon, *others]))
    canon_result, canon_snap = finish_source(config, applied[0], None)
    finished = [finish_source(config, a, canon_snap) for a in applied[1:]]
    include_canon = only is None or config.canonical in only
    results = ([canon_result] if include_canon else []) + [r for r, _ in finished]
    snapshots = [(config.canonical, canon_snap)] + [(a.spec.path, s) for a, (_, s) in zip(applied[1:], finished)]
    result = RunResult(backend=backend.name, clickhouse_version=backend.version(), canonical=config.canonical,
                       key_tables=config.key_tables, sources=tuple(results),
                       sandbox=str(getattr(backend, "sandbox", "none")), extra={"engine": release})
    return ReleaseRun(release, result, tuple(snapshots), round(time.monotonic() - started, 3))


def run_matrix(config: Config, releases: Sequence[str], make_backend: Callable[[str], Backend], jobs: int = 2,
               only: list[str] | None = None, progress: Callable[[str, float], None] | None = None) -> MatrixResult:
    """Each release in turn (each uses every CPU), its backend closed before the next starts."""
    runs: list[ReleaseRun] = []
    for release in releases:
        backend = make_backend(release)
        try:
            runs.append(run_release(config, backend, release, jobs, only, progress))
        finally:
            backend.close()
    return MatrixResult(tuple(runs), divergences([(r.release, r.result) for r in runs]), build_divergences(runs))
