"""The parent's lexing on hostile shapes: seconds per MiB at 256 KiB, and the time growth from 256 KiB to 1 MiB.

Linear lexing keeps the growth near 4× (not 16×) whatever the input is made of. Prints JSON:
[[shape, [s/MiB at 256 KiB, ...], [growth 1 MiB / 256 KiB, ...]], ...] over three repeats each.
Usage: python benchmarks/lexing.py
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from chconform.sql.lexer import tokenize  # noqa: E402
from chconform.sql.source import split_statements  # noqa: E402

MIB = 1 << 20
DDL = ("CREATE TABLE IF NOT EXISTS db.t{n} (id UInt64, name String DEFAULT 'x', at DateTime) "
       "ENGINE = MergeTree ORDER BY id;\n")
# each a repeating unit; the whole input is a valid text of that shape, about `size` bytes
SHAPES: dict[str, Callable[[int], str]] = {
    "DDL statements": lambda size: "".join(DDL.format(n=n) for n in range(size // len(DDL) + 1)),
    "one string literal of escaped quotes": lambda size: "SELECT '" + "\\'a''" * (size // 5) + "';\n",
    "one backquoted name of doubled backticks": lambda size: "SELECT `" + "a``" * (size // 3) + "`;\n",
    "nested block comments": lambda size: "/*" * (size // 4) + "*/" * (size // 4) + " SELECT 1;\n",
    "a line comment per line": lambda size: "-- a comment ' \" ` /* ;\n" * (size // 25) + "SELECT 1;\n",
    "empty statements": lambda size: ";" * size,
    "deep parentheses": lambda size: "SELECT " + "(" * (size // 2) + "1" + ")" * (size // 2) + ";\n",
    "a heredoc": lambda size: "SELECT $x$" + "$ $$ ' ; " * (size // 9) + "$x$;\n",
}


def seconds(fn: Callable[[str], object], text: str) -> float:
    started = time.perf_counter()
    fn(text)
    return time.perf_counter() - started


def main() -> int:
    out = []
    for name, make in SHAPES.items():
        small, big = make(MIB // 4), make(MIB)
        per, growth = [], []
        for _ in range(3):
            a = seconds(tokenize, small) + seconds(split_statements, small)
            b = seconds(tokenize, big) + seconds(split_statements, big)
            per.append(a * MIB / len(small))
            growth.append((b / len(big)) / (a / len(small)) * 4)
        out.append([name, per, growth])
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
