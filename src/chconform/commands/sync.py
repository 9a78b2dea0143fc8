"""`chconform sync [--check | --write]`: canonicalize every key-table definition in the sources.

`--check` (the default) writes nothing: it prints a unified diff and exits 1 if anything
would change, 0 if nothing would. `--write` changes the files in place (atomically), then
runs the static validator on the result: exit 0 if it passes, 1 if findings remain that
sync does not fix (non-key tables, views, undecidable definitions).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from chconform.commands._common import EXIT_FOUND, EXIT_OK, command

__all__ = ["cmd_sync"]


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="pyproject.toml with [tool.chconform], or a chconform.toml")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="print a unified diff; exit 1 if anything would change "
                                                           "(the default)")
    mode.add_argument("--write", action="store_true", help="rewrite the files in place (temporary file, then rename)")


@command("sync", "rewrite drifted key-table definitions to the canonical text (--check shows, --write applies)",
         _arguments)
def cmd_sync(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.checks.static import validate
    from chconform.config import load_config
    from chconform.plan.sync import beyond_sync, encode, plan, unified_diff, write_atomic

    config = load_config(args.config)
    plans = plan(config)
    only_plan = beyond_sync(plans, validate(config))
    changed = [p for p in plans if p.changed]
    for p in [] if args.quiet else plans:
        out.writelines(f"note: {note}\n" for note in p.notes)
    if not args.write:
        for p in changed:
            out.write(unified_diff(p))
        for p in [] if args.quiet else changed:
            out.writelines(f"sync: {e.why}\n" for e in sorted(p.edits, key=lambda e: e.start))
        out.write(f"sync: {len(changed)} file{'s' if len(changed) != 1 else ''} would change"
                  + (f": {', '.join(p.path for p in changed)}; run `chconform sync --write`\n" if changed else "\n"))
        _only_plan(only_plan, out)
        return EXIT_FOUND if changed or only_plan else EXIT_OK
    data = {p.path: encode(p.new, p.encoding, p.path) for p in changed}  # every file encodable before any write
    for p in changed:
        write_atomic(p.file, data[p.path])
        out.writelines(f"sync: {e.why}\n" for e in sorted(p.edits, key=lambda e: e.start))
        out.write(f"sync: wrote {p.path}\n")
    if not changed:
        out.write("sync: nothing to change\n")
    from chconform.commands.validate import render_text

    report = validate(config)
    out.write(render_text(report))
    _only_plan(beyond_sync(plans, report), out)
    return EXIT_OK if report.ok else EXIT_FOUND


def _only_plan(found: list[tuple[str, str]], out: TextIO) -> None:
    """What rewriting CREATE text cannot fix, and the command that can."""
    for _, line in found:
        out.write(f"sync: not fixable by rewriting a definition: {line}\n")
    for path in sorted({p for p, _ in found}):
        out.write(f"sync: `chconform plan {path}` prints the SQL that brings {path} to the canon\n")
