"""The DDL mutation suite: every generated one-clause mutant is caught by `check` and by `validate`.

The mutants (tests/conformance/ddl_mutants.py) change one clause each of a canonical schema covering
CREATE TABLE, VIEW, MATERIALIZED VIEW, DICTIONARY and FUNCTION; all of them are built in two engines at
once (the canon's copies and the mutants' copies, one database per mutant). The score is printed (run
with -s, or scripts/ddl_mutation_score.py) and must be 100 % for both layers. `check` runs on the
release $CHCONFORM_ENGINE names, else the one this repository's configuration pins (production's).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from chconform.config import load_config

from .ddl_mutants import REQUIRED, SCHEMA, Mutant, Score, mutants, render, score

REPO = Path(__file__).resolve().parents[2]


def test_every_clause_has_a_mutant() -> None:
    found = mutants()
    assert REQUIRED <= {m.clause for m in found}, sorted(REQUIRED - {m.clause for m in found})
    assert len({m.name for m in found}) == len(found)
    assert len({m.lines for m in found}) == len(found)  # no two mutants are the same text


def test_each_mutant_changes_one_place_of_the_schema() -> None:
    """A mutant replaces, drops or adds one line (plus the comma or `;` a dropped line hands on)."""
    original = SCHEMA.read_text(encoding="utf-8").splitlines()
    for m in mutants():
        changed = Counter(m.lines) - Counter(original)
        removed = Counter(original) - Counter(m.lines)
        assert 0 < sum(changed.values()) + sum(removed.values()) <= 4, m.name
        assert m.text("mut_000").count(";") == "\n".join(original).count(";"), m.name


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Mutant], Score, Score]:
    found = mutants()
    engine = os.environ.get("CHCONFORM_ENGINE") or load_config(REPO / "pyproject.toml").engine
    check, static = score(tmp_path_factory.mktemp("mutants"), engine, found)
    print("\n" + "\n".join(render(found, check, static)))
    return found, check, static


@pytest.mark.engine
def test_every_mutant_is_valid_sql(scores: tuple[list[Mutant], Score, Score]) -> None:
    """A mutant the engine refuses would be caught as an error, not as a difference: none may be."""
    _, check, static = scores
    assert check.errors == () and static.errors == ()


@pytest.mark.engine
def test_check_catches_every_mutant_under_its_own_aspect(scores: tuple[list[Mutant], Score, Score]) -> None:
    found, check, static = scores
    shown = "\n".join(render(found, check, static))
    assert check.missed == [], shown
    assert check.misnamed == [], shown
    assert check.percent() == 100.0


@pytest.mark.engine
def test_validate_catches_every_mutant(scores: tuple[list[Mutant], Score, Score]) -> None:
    found, check, static = scores
    assert static.missed == [], "\n".join(render(found, check, static))
    assert static.percent() == 100.0


@pytest.mark.engine
def test_the_catch_all_never_doubles_a_modelled_aspect(scores: tuple[list[Mutant], Score, Score]) -> None:
    """One finding per cause: `create_query` only where nothing modelled explains the difference."""
    _, check, _ = scores
    assert not [n for n, aspects in check.found.items() if "create_query" in aspects and len(aspects) > 1]
