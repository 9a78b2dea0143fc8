"""The static validator's verdicts asserted whole: simulation findings, view columns, the check of a
configuration (schema/static: simulate, views; checks/static).

Written against mutmut's survivors in chconform.schema.static and chconform.checks.static
(docs/mutation/schema-static.md). The caches of the reading functions are emptied before each test, so every
test reaches the code it asserts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chconform.schema.static.definition import _definition
from chconform.schema.static.simulate import Note
from chconform.schema.static.types import canonical_type
from chconform.schema.static.views import _query_shape


@pytest.fixture(autouse=True)
def _cold_caches() -> Iterator[None]:
    for cached in (canonical_type, _definition, _query_shape):
        cached.cache_clear()
    yield


def test_a_note_names_where_and_why() -> None:
    assert Note("zakaz.t", "a.sql", 3, "why").text() == "a.sql:3  zakaz.t  undecidable statically: why"
