"""--quiet on streaming commands: only lines naming a problem, and the verdict (the last line) always."""

from __future__ import annotations

import io

from chconform.commands._common import Lines


def feed(quiet: bool, *lines: str) -> str:
    out = io.StringIO()
    write = Lines(out, quiet)
    for line in lines:
        write(line)
    write.close()
    return out.getvalue()


def test_everything_when_not_quiet() -> None:
    assert feed(False, "OK  a", "OK  b", "done") == "OK  a\nOK  b\ndone\n"


def test_quiet_keeps_problems_and_the_verdict() -> None:
    assert feed(True, "OK    clean", "FAIL  smoke: 2 rows", "OK    check", "evidence: 1 FAIL") == \
        "FAIL  smoke: 2 rows\nevidence: 1 FAIL\n"
    assert feed(True, "OK  a", "OK  b", "evidence: 3 OK, 0 FAIL") == "evidence: 3 OK, 0 FAIL\n"


def test_a_verdict_already_shown_is_not_repeated() -> None:
    assert feed(True, "OK  a", "REFUSED  x") == "REFUSED  x\n"


def test_path_quiet_shows_failing_paths_only_and_verbose_every_skip() -> None:
    from chconform.checks.path import PathResult
    from chconform.checks.run import Skipped
    from chconform.commands.path import render_paths_text

    skips = tuple(Skipped(i, "access control needs a server", f"GRANT {i}") for i in range(5))
    good = PathResult("good", ("a.sql",), skipped=skips)
    from chconform.checks.path import DataLoss

    bad = PathResult("bad", ("b.sql",), data_loss=(DataLoss("db.t", 1, 0, "b.sql", 3, "DROP TABLE db.t"),))
    quiet = render_paths_text([good, bad], "embedded", "24.8", "c.sql", False, quiet=True)
    assert "path good" not in quiet and "path bad" in quiet and "chconform path:" not in quiet
    assert quiet.rstrip().endswith("FAIL: bad")
    normal = render_paths_text([good], "embedded", "24.8", "c.sql", False)
    assert "... and 2 more skipped" in normal and "GRANT 4" not in normal
    verbose = render_paths_text([good], "embedded", "24.8", "c.sql", False, verbose=True)
    assert "GRANT 4" in verbose and "more skipped" not in verbose
