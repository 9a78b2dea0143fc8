"""Mutation tests of sql/source (decoding, the lexer, the statement splitter, templates, a column's line).

Each test pins exact behaviour: tokens with their kinds and offsets, statements with their lines and columns,
error messages in full (file, line, what is wrong, what to do).
"""

from __future__ import annotations

from chconform.sql.lexer import Token, tokenize


def test_every_token_kind_with_its_offset() -> None:
    assert tokenize("SELECT a1, 'x' -- c\n") == [
        Token("word", "SELECT", 0), Token("space", " ", 6), Token("word", "a1", 7), Token("punct", ",", 9),
        Token("space", " ", 10), Token("string", "'x'", 11), Token("space", " ", 14),
        Token("comment", "-- c", 15), Token("space", "\n", 19)]
