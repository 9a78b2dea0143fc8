"""The lexer of ClickHouse SQL: quotes, backticks, `--`, `#` and nested `/* */` comments, escaped quotes,
heredocs. Every reader of SQL in the package (the splitter, templates, cluster rewrites, the static
validator) tokenizes with it, so a `;` or a `${` inside a string is never mistaken for code.
"""

from __future__ import annotations

import bisect
import re
from typing import NamedTuple

from chconform.errors import SourceError

__all__ = ["Token", "tokenize"]


class Token(NamedTuple):
    """One lexeme; a named tuple, not a dataclass, because a megabyte of SQL makes a million of them."""

    kind: str  # word | ident | string | number | punct | comment | space
    text: str
    start: int  # offset in the source text

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def value(self) -> str:
        """The identifier's name without quoting."""
        if self.kind == "ident":
            return self.text[1:-1].replace(self.text[0] * 2, self.text[0])
        return self.text


# Character classes of the lexer's simple runs (this scans characters; it does not parse SQL).
# ClickHouse reads Unicode spaces (no-break space, BOM, zero-width space and joiners) between tokens as
# whitespace, but not the ASCII separators 0x1C-0x1F nor U+1680: neither does this lexer.
_SPACE = re.compile(r"(?:[^\S\x1c-\x1f\u1680]|[\u180e\u200b-\u200d\u2060\ufeff])+")
_WORD = re.compile(r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\s\u180e\u200b-\u200d\u2060\ufeff]+")
_QUOTED = r"{q}(?:[^{q}\\]++|\\.|{q}{q})*+{q}"  # possessive: an unterminated one fails in linear time
# One match per token, dispatched on the group's name; `/*` and `$` need more than a pattern.
_TOKEN = re.compile("|".join([
    rf"(?P<space>{_SPACE.pattern})",
    r"(?P<comment>--[^\n]*|#[! ][^\n]*)",
    r"(?P<block>/\*)",
    "(?P<string>" + _QUOTED.format(q="'") + ")",
    "(?P<ident>" + _QUOTED.format(q='"') + "|" + _QUOTED.format(q="`") + ")",
    r"(?P<dollar>\$)",
    r"(?P<number>\d[\w.]*)",
    rf"(?P<word>{_WORD.pattern})",
    r"(?P<punct>.)",
]), re.DOTALL)
_COMMENT_MARK = re.compile(r"/\*|\*/")
_HEREDOC_TAG = re.compile(r"(?=(\$\w*\$))")
_UNTERMINATED = {"'": ("string", "close it with '"), '"': ("quoted identifier", 'close it with "'),
                 "`": ("quoted identifier", "close it with `")}


def tokenize(text: str) -> list[Token]:
    """Lex ClickHouse SQL into tokens; unterminated quotes/comments raise SourceError.

    Linear in the text: every token is one regular-expression match (or one index lookup for a
    heredoc's closing tag), never a search of the rest of the text per token.
    """
    tokens: list[Token] = []
    append = tokens.append
    heredocs = _Heredocs(text)
    match = _TOKEN.match
    i, n = 0, len(text)
    while i < n:
        m = match(text, i)
        kind, end = m.lastgroup, m.end()  # type: ignore[union-attr]
        if kind == "block":
            close = _end_of_comment(text, i)
            if close is None:
                raise _unterminated(text, i, "comment /*", "close it with */")
            kind, end = "comment", close
        elif kind == "dollar":
            close = heredocs.end(i)
            if close is not None:
                kind, end = "string", close
            else:
                kind, end = "word", _WORD.match(text, i).end()  # type: ignore[union-attr]
        elif kind == "punct" and text[i] in _UNTERMINATED:
            what, hint = _UNTERMINATED[text[i]]
            raise _unterminated(text, i, what, hint)
        append(Token(kind, text[i:end], i))  # type: ignore[arg-type]
        i = end
    return tokens


def _end_of_comment(text: str, i: int) -> int | None:
    """End of a `/* */` comment starting at i (ClickHouse nests them); None if it never closes."""
    depth = 0
    for mark in _COMMENT_MARK.finditer(text, i):
        if mark.group() == "/*":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return mark.end()
    return None


class _Heredocs:
    """`$tag$ … $tag$` strings: every tag occurrence indexed once, so a closing tag is a lookup, not a search."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at: dict[str, list[int]] | None = None  # tag -> offsets, built on the first `$`

    def end(self, i: int) -> int | None:
        """End of the heredoc opening at i; None if no `$tag$` opens there or it never closes."""
        if self.at is None:
            self.at = {}
            for found in _HEREDOC_TAG.finditer(self.text):
                self.at.setdefault(found.group(1), []).append(found.start())
        m = _HEREDOC_TAG.match(self.text, i)
        if m is None:
            return None
        tag = m.group(1)
        places = self.at[tag]  # the index holds every tag the same pattern finds, this one too
        k = bisect.bisect_left(places, i + len(tag))
        return places[k] + len(tag) if k < len(places) else None


def _position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _unterminated(text: str, start: int, what: str, hint: str) -> SourceError:
    line, col = _position(text, start)
    return SourceError(f"line {line}:{col}: unterminated {what}; {hint}")
