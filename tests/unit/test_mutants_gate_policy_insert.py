"""Where an INSERT's inline data starts (chconform.gate.policy: `_insert_parts`, `_words`, `parse_target`).

ClickHouse's parser refuses inline data, so the gate hands it the head alone; the data is never lexed
as SQL (a CSV line may hold anything). The split reads only the head's words: a table or column named
`values` or `format` is a name, a SELECT's words are the SELECT's, `input(…)` brings data back.
Each case writes out the exact head and data (issue 18).
"""

from __future__ import annotations

import pytest

from chconform.gate.policy import _insert_parts, _words, parse_target


@pytest.mark.parametrize(("text", "words"), [
    ("a.b(c)", [("A", 0, 1), (".", 1, 2), ("B", 2, 3), ("(", 3, 4), ("C", 4, 5), (")", 5, 6)]),
    ("a_1 b2;c", [("A_1", 0, 3), ("B2", 4, 6), ("C", 7, 8)]),
    ("_a", [("_A", 0, 2)]),
    ("\ufeff x\u200by", [("X", 2, 3), ("Y", 4, 5)]),
    ("-- c\nx", [("X", 5, 6)]),
    ("--c", []),
    ("x--y\nz", [("X", 0, 1), ("Z", 5, 6)]),
    ("# c\nx", [("X", 4, 5)]),
    ("#", []),
    ("/* a */ b", [("B", 8, 9)]),
    ("/*a*/b", [("B", 5, 6)]),
    ("/**/ x", [("X", 5, 6)]),
    ("/*/ x */ y", [("Y", 9, 10)]),  # `/*/` does not close the comment it opens
    ("/* open", []),
    ("'it\\'s' x", [("X", 8, 9)]),  # a string is skipped, an escaped quote inside it too
    ("'s'x", [("X", 3, 4)]),
    ("'' a", [("A", 3, 4)]),
    ("'open", []),
    ('"q" x', [("`", 0, 3), ("X", 4, 5)]),  # a quoted name is one item, shown as `
    ('"q"x', [("`", 0, 3), ("X", 3, 4)]),
    ('"" a', [("`", 0, 2), ("A", 3, 4)]),
    ("`a\\`b` x", [("`", 0, 6), ("X", 7, 8)]),
    ("(`v`.w)", [("(", 0, 1), ("`", 1, 4), (".", 4, 5), ("W", 5, 6), (")", 6, 7)]),
    ("a+-*/=,b", [("A", 0, 1), ("B", 7, 8)]),  # other punctuation is not read
], ids=repr)
def test_the_head_is_read_as_words_names_and_brackets(text: str, words: list[tuple[str, int, int]]) -> None:
    assert list(_words(text)) == words


def test_words_are_read_lazily() -> None:
    """Data after the head is never lexed: the reader stops where the caller stops asking."""
    words = _words("INSERT INTO t VALUES " + "'" * 3)
    assert [next(words), next(words)] == [("INSERT", 0, 6), ("INTO", 7, 11)]


@pytest.mark.parametrize(("text", "parts"), [
    ("", ("", None)),
    ("SELECT 1", ("SELECT 1", None)),
    ("CREATE TABLE values (a UInt8) ENGINE = Memory", ("CREATE TABLE values (a UInt8) ENGINE = Memory", None)),
    ("insert into t values (1)", ("insert into t values", " (1)")),
    ("INSERT INTO t", ("INSERT INTO t", None)),
    ("INSERT", ("INSERT", None)),
    ("INSERT INTO", ("INSERT INTO", None)),
    ("INSERT INTO TABLE", ("INSERT INTO TABLE", None)),
    ("INSERT INTO FUNCTION", ("INSERT INTO FUNCTION", None)),
    ("INSERT INTO t VALUES", ("INSERT INTO t VALUES", "")),
    ("INSERT INTO t VALUES(1)", ("INSERT INTO t VALUES", "(1)")),
    ("INSERT t VALUES (1)", ("INSERT t VALUES", " (1)")),
    ("INSERT values VALUES (1)", ("INSERT values VALUES", " (1)")),
    ("INSERT INTO TABLE t VALUES (1)", ("INSERT INTO TABLE t VALUES", " (1)")),
    ("INSERT INTO values VALUES (1)", ("INSERT INTO values VALUES", " (1)")),
    ("INSERT INTO TABLE values VALUES (1)", ("INSERT INTO TABLE values VALUES", " (1)")),
    ("INSERT INTO format FORMAT CSV\n1\n", ("INSERT INTO format FORMAT CSV", "\n1\n")),
    ("INSERT INTO select VALUES (1)", ("INSERT INTO select VALUES", " (1)")),
    ("INSERT INTO FUNCTION format('x') VALUES (1)", ("INSERT INTO FUNCTION format('x') VALUES", " (1)")),
    ("INSERT INTO TABLE FUNCTION null('a UInt8') VALUES (1)", ("INSERT INTO TABLE FUNCTION null('a UInt8') VALUES",
                                                               " (1)")),
    ("INSERT INTO FUNCTION s3('u', format = 'CSV') SELECT 1", ("INSERT INTO FUNCTION s3('u', format = 'CSV') SELECT 1",
                                                               None)),
    ("INSERT INTO db.values VALUES (1)", ("INSERT INTO db.values VALUES", " (1)")),
    ("INSERT INTO db.format FORMAT CSV\n1\n", ("INSERT INTO db.format FORMAT CSV", "\n1\n")),
    ("INSERT INTO values.t VALUES (1)", ("INSERT INTO values.t VALUES", " (1)")),
    ("INSERT INTO `db`.`t` VALUES (2)", ("INSERT INTO `db`.`t` VALUES", " (2)")),
    ("INSERT INTO t (values, format) VALUES (1, 2)", ("INSERT INTO t (values, format) VALUES", " (1, 2)")),
    ("INSERT INTO t (a, (values)) VALUES (1)", ("INSERT INTO t (a, (values)) VALUES", " (1)")),
    ("INSERT INTO t (select) VALUES (1)", ("INSERT INTO t (select) VALUES", " (1)")),
    ("INSERT INTO t (with, a) FORMAT CSV\n1,2\n", ("INSERT INTO t (with, a) FORMAT CSV", "\n1,2\n")),
    ("INSERT INTO t (a) SELECT values FROM u", ("INSERT INTO t (a) SELECT values FROM u", None)),
    ("INSERT INTO t WITH 1 AS values SELECT values", ("INSERT INTO t WITH 1 AS values SELECT values", None)),
    ("INSERT INTO t SELECT 1 FORMAT CSV", ("INSERT INTO t SELECT 1 FORMAT CSV", None)),
    ("INSERT INTO t SELECT (1) VALUES", ("INSERT INTO t SELECT (1) VALUES", None)),
    ("INSERT INTO t SELECT * FROM input('a UInt8') FORMAT CSV\n1\n",
     ("INSERT INTO t SELECT * FROM input('a UInt8') FORMAT CSV", "\n1\n")),
    ("INSERT INTO t SELECT * FROM input ('a UInt8') FORMAT CSV\n1\n",
     ("INSERT INTO t SELECT * FROM input ('a UInt8') FORMAT CSV", "\n1\n")),
    ("INSERT INTO t SELECT * FROM myinput('a') FORMAT CSV\n1\n",
     ("INSERT INTO t SELECT * FROM myinput('a') FORMAT CSV\n1\n", None)),
    ("INSERT INTO t SELECT * FROM input('a') AS values FORMAT TSV\nx",  # the parse's format tells (judge_many)
     ("INSERT INTO t SELECT * FROM input('a') AS values", " FORMAT TSV\nx")),
    ("INSERT INTO t FORMAT", ("INSERT INTO t FORMAT", None)),
    ("INSERT INTO t FORMAT CSV", ("INSERT INTO t FORMAT CSV", "")),
    ("INSERT INTO t FORMAT CSV(1)", ("INSERT INTO t FORMAT CSV", "(1)")),
    ('INSERT INTO t FORMAT "CSV" 1,2', ('INSERT INTO t FORMAT "CSV"', " 1,2")),
    ("INSERT INTO t (a) FORMAT Values (1)", ("INSERT INTO t (a) FORMAT Values", " (1)")),
    ("INSERT INTO t SETTINGS x = 1 VALUES (1)", ("INSERT INTO t SETTINGS x = 1 VALUES", " (1)")),
    ("INSERT INTO t /* VALUES */ FORMAT CSV\n'VALUES\n", ("INSERT INTO t /* VALUES */ FORMAT CSV", "\n'VALUES\n")),
    ("INSERT INTO t VALUES ('a) VALUES (b')", ("INSERT INTO t VALUES", " ('a) VALUES (b')")),
], ids=repr)
def test_the_head_ends_where_the_data_starts(text: str, parts: tuple[str, str | None]) -> None:
    assert _insert_parts(text) == parts


@pytest.mark.parametrize(("text", "target"), [
    ("\n  SELECT 1 ;\n", "SELECT 1"),
    ("SELECT 1;;", "SELECT 1"),
    ("  INSERT INTO t VALUES (1);", "INSERT INTO t VALUES"),
    ("INSERT INTO t FORMAT CSV ;\n1;\n", "INSERT INTO t FORMAT CSV"),
    (" ; SELECT 1", "; SELECT 1"),
], ids=repr)
def test_the_parser_gets_the_head_without_spaces_or_semicolons_around_it(text: str, target: str) -> None:
    assert parse_target(text) == target
