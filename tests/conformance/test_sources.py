"""The live suite: every configured source applied twice to its own ClickHouse and compared with the canon.

One test per source and check, e.g. test_matches_canonical[migrations/2025-qtickets-api.sql].
Each source is checked once per worker (tests of one source share an xdist group).
"""

from __future__ import annotations

import pytest

from chconform.config import Config
from chconform.pytest_plugin import ConformanceSession
from chconform.reports.render import difference_line
from chconform.checks.run import SourceResult
from chconform.checks.inventory import unconfigured_sources
from chconform.sql.source import read_source

pytestmark = pytest.mark.engine


def _errors(result: SourceResult, round_no: int) -> list[str]:
    return [f"{e.source}:{e.line}  round {e.round}  {e.code} {e.name}: {e.message}  [{e.statement}]"
            for e in result.errors if e.round == round_no]


def _diffs(result: SourceResult, check: str) -> list[str]:
    return [difference_line(d) for d in result.differences if d.check == check]


def test_round1_clean(chconform_session: ConformanceSession, chconform_source: str) -> None:
    result = chconform_session.result(chconform_source)
    problems = _errors(result, 1) + _errors(result, 0)
    assert not problems, "round 1 failed:\n" + "\n".join(problems)


def test_idempotent(chconform_session: ConformanceSession, chconform_source: str) -> None:
    result = chconform_session.result(chconform_source)
    problems = _errors(result, 2) + _diffs(result, "idempotency")
    assert not problems, "applying the source a second time is not a no-op:\n" + "\n".join(problems)


def test_matches_canonical(chconform_session: ConformanceSession, chconform_source: str) -> None:
    result = chconform_session.result(chconform_source)
    problems = _diffs(result, "canonical")
    assert not problems, "differs from the canonical source:\n" + "\n".join(problems)


def test_must_define(chconform_session: ConformanceSession, chconform_source: str) -> None:
    result = chconform_session.result(chconform_source)
    assert not result.missing_tables, "tables it must define are absent: " + ", ".join(result.missing_tables)


def test_no_conflicting_duplicates(chconform_session: ConformanceSession, chconform_source: str) -> None:
    result = chconform_session.result(chconform_source)
    problems = _diffs(result, "duplicate")
    assert not problems, "a table is defined twice in this file with different definitions:\n" + "\n".join(problems)


def test_role_rules(chconform_session: ConformanceSession, chconform_source: str) -> None:
    result = chconform_session.result(chconform_source)
    problems = _diffs(result, "role")
    assert not problems, f"DROP where the role {result.role!r} forbids it:\n" + "\n".join(problems)


def test_access_control_is_skipped_not_passed(chconform_session: ConformanceSession, chconform_source: str) -> None:
    """On a backend without access storage every user/role/grant statement is listed as skipped."""
    result = chconform_session.result(chconform_source)
    source = read_source(chconform_session.config.source(chconform_source).file, chconform_source)
    access_lines = [s.line for s in source.statements if s.kind == "access"]
    if chconform_session.backend.supports_access_control:
        assert not result.skipped
    else:
        assert sorted(k.line for k in result.skipped) == access_lines


def test_inventory(chconform_config: Config) -> None:
    """Every .sql file under the root that creates a table is a configured source."""
    missing = unconfigured_sources(chconform_config)
    assert not missing, "SQL files with CREATE TABLE that are not configured sources: " + ", ".join(missing)
