"""A statement ClickHouse cannot parse is reported as ClickHouse's SYNTAX_ERROR; a statement the gate refuses, REFUSED."""

from __future__ import annotations

from chconform.gate.decide import Verdict, refusal


def test_a_syntax_error_is_clickhouses_own() -> None:
    reason = ("ClickHouse's parser gives no tree, so it does not run: Code: 62. DB::Exception: Syntax error: "
              "failed at position 68 (g) (line 4, col 16): g. (SYNTAX_ERROR)")
    code, name, message = refusal(Verdict("refuse", reason))
    assert (code, name) == (62, "SYNTAX_ERROR")
    assert message.startswith("Syntax error: failed at position 68") and "no tree" not in message
    inner = ("ClickHouse's parser gives no tree, so it does not run: Code: 62. DB::Exception: Syntax error: failed at "
             "position 12 (end of query): (1 +. Unmatched parentheses: '(' at position 8 is never closed: In scope "
             "SELECT parseQueryToJSON('SELECT (1 +'). (SYNTAX_ERROR)")
    assert refusal(Verdict("refuse", inner))[2] == ("Syntax error: failed at position 12 (end of query): (1 +. "
                                                    "Unmatched parentheses: '(' at position 8 is never closed")


def test_anything_else_is_refused_with_the_gates_reason() -> None:
    assert refusal(Verdict("refuse", "file() reads host files")) == (None, "REFUSED", "file() reads host files")
    other = "ClickHouse's parser gives no tree, so it does not run: Code: 1. DB::Exception: boom. (UNSUPPORTED_METHOD)"
    assert refusal(Verdict("refuse", other))[1] == "REFUSED"
