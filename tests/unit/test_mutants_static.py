"""The static validator's reading of SQL, asserted exactly: canonical tokens, key elements, column types,
Definitions and their differences (schema/static: tokens, types, definition, compare).

Written against mutmut's survivors in chconform.schema.static (docs/mutation/schema-static.md). The caches of
the reading functions are emptied before each test, so every test reaches the code it asserts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chconform.schema.static import string_value
from chconform.schema.static.definition import _definition
from chconform.schema.static.types import canonical_type
from chconform.schema.static.views import _query_shape


@pytest.fixture(autouse=True)
def _cold_caches() -> Iterator[None]:
    for cached in (canonical_type, _definition, _query_shape):
        cached.cache_clear()
    yield


def test_a_string_literal_is_its_value() -> None:
    assert string_value("'it''s'") == "it's"
