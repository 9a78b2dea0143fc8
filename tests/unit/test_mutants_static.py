"""The static validator's reading of SQL, asserted exactly: canonical tokens, key elements, column types,
Definitions and their differences (schema/static: tokens, types, definition, compare).

Written against mutmut's survivors in chconform.schema.static (docs/mutation/schema-static.md). The caches of
the reading functions are emptied before each test, so every test reaches the code it asserts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chconform.model import Difference
from chconform.schema.static import (
    EMPTY,
    Canon,
    ColumnSpec,
    Definition,
    canon,
    column_types,
    compare_definitions,
    key_elements,
    nondeterministic_calls,
    parse_definition,
    string_value,
)
from chconform.schema.static.definition import _definition
from chconform.schema.static.tokens import _groups, _join, _quote, _split_top, _wrapped
from chconform.schema.static.types import canonical_type
from chconform.schema.static.views import _query_shape
from chconform.sql.source import Token, split_statements, tokenize


@pytest.fixture(autouse=True)
def _cold_caches() -> Iterator[None]:
    for cached in (canonical_type, _definition, _query_shape):
        cached.cache_clear()
    yield


def test_a_string_literal_is_its_value() -> None:
    assert string_value("'it''s'") == "it's"


# --- tokens: string literals, canonical keys, key elements ---------------------------------------------------



def code(text: str) -> list[Token]:
    return [t for t in tokenize(text) if t.kind not in ("space", "comment")]


@pytest.mark.parametrize(("literal", "value"), [
    ("'it''s'", "it's"),
    ("''''", "'"),
    ("'a'''", "a'"),
    ("'it\\'s'", "it's"),
    ("'\\\\'", "\\"),
    ("'a\\\\'", "a\\"),
    ("'\\n\\t\\r\\0\\b\\f\\a\\v'", "\n\t\r\0\b\f\a\v"),
    ("'\\q\\%'", "q%"),  # an unknown escape is the character itself
    ("'\\x41\\x62'", "Ab"),
    ("'\\x4'", "\x04"),  # one hex digit before the closing quote
    ("'\\x'", "x"),
    ("'\\xZZ'", "xZZ"),  # not hex: the escape is `x`
    ("'plain'", "plain"),
    ("''", ""),
])
def test_string_value_reads_every_escape(literal: str, value: str) -> None:
    assert string_value(literal) == value


def test_quote_writes_a_literal_clickhouse_reads_back() -> None:
    assert _quote("it's a \\ b") == "'it\\'s a \\\\ b'"
    assert string_value(_quote("it's a \\ b")) == "it's a \\ b"


@pytest.mark.parametrize(("text", "key"), [
    ("select A from b", ("K:SELECT", "W:A", "K:FROM", "W:b")),
    ("`a` \"b\" c", ("W:a", "W:b", "W:c")),
    ("1.5 'x''y' $$z$$", ("N:1.5", "S:x'y", "S:$$z$$")),
    ("f( x )", ("W:f", "P:(", "W:x", "P:)")),
    ("Day", ("W:Day",)),  # not a keyword: its case is kept
    ("INTERVAL 1 DAY", ("W:toIntervalDay", "P:(", "N:1", "P:)")),
    ("a + interval 2 week", ("W:a", "P:+", "W:toIntervalWeek", "P:(", "N:2", "P:)")),
    ("INTERVAL '3' hour", ("W:toIntervalHour", "P:(", "S:3", "P:)")),
    ("INTERVAL 1 nanosecond", ("W:toIntervalNanosecond", "P:(", "N:1", "P:)")),
    ("INTERVAL 1 YEAR", ("W:toIntervalYear", "P:(", "N:1", "P:)")),
    ("INTERVAL x DAY", ("K:INTERVAL", "W:x", "W:DAY")),
    ("INTERVAL 1 FORTNIGHT", ("K:INTERVAL", "N:1", "W:FORTNIGHT")),
    ("INTERVAL 1 `DAY`", ("K:INTERVAL", "N:1", "W:DAY")),
    ("a + INTERVAL 1", ("W:a", "P:+", "K:INTERVAL", "N:1")),
    ("INTERVAL", ("K:INTERVAL",)),
    ("x INTERVAL 1 DAY INTERVAL 2 DAY", ("W:x", "W:toIntervalDay", "P:(", "N:1", "P:)", "W:toIntervalDay", "P:(",
                                         "N:2", "P:)")),
])
def test_canon_keys(text: str, key: tuple[str, ...]) -> None:
    assert canon(tokenize(text)).key == key


@pytest.mark.parametrize(("text", "shown"), [
    ("f(  x\n  )", "f( x )"),
    ("a+b", "a+b"),
    ("a -- note\n+ /* c */ b", "a + b"),
    ("INTERVAL 1 DAY", "INTERVAL 1 DAY"),
    ("  a  ", "a"),
])
def test_canon_text_keeps_the_spelling_with_single_spaces(text: str, shown: str) -> None:
    assert canon(tokenize(text)).text == shown
    assert str(canon(tokenize(text))) == shown


def test_canon_of_nothing_is_empty() -> None:
    assert canon(tokenize("  -- only a comment\n")) is EMPTY
    assert EMPTY == Canon((), "") and EMPTY.text == ""
    assert Canon(("W:a",), "a") == Canon(("W:a",), "`a`")  # the text is not compared


def test_groups_match_each_bracket_with_its_close() -> None:
    assert _groups(code("( a [ b ] ) )")) == [5, -1, 4, -1, -1, -1, -1]
    assert _groups(code("(a")) == [-1, -1]
    assert _groups(code(") (a)")) == [-1, 3, -1, -1]


def test_split_top_splits_outside_brackets_only() -> None:
    parts = _split_top(code("a, (b, c), [d, e], f(g, h)"))
    assert [[t.text for t in p] for p in parts] == [["a"], ["(", "b", ",", "c", ")"], ["[", "d", ",", "e", "]"],
                                                    ["f", "(", "g", ",", "h", ")"]]
    assert [[t.text for t in p] for p in _split_top(code("a,,b"))] == [["a"], ["b"]]
    assert [[t.text for t in p] for p in _split_top(code("a; b, c"), ";")] == [["a"], ["b", ",", "c"]]
    assert _split_top([]) == [] and _split_top(code(",")) == []


def test_wrapped_is_one_bracketed_group() -> None:
    assert _wrapped(code("(a, b)")) is True
    assert _wrapped(code("(a)(b)")) is False
    assert _wrapped(code("[a]")) is False
    assert _wrapped([]) is False


@pytest.mark.parametrize(("clause", "elements"), [
    ("a", ["a"]),
    ("(a)", ["a"]),
    ("((a))", ["a"]),
    ("(((a, b)))", ["a", "b"]),
    ("tuple(a, b)", ["a", "b"]),
    ("TUPLE(a)", ["a"]),
    ("tuple()", []),
    ("()", []),
    ("(a,)", ["a"]),
    ("((a), (b))", ["a", "b"]),
    ("(a, (b, c))", ["a", "(b, c)"]),
    ("((a, b), c)", ["(a, b)", "c"]),
    ("(a, (b,))", ["a", "(b,)"]),
    ("tuple", ["tuple"]),
    ("tuple(a) + 1", ["tuple(a) + 1"]),
    ("(a) + (b)", ["(a) + (b)"]),
    ("f(a), b", ["f(a)", "b"]),
    ("[a, b]", ["[a, b]"]),
    ("[(a)]", ["[(a)]"]),
    ("a, b", ["a", "b"]),
    ("(toYYYYMM(d), -- month\n a)", ["toYYYYMM(d)", "a"]),
])
def test_key_elements_as_clickhouse_builds_them(clause: str, elements: list[str]) -> None:
    got = key_elements(tokenize(clause))
    assert got is not None and [e.text for e in got] == elements


def test_an_absent_key_is_none_and_elements_compare_by_key() -> None:
    assert key_elements(tokenize("  -- nothing\n")) is None
    assert key_elements(tokenize("(`a`, b)")) == key_elements(tokenize("a, \"b\""))
    assert key_elements(tokenize("(a, b)")) != key_elements(tokenize("(b, a)"))


def test_join_shows_elements_or_nothing() -> None:
    assert _join(None) == ""
    assert _join(()) == ""
    assert _join((Canon(("W:a",), "a"), Canon(("W:b",), "`b`"))) == "a, `b`"


# --- types: the name ClickHouse reports for each spelling ----------------------------------------------------


@pytest.mark.parametrize(("spelling", "reported"), [
    # integers: the SQL aliases, UNSIGNED, a display width that ClickHouse ignores
    ("INT(11)", "Int32"), ("TINYINT", "Int8"), ("SMALLINT UNSIGNED", "UInt16"), ("MEDIUMINT", "Int32"),
    ("BIGINT", "Int64"), ("Int128", "Int128"), ("UInt256", "UInt256"), ("Int8", "Int8"), ("INT UNSIGNED", "UInt32"),
    # the simple aliases; a length on a string alias is ignored
    ("DATE", "Date"), ("TIME", "Time"), ("VARCHAR(10)", "String"), ("CHAR", "String"), ("NCHAR(3)", "String"),
    ("NVARCHAR", "String"), ("LONGTEXT", "String"), ("MEDIUMTEXT", "String"), ("TINYTEXT", "String"),
    ("VARBINARY(4)", "String"), ("BLOB", "String"), ("LONGBLOB", "String"), ("MEDIUMBLOB", "String"),
    ("TINYBLOB", "String"), ("TIMESTAMP", "DateTime"), ("DATETIME", "DateTime"), ("DateTime('UTC')", "DateTime('UTC')"),
    # a precision makes DateTime (and its aliases) DateTime64
    ("TIMESTAMP(3)", "DateTime64(3)"), ("DATETIME(6)", "DateTime64(6)"), ("DateTime(3)", "DateTime64(3)"),
    ("TIMESTAMP(3, 'UTC')", "DateTime64(3, 'UTC')"), ("Nullable(DateTime(3))", "Nullable(DateTime64(3))"),
    # BINARY(n) is FixedString(n); Decimal's default precision and scale; DecimalN(s)
    ("BINARY(8)", "FixedString(8)"), ("Decimal", "Decimal(10, 0)"), ("Decimal(12)", "Decimal(12, 0)"),
    ("Decimal(12, 3)", "Decimal(12, 3)"), ("Decimal32(4)", "Decimal(9, 4)"), ("Decimal64(4)", "Decimal(18, 4)"),
    ("Decimal128(5)", "Decimal(38, 5)"), ("Decimal256(6)", "Decimal(76, 6)"),
    # DateTime64's default scale
    ("DateTime64", "DateTime64(3)"), ("DateTime64(6)", "DateTime64(6)"), ("DateTime64(6, 'UTC')", "DateTime64(6, 'UTC')"),
    # Enum: implicit values count from 1; the family from the range of the values
    ("Enum8('a' = 1)", "Enum8('a' = 1)"), ("Enum16('a')", "Enum16('a' = 1)"), ("Enum('x', 'y')", "Enum8('x' = 1, 'y' = 2)"),
    ("Enum('x' = 3, 'y' = 7)", "Enum8('x' = 3, 'y' = 7)"),
    ("Enum('a' = -128, 'b' = 127)", "Enum8('a' = -128, 'b' = 127)"),
    ("Enum('a' = -129)", "Enum16('a' = -129)"), ("Enum('a' = 128)", "Enum16('a' = 128)"),
    ("Enum('a' = - 1)", "Enum8('a' = -1)"), ("Enum('it''s' = 1)", "Enum8('it\\'s' = 1)"),
    # wrappers: the rules apply inside them
    ("Nullable(INT)", "Nullable(Int32)"), ("Nullable(DateTime64)", "Nullable(DateTime64(3))"),
    ("Nullable(Decimal)", "Nullable(Decimal(10, 0))"), ("LowCardinality(Nullable(TEXT))", "LowCardinality(Nullable(String))"),
    ("LowCardinality(TEXT)", "LowCardinality(String)"),
    ("Array(INT)", "Array(Int32)"), ("Array(BINARY(2))", "Array(FixedString(2))"),
    ("Tuple(a INT, b TEXT)", "Tuple(a Int32, b String)"), ("Tuple(Nullable(INT), TEXT)", "Tuple(Nullable(Int32), String)"),
    ("Map(TEXT, INT)", "Map(String, Int32)"), ("Map(String, Nullable(INT))", "Map(String, Nullable(Int32))"),
    ("SimpleAggregateFunction(max, INT)", "SimpleAggregateFunction(max, Int32)"),
    ("AggregateFunction(sum, UInt64)", "AggregateFunction(sum, UInt64)"),
    ("FixedString(3)", "FixedString(3)"),
    ("IPv4", "IPv4"), ("UUID", "UUID"), ("Float32", "Float32"), ("REAL", "Float32"), ("JSON", "JSON"),
    # what sqlglot reads without keeping it (Variant's members) or cannot read: as written, spaces normalised
    ("Variant(String, UInt8)", "Variant(String, UInt8)"), ("Foo  Bar(", "Foo Bar("),
])
def test_canonical_type(spelling: str, reported: str) -> None:
    """Each spelling's name as ClickHouse 26.9 reports it in system.columns (`Foo  Bar(`: one it refuses)."""
    assert canonical_type(spelling) == reported


# --- definition: one CREATE read into its canonical form ----------------------------------------------------



def read(sql: str, source: str = "f.sql") -> Definition:
    return parse_definition(split_statements(sql)[0], source)


def texts(elements: tuple[Canon, ...] | None) -> list[str] | None:
    return None if elements is None else [e.text for e in elements]


def columns(d: Definition) -> list[tuple[str, ...]]:
    return [(c.name, c.type, c.default_kind, c.default.text, c.comment, c.codec.text, c.ttl.text, c.statistics.text,
             c.settings.text) for c in d.columns]


def table_shape(d: Definition) -> dict[str, object]:
    """Every field of a Definition as users see it (texts, not keys)."""
    return {
        "object": d.object, "kind": d.kind, "engine": d.engine.text, "partition_key": texts(d.partition_key),
        "sorting_key": texts(d.sorting_key), "primary_key": texts(d.primary_key), "sampling_key": texts(d.sampling_key),
        "ttl": texts(d.ttl), "settings": [(k, v.text) for k, v in d.settings], "comment": d.comment,
        "view_query": d.view_query.text, "target": d.target,
        "indices": [(n, e.text, t.text, g) for n, e, t, g in d.indices], "projections": texts(d.projections),
        "constraints": texts(d.constraints), "body": d.body.text, "security": d.security.text,
        "undecidable": d.undecidable, "nondeterministic": list(d.nondeterministic),
    }


FULL = """CREATE TABLE IF NOT EXISTS db.t UUID '123e4567-e89b-12d3-a456-426614174000' ON CLUSTER c (
  a String DEFAULT 'x' COMMENT 'hi' CODEC(ZSTD(1)) TTL d + INTERVAL 1 DAY,
  b Nullable(INT) MATERIALIZED a STATISTICS(tdigest) SETTINGS (max_compress_block_size = 1),
  c UInt8 NULL ALIAS 1,
  e String EPHEMERAL,
  d DateTime,
  INDEX ix a TYPE bloom_filter GRANULARITY 2,
  INDEX iy b TYPE minmax,
  PROJECTION p (SELECT a ORDER BY b),
  CONSTRAINT ck CHECK c > 0
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(d) PRIMARY KEY a ORDER BY (a, b) SAMPLE BY a
TTL d + INTERVAL 1 MONTH DELETE, d + INTERVAL 1 WEEK TO DISK 'x'
SETTINGS index_granularity = 1024, flag COMMENT 'it''s'"""


def test_every_part_of_a_create_table() -> None:
    d = read(FULL)
    assert (d.source, d.line, d.where()) == ("f.sql", 1, "f.sql:1")
    assert columns(d) == [
        ("a", "String", "DEFAULT", "'x'", "hi", "CODEC(ZSTD(1))", "d + INTERVAL 1 DAY", "", ""),
        ("b", "Nullable(Int32)", "MATERIALIZED", "a", "", "", "", "(tdigest)", "(max_compress_block_size = 1)"),
        ("c", "Nullable(UInt8)", "ALIAS", "1", "", "", "", "", ""),
        ("e", "String", "EPHEMERAL", "", "", "", "", "", ""),
        ("d", "DateTime", "", "", "", "", "", "", ""),
    ]
    assert table_shape(d) == {
        "object": "db.t", "kind": "table", "engine": "ReplacingMergeTree", "partition_key": ["toYYYYMM(d)"],
        "sorting_key": ["a", "b"], "primary_key": ["a"], "sampling_key": ["a"],
        "ttl": ["d + INTERVAL 1 MONTH", "d + INTERVAL 1 WEEK TO DISK 'x'"],
        "settings": [("index_granularity", "1024"), ("flag", "")], "comment": "it's", "view_query": "", "target": "",
        "indices": [("ix", "a", "bloom_filter", "2"), ("iy", "b", "minmax", "1")],
        "projections": ["PROJECTION p (SELECT a ORDER BY b)"], "constraints": ["CONSTRAINT ck CHECK c > 0"],
        "body": "", "security": "", "undecidable": "", "nondeterministic": [],
    }
    assert d.columns[0].ttl.key == ("W:d", "P:+", "W:toIntervalDay", "P:(", "N:1", "P:)")
    assert d.engine.key == ("W:ReplacingMergeTree",)


def test_the_line_and_source_come_from_the_statement() -> None:
    d = parse_definition(split_statements("SELECT 1;\n\n  CREATE TABLE db.t (a String) ENGINE = Memory")[1], "x.sql")
    assert (d.source, d.line, d.where()) == ("x.sql", 3, "x.sql:3")
    assert parse_definition(split_statements("CREATE TABLE db.t (a String) ENGINE = Memory")[0]).where() == ":1"


def test_a_column_spec_shows_its_default() -> None:
    assert ColumnSpec("a", "UInt8", "DEFAULT", Canon(("N:1",), "1")).text() == "a UInt8 DEFAULT 1"
    assert ColumnSpec("a", "UInt8", "DEFAULT", Canon(("N:1",), "1")).default_text == "DEFAULT 1"
    assert ColumnSpec("a", "String", "EPHEMERAL").text() == "a String EPHEMERAL"
    assert ColumnSpec("a", "String", "EPHEMERAL").default_text == "EPHEMERAL"
    assert ColumnSpec("a", "String").text() == "a String"
    assert ColumnSpec("a", "String").default_text == ""


@pytest.mark.parametrize(("sql", "shape"), [
    ("CREATE FUNCTION IF NOT EXISTS db.f AS (x) -> x + 1", ("f", "function", "AS (x) -> x + 1")),
    ("CREATE FUNCTION f ON CLUSTER c AS (x) -> x", ("f", "function", "AS (x) -> x")),
    ("CREATE DICTIONARY db.d (id UInt64) PRIMARY KEY id SOURCE(NULL()) LAYOUT(FLAT()) LIFETIME(0)",
     ("db.d", "dictionary", "(id UInt64) PRIMARY KEY id SOURCE(NULL()) LAYOUT(FLAT()) LIFETIME(0)")),
    ("CREATE DICTIONARY db.d ON CLUSTER c (id UInt64) PRIMARY KEY id", ("db.d", "dictionary", "(id UInt64) PRIMARY KEY id")),
])
def test_functions_and_dictionaries_are_their_whole_text(sql: str, shape: tuple[str, str, str]) -> None:
    d = read(sql)
    assert (d.object, d.kind, d.body.text) == shape
    assert (d.columns, d.engine, d.sorting_key) == ((), EMPTY, None)


@pytest.mark.parametrize(("sql", "engine", "sorting", "primary"), [
    ("CREATE TABLE db.t (a String, PRIMARY KEY a) ENGINE = MergeTree", "MergeTree", ["a"], ["a"]),
    ("CREATE TABLE db.t (a String) ENGINE = MergeTree PRIMARY KEY a", "MergeTree", ["a"], ["a"]),
    ("CREATE TABLE db.t (a String) ENGINE = MergeTree ORDER BY (a, b)", "MergeTree", ["a", "b"], ["a", "b"]),
    ("CREATE TABLE db.t (a String) ENGINE MergeTree() ORDER BY a", "MergeTree", ["a"], ["a"]),
    ("CREATE TABLE db.t (a String) ENGINE = MergeTree(a) ORDER BY a", "MergeTree(a)", ["a"], ["a"]),
    ("CREATE TABLE db.t (a String) ENGINE = Log()", "Log", None, None),
    ("CREATE TABLE db.t (a String) ENGINE = Log ( )", "Log", None, None),
    ("CREATE TABLE db.t (a String) ENGINE = Log() SETTINGS x = 1", "Log", None, None),
    ("CREATE TABLE db.t (a String) ENGINE = Buffer(db, t, 1)", "Buffer(db, t, 1)", None, None),
    ("CREATE TABLE db.t (a String)", "", None, None),
])
def test_engine_and_keys(sql: str, engine: str, sorting: list[str] | None, primary: list[str] | None) -> None:
    d = read(sql)
    assert (d.engine.text, texts(d.sorting_key), texts(d.primary_key)) == (engine, sorting, primary)


def test_engine_keys_drop_only_an_empty_argument_list() -> None:
    assert read("CREATE TABLE db.t (a String) ENGINE = Log()").engine.key == ("W:Log",)
    assert read("CREATE TABLE db.t (a String) ENGINE = MergeTree(a)").engine.key == ("W:MergeTree", "P:(", "W:a", "P:)")
    assert read("CREATE TABLE db.t (a String) ENGINE = = Log()").engine.key == ("P:=", "W:Log", "P:(", "P:)")


@pytest.mark.parametrize(("clauses", "settings"), [
    ("ENGINE = MergeTree ORDER BY a", [("index_granularity", "8192")]),
    ("ENGINE = ReplicatedReplacingMergeTree ORDER BY a", [("index_granularity", "8192")]),
    ("ENGINE = MergeTree ORDER BY a SETTINGS index_granularity = 256", [("index_granularity", "256")]),
    ("ENGINE = MergeTree ORDER BY a SETTINGS x = 1, y", [("x", "1"), ("y", ""), ("index_granularity", "8192")]),
    ("ENGINE = MergeTree ORDER BY a SETTINGS `index_granularity` = 64", [("index_granularity", "64")]),
    ("ENGINE = Memory SETTINGS min_rows_to_keep = 1", [("min_rows_to_keep", "1")]),
    ("ENGINE = Memory", []),
    ("ENGINE = MergeTreeLike ORDER BY a", []),
    ("ORDER BY a", []),
])
def test_settings_and_the_implicit_index_granularity(clauses: str, settings: list[tuple[str, str]]) -> None:
    d = read(f"CREATE TABLE db.t (a String) {clauses}")
    assert [(k, v.text) for k, v in d.settings] == settings


def test_the_implicit_index_granularity_is_the_number_8192() -> None:
    implicit = read("CREATE TABLE db.t (a String) ENGINE = MergeTree ORDER BY a").settings
    assert implicit == (("index_granularity", Canon(("N:8192",), "8192")),)
    assert implicit == read("CREATE TABLE db.t (a String) ENGINE = MergeTree ORDER BY a "
                            "SETTINGS index_granularity = 8192").settings


@pytest.mark.parametrize(("ttl", "rules"), [
    ("d + INTERVAL 1 DAY DELETE", ["d + INTERVAL 1 DAY"]),
    ("d + INTERVAL 1 DAY delete, d TO VOLUME 'v'", ["d + INTERVAL 1 DAY", "d TO VOLUME 'v'"]),
    ("DELETE", ["DELETE"]),
    ("d + toIntervalDay(1)", ["d + toIntervalDay(1)"]),
])
def test_ttl_rules_without_the_default_delete(ttl: str, rules: list[str]) -> None:
    d = read(f"CREATE TABLE db.t (d DateTime) ENGINE = MergeTree ORDER BY d TTL {ttl}")
    assert texts(d.ttl) == rules


def test_a_ttl_to_disk_is_not_a_view_target() -> None:
    d = read("CREATE TABLE db.t (d DateTime) ENGINE = MergeTree ORDER BY d TTL d TO DISK 'x' SETTINGS a = 1")
    assert (texts(d.ttl), d.target, [(k, v.text) for k, v in d.settings]) == (
        ["d TO DISK 'x'"], "", [("a", "1"), ("index_granularity", "8192")])


@pytest.mark.parametrize(("sql", "note"), [
    ("CREATE TABLE db.t AS db.o", "its columns come from `db.o`, which only the engine resolves"),
    ("CREATE TABLE db.t AS db.o ENGINE = Memory", "its columns come from `db.o ENGINE = Memory`, which only the engine "
                                                  "resolves"),
    ("CREATE TABLE db.t ENGINE = Memory AS SELECT 1", "its columns come from a query, which only the engine resolves"),
    ("CREATE TABLE db.t ENGINE = Memory AS select 1", "its columns come from a query, which only the engine resolves"),
    ("CREATE TABLE db.t ENGINE = Memory AS (SELECT 1)", "its columns come from a query, which only the engine resolves"),
    ("CREATE TABLE db.t ENGINE = Memory AS WITH 1 AS x SELECT x",
     "its columns come from a query, which only the engine resolves"),
    ("CREATE TABLE db.t AS", "its columns come from a query, which only the engine resolves"),
    ("CREATE TABLE db.t (a, b DEFAULT 1) ENGINE = Memory",
     "column a has no type; the engine infers it from its default expression"),
    ("CREATE TABLE db.t (a String, b DEFAULT 1) ENGINE = Memory",
     "column b has no type; the engine infers it from its default expression"),
    ("CREATE TABLE db.t ENGINE = Memory", "it has no column list"),
    ("CREATE TABLE db.t (a String) ENGINE = Memory", ""),
])
def test_what_only_the_engine_resolves_is_named(sql: str, note: str) -> None:
    assert read(sql).undecidable == note


def test_a_table_with_columns_and_as_select_is_decided() -> None:
    d = read("CREATE TABLE db.t (a String) ENGINE = Memory AS SELECT 'x' AS a")
    assert (d.undecidable, columns(d)) == ("", [("a", "String", "", "", "", "", "", "", "")])


@pytest.mark.parametrize(("comment", "value"), [
    ("COMMENT 'it''s'", "it's"),
    ("COMMENT x", "x"),
    ("COMMENT concat('a', 'b')", "concat('a', 'b')"),
    ("", ""),
])
def test_the_table_comment(comment: str, value: str) -> None:
    assert read(f"CREATE TABLE db.t (a String) ENGINE = Memory {comment}").comment == value


@pytest.mark.parametrize(("entry", "index"), [
    ("INDEX ix a TYPE bloom_filter GRANULARITY 2", ("ix", "a", "bloom_filter", "2")),
    ("INDEX ix a TYPE minmax", ("ix", "a", "minmax", "1")),
    ("INDEX `i x` (a, b) TYPE set(100) GRANULARITY 4", ("i x", "(a, b)", "set(100)", "4")),
    ("INDEX ix lower(a) TYPE ngrambf_v1(3, 256, 2, 0)", ("ix", "lower(a)", "ngrambf_v1(3, 256, 2, 0)", "1")),
    ("INDEX ix a", ("ix", "a", "", "1")),
    ("INDEX ix", ("ix", "", "", "1")),
    ("INDEX", ("", "", "", "1")),
])
def test_a_data_skipping_index(entry: str, index: tuple[str, str, str, str]) -> None:
    d = read(f"CREATE TABLE db.t (a String, {entry}) ENGINE = Memory")
    assert [(n, e.text, t.text, g) for n, e, t, g in d.indices] == [index]
    assert [c.name for c in d.columns] == ["a"]


COLUMNS = [  # each accepted by ClickHouse 26.9, which reports the same name, type, default kind and expression, comment
    ("a String", ("a", "String", "", "", "", "", "", "", "")),
    ("`a b` String", ("a b", "String", "", "", "", "", "", "", "")),
    ("a UInt32 NULL", ("a", "Nullable(UInt32)", "", "", "", "", "", "", "")),
    ("a UInt32 NOT NULL", ("a", "UInt32", "", "", "", "", "", "", "")),
    ("a Decimal(10, 2) DEFAULT 0", ("a", "Decimal(10, 2)", "DEFAULT", "0", "", "", "", "", "")),
    ("a DateTime DEFAULT now() CODEC(Delta(4), ZSTD(1))", ("a", "DateTime", "DEFAULT", "now()", "",
                                                             "CODEC(Delta(4), ZSTD(1))", "", "", "")),
    ("a UInt8 DEFAULT if(b = '', 1, 2) COMMENT 'c'", ("a", "UInt8", "DEFAULT", "if(b = '', 1, 2)", "c", "", "", "", "")),
    ("a String ALIAS b TTL d + INTERVAL 1 DAY COMMENT 'x'", ("a", "String", "ALIAS", "b", "x", "", "d + INTERVAL 1 DAY",
                                                             "", "")),
    ("a String TTL d CODEC(LZ4)", ("a", "String", "", "", "", "CODEC(LZ4)", "d", "", "")),
    ("a String DEFAULT b SETTINGS (max_compress_block_size = 1)",
     ("a", "String", "DEFAULT", "b", "", "", "", "", "(max_compress_block_size = 1)")),
    ("a String TTL d SETTINGS (max_compress_block_size = 1)",
     ("a", "String", "", "", "", "", "d", "", "(max_compress_block_size = 1)")),
    ("a String DEFAULT b STATISTICS(uniq)", ("a", "String", "DEFAULT", "b", "", "", "", "(uniq)", "")),
    ("a String TTL d STATISTICS(uniq)", ("a", "String", "", "", "", "", "d", "(uniq)", "")),
    ("a Tuple(UInt8, String) DEFAULT (1, 'x')", ("a", "Tuple(UInt8, String)", "DEFAULT", "(1, 'x')", "", "", "", "", "")),
    ("a Map(String, Tuple(a UInt8, b String)) DEFAULT map()",
     ("a", "Map(String, Tuple(a UInt8, b String))", "DEFAULT", "map()", "", "", "", "", "")),
    ("a UInt8 EPHEMERAL 0", ("a", "UInt8", "EPHEMERAL", "0", "", "", "", "", "")),
]
HALF_WRITTEN = [  # refused by ClickHouse; read without a traceback, the unreadable rest ignored
    ("a UInt32 NOT", ("a", "UInt32", "", "", "", "", "", "", "")),
    ("a Nullable(UInt32) NULL", ("a", "Nullable(UInt32)", "", "", "", "", "", "", "")),
    ("a UInt8 COMMENT c", ("a", "UInt8", "", "", "c", "", "", "", "")),
    ("a UInt8 COMMENT", ("a", "UInt8", "", "", "", "", "", "", "")),
    ("a UInt8 COMMENT 'c' DEFAULT 1", ("a", "UInt8", "DEFAULT", "1", "c", "", "", "", "")),
    ("a String TTL d PRIMARY KEY", ("a", "String", "", "", "", "", "d", "", "")),
    ("a String DEFAULT b PRIMARY KEY", ("a", "String", "DEFAULT", "b", "", "", "", "", "")),
    ("a String CODEC", ("a", "String", "", "", "", "", "", "", "")),
    ("a String SETTINGS x", ("a", "String", "", "", "", "", "", "", "")),
    ("a String STATISTICS", ("a", "String", "", "", "", "", "", "", "")),
    ("a String AUTO_INCREMENT", ("a", "String", "", "", "", "", "", "", "")),
    ("a DEFAULT 1", ("a", "", "DEFAULT", "1", "", "", "", "", "")),  # accepted: its type is the engine's inference
]


@pytest.mark.parametrize(("column", "spec"), COLUMNS + HALF_WRITTEN, ids=[c for c, _ in COLUMNS + HALF_WRITTEN])
def test_a_column(column: str, spec: tuple[str, ...]) -> None:
    assert columns(read(f"CREATE TABLE db.t ({column}) ENGINE = Memory")) == [spec]


@pytest.mark.parametrize(("entry", "what"), [
    ("PROJECTION p (SELECT a ORDER BY a)", ("projections", ["PROJECTION p (SELECT a ORDER BY a)"])),
    ("CONSTRAINT c CHECK a != ''", ("constraints", ["CONSTRAINT c CHECK a != ''"])),
    ("CONSTRAINT c ASSUME a != ''", ("constraints", ["CONSTRAINT c ASSUME a != ''"])),
])
def test_projections_and_constraints_are_kept_whole(entry: str, what: tuple[str, list[str]]) -> None:
    d = read(f"CREATE TABLE db.t (a String, {entry}) ENGINE = Memory")
    assert table_shape(d)[what[0]] == what[1]
    assert [c.name for c in d.columns] == ["a"] and d.indices == ()


def test_primary_as_a_column_name_is_a_column() -> None:
    d = read("CREATE TABLE db.t (a String, primary UInt8) ENGINE = MergeTree ORDER BY a")
    assert [c.text() for c in d.columns] == ["a String", "primary UInt8"]
    assert texts(d.primary_key) == ["a"]


@pytest.mark.parametrize(("sql", "calls"), [
    ("now()", ["now"]), ("toYYYYMM(NOW())", ["NOW"]), ("rand() % 10", ["rand"]), ("rand64()", ["rand64"]),
    ("randCanonical()", ["randCanonical"]), ("generateUUIDv4()", ["generateUUIDv4"]),
    ("generateSnowflakeID()", ["generateSnowflakeID"]), ("generateSerialID('x')", ["generateSerialID"]),
    ("(today(), yesterday())", ["today", "yesterday"]), ("hostName()", ["hostName"]), ("version()", ["version"]),
    ("now", []), ("toYYYYMM(d)", []), ("random_col", []), ("x.now()", ["now"]), ("", []), ("now(", ["now"]),
    ("brand()", []), ("timezone()", ["timezone"]), ("currentDatabase()", ["currentDatabase"]),
])
def test_nondeterministic_calls(sql: str, calls: list[str]) -> None:
    assert nondeterministic_calls(tokenize(sql)) == calls


def test_a_partition_key_records_its_nondeterministic_calls() -> None:
    d = read("CREATE TABLE db.t (a String) ENGINE = MergeTree PARTITION BY toDate(now()) ORDER BY a")
    assert d.nondeterministic == ("now",)
    assert read("CREATE TABLE db.t (a String) ENGINE = MergeTree ORDER BY now()").nondeterministic == ()


def test_column_types_gives_the_offsets_of_each_written_type() -> None:
    sql = ("CREATE TABLE db.t ON CLUSTER c (a Nullable(String) DEFAULT 'x', `b` UInt8, c DEFAULT 1, INDEX i a TYPE minmax, "
           "d Array(Int8) CODEC(LZ4), e Date) ENGINE = Memory")
    stmt = split_statements(sql)[0]
    assert [(name, stmt.text[s:e]) for name, s, e in column_types(stmt)] == []  # ON CLUSTER before the list: none
    sql = sql.replace(" ON CLUSTER c", "")
    stmt = split_statements(sql)[0]
    assert [(name, stmt.text[s:e]) for name, s, e in column_types(stmt)] == [
        ("a", "Nullable(String)"), ("b", "UInt8"), ("d", "Array(Int8)"), ("e", "Date")]


def test_column_types_of_what_has_no_column_list() -> None:
    for sql in ("CREATE TABLE db.t AS db.o", "CREATE TABLE db.t", "CREATE TABLE db.t ENGINE = Memory"):
        assert column_types(split_statements(sql)[0]) == [], sql
    stmt = split_statements("CREATE TABLE db.t (a, b String) ENGINE = Memory")[0]
    assert [(n, stmt.text[s:e]) for n, s, e in column_types(stmt)] == [("b", "String")]


# --- compare: every aspect in which two definitions differ, both sides shown ------------------------------------


T = "CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY a"


@pytest.mark.parametrize(("got", "differences"), [
    ("CREATE TABLE db.t (a String, b UInt8) ENGINE = ReplacingMergeTree ORDER BY a",
     [("engine", "MergeTree", "ReplacingMergeTree", None)]),
    ("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree PARTITION BY b ORDER BY a",
     [("partition_key", "", "b", None)]),
    ("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY (a, b)", [("sorting_key", "a", "a, b", None)]),
    ("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY b", [("sorting_key", "a", "b", None)]),
    ("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY a SAMPLE BY a", [("sampling_key", "", "a", None)]),
    ("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY a TTL b + 1, b + 2",
     [("ttl", "", "b + 1, b + 2", None)]),
    ("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY a SETTINGS x = 1, y",
     [("settings", "index_granularity = 8192", "x = 1, y, index_granularity = 8192", None)]),
    ("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY a COMMENT 'c'", [("table_comment", "", "c", None)]),
    ("CREATE TABLE db.t (a String, b UInt8, INDEX i a TYPE minmax) ENGINE = MergeTree ORDER BY a",
     [("indices", "none", "i a TYPE minmax GRANULARITY 1", None)]),
    ("CREATE TABLE db.t (a String, b UInt8, INDEX i a TYPE minmax, INDEX j b TYPE set(1) GRANULARITY 3) "
     "ENGINE = MergeTree ORDER BY a",
     [("indices", "none", "i a TYPE minmax GRANULARITY 1; j b TYPE set(1) GRANULARITY 3", None)]),
    ("CREATE TABLE db.t (a String, b UInt8, PROJECTION p (SELECT a), PROJECTION q (SELECT b)) ENGINE = MergeTree ORDER BY a",
     [("projections", "none", "PROJECTION p (SELECT a); PROJECTION q (SELECT b)", None)]),
    ("CREATE TABLE db.t (a String, b UInt8, CONSTRAINT c CHECK b > 0, CONSTRAINT d CHECK b < 9) ENGINE = MergeTree ORDER BY a",
     [("constraints", "none", "CONSTRAINT c CHECK b > 0; CONSTRAINT d CHECK b < 9", None)]),
    ("CREATE TABLE db.t (a String, b UInt16) ENGINE = MergeTree ORDER BY a", [("column_type", "UInt8", "UInt16", "b")]),
    ("CREATE TABLE db.t (a String, b UInt8 DEFAULT 1) ENGINE = MergeTree ORDER BY a", [("column_default", "", "DEFAULT 1", "b")]),
    ("CREATE TABLE db.t (a String, b UInt8 ALIAS 1) ENGINE = MergeTree ORDER BY a", [("column_default", "", "ALIAS 1", "b")]),
    ("CREATE TABLE db.t (a String, b UInt8 COMMENT 'x') ENGINE = MergeTree ORDER BY a", [("column_comment", "", "x", "b")]),
    ("CREATE TABLE db.t (a String, b UInt8 CODEC(LZ4)) ENGINE = MergeTree ORDER BY a",
     [("column_codec", "", "CODEC(LZ4)", "b")]),
    ("CREATE TABLE db.t (a String, b UInt8 TTL a) ENGINE = MergeTree ORDER BY a", [("column_ttl", "", "a", "b")]),
    ("CREATE TABLE db.t (a String, b UInt8 STATISTICS(uniq)) ENGINE = MergeTree ORDER BY a",
     [("column_statistics", "", "(uniq)", "b")]),
    ("CREATE TABLE db.t (a String, b UInt8 SETTINGS (max_compress_block_size = 1)) ENGINE = MergeTree ORDER BY a",
     [("column_settings", "", "(max_compress_block_size = 1)", "b")]),
    ("CREATE TABLE db.t (a String) ENGINE = MergeTree ORDER BY a", [("column_missing", "b UInt8", "absent", "b")]),
    ("CREATE TABLE db.t (a String, b UInt8, c Date DEFAULT today()) ENGINE = MergeTree ORDER BY a",
     [("column_extra", "absent", "c Date DEFAULT today()", "c")]),
    ("CREATE TABLE db.t (b UInt8, a String) ENGINE = MergeTree ORDER BY a", [("column_order", "a, b", "b, a", None)]),
    ("CREATE TABLE db.t (b UInt8, c UInt8, a String) ENGINE = MergeTree ORDER BY a",
     [("column_extra", "absent", "c UInt8", "c"), ("column_order", "a, b", "b, a", None)]),
    ("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY a", []),
    ("create table db.t (`a` String, b UInt8) engine = MergeTree() order by (a) settings index_granularity = 8192", []),
])
def test_each_aspect_of_a_table(got: str, differences: list[tuple[str, str, str, str | None]]) -> None:
    assert compare_definitions(read(T), read(got)) == [Difference("db.t", a, w, g, c) for a, w, g, c in differences]


def test_aspects_come_in_the_live_checks_order() -> None:
    got = ("CREATE TABLE db.t (b UInt16 COMMENT 'x', a String) ENGINE = Log COMMENT 'c'")
    assert [d.aspect for d in compare_definitions(read(T), read(got))] == [
        "engine", "sorting_key", "settings", "table_comment", "column_type", "column_comment", "column_order"]


def test_an_unwritten_primary_key_is_the_sorting_keys_difference_only() -> None:
    want = read("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY a")
    got = read("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree ORDER BY b")
    assert compare_definitions(want, got) == [Difference("db.t", "sorting_key", "a", "b")]
    explicit = read("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree PRIMARY KEY a ORDER BY (a, b)")
    assert compare_definitions(explicit, got) == [Difference("db.t", "sorting_key", "a, b", "b"),
                                                 Difference("db.t", "primary_key", "a", "b")]
    assert compare_definitions(got, explicit) == [Difference("db.t", "sorting_key", "b", "a, b"),
                                                 Difference("db.t", "primary_key", "b", "a")]
    same_pk = read("CREATE TABLE db.t (a String, b UInt8) ENGINE = MergeTree PRIMARY KEY a ORDER BY (a, b)")
    assert compare_definitions(want, same_pk) == [Difference("db.t", "sorting_key", "a", "a, b")]


def test_a_kind_and_a_view_query_differ() -> None:
    view = read("CREATE VIEW db.t AS SELECT 1 AS a")
    assert compare_definitions(view, read("CREATE VIEW db.t AS SELECT 2 AS a")) == [
        Difference("db.t", "view_query", "SELECT 1 AS a", "SELECT 2 AS a")]
    assert [d.aspect for d in compare_definitions(read(T), view)][:2] == ["kind", "engine"]
    assert compare_definitions(read(T), view)[0] == Difference("db.t", "kind", "table", "view")


def test_a_long_view_query_shows_only_what_differs() -> None:
    query = "SELECT " + ", ".join(f"c{i}" for i in range(40)) + " FROM db.t WHERE x > 1"
    want, got = read("CREATE VIEW db.v AS " + query), read("CREATE VIEW db.v AS " + query.replace("x > 1", "x > 2"))
    assert compare_definitions(want, got) == [Difference("db.v", "view_query", "… WHERE x > 1", "… WHERE x > 2")]


def test_a_views_columns_and_target() -> None:
    want = read("CREATE VIEW db.v (x, y) AS SELECT 1 AS x, 2 AS y")
    got = read("CREATE VIEW db.v (x, z) AS SELECT 1 AS x, 2 AS y")
    assert compare_definitions(want, got) == [Difference("db.v", "view_columns", "y ", "absent", "y"),
                                              Difference("db.v", "view_columns", "absent", "z ", "z")]
    mv = read("CREATE MATERIALIZED VIEW db.mv TO db.a AS SELECT 1 AS x")
    assert compare_definitions(mv, read("CREATE MATERIALIZED VIEW db.mv TO db.b AS SELECT 1 AS x")) == [
        Difference("db.mv", "mv_target", "db.a", "db.b")]
    typed = read("CREATE MATERIALIZED VIEW db.mv (x UInt8) ENGINE = Memory AS SELECT 1 AS x")
    assert compare_definitions(typed, read("CREATE MATERIALIZED VIEW db.mv (x UInt16) ENGINE = Memory AS SELECT 1 AS x")) == [
        Difference("db.mv", "view_columns", "UInt8", "UInt16", "x")]  # as the live check names a view column's type
    assert compare_definitions(typed, read("CREATE MATERIALIZED VIEW db.mv (x UInt8 COMMENT 'c') ENGINE = Memory "
                                           "AS SELECT 1 AS x")) == [Difference("db.mv", "column_comment", "", "c", "x")]
    to = read("CREATE MATERIALIZED VIEW db.mv TO db.t (x String) AS SELECT 'a' AS x")
    assert compare_definitions(to, read("CREATE MATERIALIZED VIEW db.mv TO db.t (x LowCardinality(String)) "
                                        "AS SELECT 'a' AS x")) == [
        Difference("db.mv", "view_columns", "String", "LowCardinality(String)", "x")]
    assert compare_definitions(typed, read("CREATE MATERIALIZED VIEW db.mv ENGINE = Memory AS SELECT 1 AS x")) == [
        Difference("db.mv", "view_columns", "x UInt8", "absent", "x")]


def test_sql_security_definer_is_a_value_not_a_definer_clause() -> None:
    """`chconform check` reports a view with SQL SECURITY DEFINER as differing from one without."""
    assert read("CREATE VIEW db.v SQL SECURITY DEFINER AS SELECT 1").security.text == "DEFINER"
    assert read("CREATE VIEW db.v DEFINER = u SQL SECURITY DEFINER AS SELECT 1").security.text == "= u DEFINER"
    assert compare_definitions(read("CREATE VIEW db.v AS SELECT 1"),
                               read("CREATE VIEW db.v SQL SECURITY DEFINER AS SELECT 1")) == [
        Difference("db.v", "sql_security", "", "DEFINER")]


def test_a_views_security() -> None:
    want = read("CREATE VIEW db.v SQL SECURITY INVOKER AS SELECT 1")
    got = read("CREATE VIEW db.v DEFINER = u SQL SECURITY INVOKER AS SELECT 1")
    assert compare_definitions(want, got) == [Difference("db.v", "sql_security", "INVOKER", "= u INVOKER")]


def test_functions_and_dictionaries_compare_their_whole_text() -> None:
    f = read("CREATE FUNCTION f AS (x) -> x + 1")
    assert compare_definitions(f, read("CREATE FUNCTION f AS (x) -> x + 2")) == [
        Difference("f", "function", "AS (x) -> x + 1", "AS (x) -> x + 2")]
    assert compare_definitions(f, read("create function f as (x) -> x + 1")) == []
    assert compare_definitions(read(T), read("CREATE FUNCTION f AS (x) -> x")) == [
        Difference("db.t", "function", "", "AS (x) -> x")]
    assert compare_definitions(read("CREATE FUNCTION f AS (x) -> x"), read(T)) == [
        Difference("f", "function", "AS (x) -> x", "")]
    d = read("CREATE DICTIONARY db.d (id UInt64) PRIMARY KEY id LIFETIME(0)")
    assert compare_definitions(d, read("CREATE DICTIONARY db.d (id UInt64) PRIMARY KEY id LIFETIME(1)")) == [
        Difference("db.d", "definition", "(id UInt64) PRIMARY KEY id LIFETIME(0)", "(id UInt64) PRIMARY KEY id LIFETIME(1)")]


MV = ("CREATE MATERIALIZED VIEW db.mv (a String, b UInt8 DEFAULT 1, INDEX i a TYPE set(1), PROJECTION p (SELECT a ORDER BY b), "
      "CONSTRAINT c CHECK b > 0) ENGINE = ReplacingMergeTree() PARTITION BY b PRIMARY KEY a ORDER BY (a, b) SAMPLE BY a "
      "TTL b + 1 DELETE SETTINGS x = 1 POPULATE AS SELECT a, b FROM db.s")
NOTHING = {"engine": "", "partition_key": None, "sorting_key": None, "primary_key": None, "sampling_key": None, "ttl": [],
           "settings": [], "comment": "", "target": "", "indices": [], "projections": [], "constraints": [], "body": "",
           "security": "", "undecidable": "", "nondeterministic": []}


def test_a_materialized_view_with_its_inner_table() -> None:
    d = read(MV)
    assert table_shape(d) == {
        "object": "db.mv", "kind": "materialized_view", "engine": "ReplacingMergeTree", "partition_key": ["b"],
        "sorting_key": ["a", "b"], "primary_key": ["a"], "sampling_key": ["a"], "ttl": ["b + 1"],
        "settings": [("x", "1"), ("index_granularity", "8192")], "comment": "", "view_query": "SELECT a, b FROM db.s",
        "target": "", "indices": [("i", "a", "set(1)", "1")], "projections": ["PROJECTION p (SELECT a ORDER BY b)"],
        "constraints": ["CONSTRAINT c CHECK b > 0"], "body": "", "security": "", "undecidable": "", "nondeterministic": [],
    }
    assert columns(d) == [("a", "String", "", "", "", "", "", "", ""), ("b", "UInt8", "DEFAULT", "1", "", "", "", "", "")]
    assert [t.text for t in d.query_tokens] == ["SELECT", "a", ",", "b", "FROM", "db", ".", "s"]


@pytest.mark.parametrize(("sql", "shape"), [
    ("CREATE MATERIALIZED VIEW db.mv TO db.t AS SELECT a FROM db.s", {"target": "db.t"}),
    ("CREATE MATERIALIZED VIEW db.mv TO `t` AS SELECT a FROM db.s", {"target": "`t`"}),
    ("CREATE MATERIALIZED VIEW db.mv TO db.t () AS SELECT a FROM db.s", {"target": "db.t"}),
    ("CREATE MATERIALIZED VIEW db.mv ENGINE = Memory ORDER BY a AS SELECT a FROM db.s",
     {"engine": "Memory", "sorting_key": ["a"], "primary_key": ["a"]}),
    ("CREATE MATERIALIZED VIEW db.mv ENGINE = MergeTree PRIMARY KEY a AS SELECT a FROM db.s",
     {"engine": "MergeTree", "sorting_key": ["a"], "primary_key": ["a"], "settings": [("index_granularity", "8192")]}),
    ("CREATE MATERIALIZED VIEW db.mv ENGINE = MergeTree PARTITION BY a ORDER BY a AS SELECT a FROM db.s",
     {"engine": "MergeTree", "partition_key": ["a"], "sorting_key": ["a"], "primary_key": ["a"],
      "settings": [("index_granularity", "8192")]}),
    ("CREATE VIEW db.v SQL SECURITY INVOKER AS SELECT a FROM db.s", {"security": "INVOKER"}),
    ("CREATE VIEW db.v DEFINER = u SQL SECURITY INVOKER AS SELECT a FROM db.s", {"security": "= u INVOKER"}),
    ("CREATE VIEW db.v AS SELECT a FROM db.s", {}),
])
def test_a_views_clauses(sql: str, shape: dict[str, object]) -> None:
    d = read(sql)
    assert table_shape(d) == {"object": d.object, "kind": d.kind, "view_query": "SELECT a FROM db.s", **NOTHING, **shape}
    assert [t.text for t in d.query_tokens] == ["SELECT", "a", "FROM", "db", ".", "s"]


@pytest.mark.parametrize("to", ["db.t", "t", "`t`"])
def test_a_materialized_view_to_a_table_with_its_own_columns(to: str) -> None:
    d = read(f"CREATE MATERIALIZED VIEW db.mv TO {to} (a String, b UInt8 DEFAULT 1) AS SELECT a, b FROM db.s")
    assert (d.target, columns(d)) == (to, [("a", "String", "", "", "", "", "", "", ""),
                                           ("b", "UInt8", "DEFAULT", "1", "", "", "", "", "")])
    assert d.view_query.text == "SELECT a, b FROM db.s"


def test_a_plain_view_reads_only_its_column_names() -> None:
    d = read("CREATE VIEW db.v (x UInt8 DEFAULT 1, INDEX i x TYPE minmax) AS SELECT 1 AS x")
    assert [c.text() for c in d.columns] == ["x ", "INDEX "] and d.indices == ()


def test_a_view_without_a_query() -> None:
    d = read("CREATE VIEW db.v")
    assert (d.view_query.text, d.query_tokens, d.columns) == ("", (), ())


def test_primary_alone_is_a_column_and_a_bare_primary_key_is_none() -> None:
    d = read("CREATE TABLE db.t (a String, primary) ENGINE = Memory")
    assert [c.name for c in d.columns] == ["a", "primary"]
    assert d.undecidable == "column primary has no type; the engine infers it from its default expression"
    d = read("CREATE TABLE db.t (a String, PRIMARY KEY) ENGINE = MergeTree ORDER BY a")
    assert [c.name for c in d.columns] == ["a"] and texts(d.primary_key) == ["a"]


def test_a_views_column_names() -> None:
    d = read("CREATE VIEW db.v (x, `y z`) AS SELECT 1 AS x, 2 AS `y z`")
    assert columns(d) == [("x", "", "", "", "", "", "", "", ""), ("y z", "", "", "", "", "", "", "", "")]
    assert d.view_query.text == "SELECT 1 AS x, 2 AS `y z`" and d.kind == "view"
    assert read("CREATE VIEW db.v AS SELECT 1 AS x").columns == ()


def test_a_type_may_hold_a_column_word() -> None:
    spelled = "CREATE TABLE db.t (a Tuple(comment String, ttl UInt8) DEFAULT (1, 2), b String) ENGINE = Memory"
    assert columns(read(spelled))[0] == ("a", "Tuple(comment String, ttl UInt8)", "DEFAULT", "(1, 2)", "", "", "", "", "")
    stmt = split_statements(spelled)[0]
    assert [(n, stmt.text[s:e]) for n, s, e in column_types(stmt)] == [("a", "Tuple(comment String, ttl UInt8)"),
                                                                        ("b", "String")]


def test_column_types_of_a_table_named_without_a_space_or_without_a_name() -> None:
    stmt = split_statements("CREATE TABLE db.t(a UInt8, PROJECTION p (SELECT a), CONSTRAINT c CHECK a > 0, "
                            "PRIMARY KEY a, b Date)")[0]
    assert [(n, stmt.text[s:e]) for n, s, e in column_types(stmt)] == [("a", "UInt8"), ("b", "Date")]
    assert column_types(split_statements("CREATE TABLE (a String)")[0]) == []
    stmt = split_statements("CREATE TABLE db.t (a Tuple(), b String)")[0]
    assert [(n, stmt.text[s:e]) for n, s, e in column_types(stmt)] == [("a", "Tuple()"), ("b", "String")]


# --- written against the survivors of the third fresh run ------------------------------------------------------------


def test_not_null_then_a_default() -> None:
    assert columns(read("CREATE TABLE db.t (a UInt32 NOT NULL DEFAULT 1) ENGINE = Memory")) == [
        ("a", "UInt32", "DEFAULT", "1", "", "", "", "", "")]


def test_an_empty_tuple_type_is_read_to_its_end() -> None:
    d = read("CREATE TABLE db.t (a Tuple() DEFAULT (), b String) ENGINE = Memory")
    assert [(c.name, c.default_kind, c.default.text) for c in d.columns] == [("a", "DEFAULT", "()"), ("b", "", "")]


def test_a_bracket_in_a_default_or_ttl_is_skipped_whole() -> None:
    """A column named `ttl` inside a bracketed default or TTL is not the TTL keyword."""
    d = read("CREATE TABLE db.t (a UInt8 DEFAULT (ttl + 1) COMMENT 'x', ttl UInt8 TTL toDate(d) COMMENT 'y', "
             "c UInt8 TTL d + toIntervalDay(ttl) COMMENT 'z', d DateTime) ENGINE = MergeTree ORDER BY a")
    assert columns(d) == [("a", "UInt8", "DEFAULT", "(ttl + 1)", "x", "", "", "", ""),
                          ("ttl", "UInt8", "", "", "y", "", "toDate(d)", "", ""),
                          ("c", "UInt8", "", "", "z", "", "d + toIntervalDay(ttl)", "", ""),
                          ("d", "DateTime", "", "", "", "", "", "", "")]


def test_empty_as_select_is_not_part_of_the_engine() -> None:
    d = read("CREATE TABLE db.t (a String) ENGINE = Memory EMPTY AS SELECT 'x' AS a")
    assert (d.engine.text, columns(d), d.undecidable) == ("Memory", [("a", "String", "", "", "", "", "", "", "")], "")


@pytest.mark.parametrize(("sql", "engine", "settings", "ttl"), [  # half-written: read without a traceback
    ("CREATE TABLE db.t (a String) ENGINE = MergeTree ORDER", "MergeTree ORDER", [("index_granularity", "8192")], []),
    ("CREATE TABLE db.t (a String) ENGINE = MergeTree SETTINGS x =", "MergeTree", [("x", ""), ("index_granularity",
                                                                                               "8192")], []),
    ("CREATE TABLE db.t (d Date) ENGINE = MergeTree ORDER BY d TTL d DELETE", "MergeTree", [("index_granularity", "8192")],
     ["d"]),
])
def test_clauses_cut_short(sql: str, engine: str, settings: list[tuple[str, str]], ttl: list[str]) -> None:
    d = read(sql)
    assert (d.engine.text, [(k, v.text) for k, v in d.settings], texts(d.ttl)) == (engine, settings, ttl)
