"""The static validator's engine-free reading of SQL: the live check's verdict from the text alone.

How it reads a CREATE: the statement's tokens (chconform.sql.source.tokenize, the same
ClickHouse-aware lexer the splitter uses) give the skeleton (columns, ENGINE,
PARTITION BY, ORDER BY, ...), and sqlglot's ClickHouse dialect parses what needs a
parser: column types (so `INT` is `Int32` and `Nullable(Date)` is `Date NULL`) and
view queries (so every column a view reads is resolved through aliases, CTEs,
subqueries and joins). Two definitions are compared by their *tokens*, normalised only
where ClickHouse itself does not care (whitespace, comments, keyword case, identifier
quoting, `Engine()` vs `Engine`, `ORDER BY (a)` vs `a`, the implicit
`index_granularity = 8192`, `INTERVAL 1 DAY` vs `toIntervalDay(1)`, a TTL's implicit
DELETE, a missing PRIMARY KEY, string escapes). sqlglot's regenerated SQL is never
compared: it rewrites `rand()` to `randCanonical()`, `toStartOfDay(d)` to `dateTrunc`
and `INTERVAL 14 DAY` to `INTERVAL '14' DAY`, which ClickHouse builds differently.

Rooms, in the order data flows through them:
  tokens      canonical token forms (Canon, key elements, string literals)
  types       canonical column types (sqlglot)
  definition  one CREATE statement -> Definition
  views       the tables and columns a view's query reads (sqlglot scopes)
  simulate    a source applied twice to an empty catalog -> Simulation
  compare     Definition vs Definition -> [Difference]
Applying all this to a configuration (each source against the canon, role rules, the
inventory) is a check: chconform.checks.static (check_sources, validate, StaticReport).
"""

from __future__ import annotations

from chconform.schema.static.compare import compare_definitions
from chconform.schema.static.definition import (
    CHECK,
    CREATE_KINDS,
    NONDETERMINISTIC,
    ColumnSpec,
    Definition,
    column_types,
    nondeterministic_calls,
    parse_definition,
)
from chconform.schema.static.simulate import Note, Simulation, simulate
from chconform.schema.static.tokens import EMPTY, Canon, canon, key_elements, string_value
from chconform.schema.static.types import canonical_type
from chconform.schema.static.views import view_lineage, view_problems

__all__ = [
    "CHECK",
    "CREATE_KINDS",
    "EMPTY",
    "NONDETERMINISTIC",
    "Canon",
    "ColumnSpec",
    "Definition",
    "Note",
    "Simulation",
    "canon",
    "canonical_type",
    "column_types",
    "compare_definitions",
    "key_elements",
    "nondeterministic_calls",
    "parse_definition",
    "simulate",
    "string_value",
    "view_lineage",
    "view_problems",
]
