"""`chconform validate [--format text|json] [--prove]`: the static validator at the CLI edge.

Exit codes as everywhere: 0 every definition agrees, 1 findings, 2 unreadable input
(one line naming the file and why). `--prove` is the mutation proof the original task
asks for by hand: one column type changed in a copy must fail, the untouched copy must pass.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, TextIO

from chconform.commands._common import (
    CI_FORMATS,
    EXIT_BAD,
    EXIT_FOUND,
    EXIT_OK,
    command,
    common_options,
    display_for,
    emit,
    render_outcome,
)
from chconform.reports.escape import safe

__all__ = ["PASSED", "cmd_validate", "prove", "render_json", "render_text", "to_json"]

PASSED = "Schema validation passed."


def _arguments(p: argparse.ArgumentParser) -> None:
    common_options(p, ("text", "json", *CI_FORMATS))
    p.add_argument("--prove", action="store_true",
                   help="mutation proof: change one column type in a copy of the sources, expect exit 1 naming "
                        "that file and table; expect the unmodified copy to pass")


@command("validate", "static validator: every definition agrees with the canon, without an engine", _arguments)
def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from chconform.checks.static import validate
    from chconform.config import load_config

    config = load_config(args.config)
    if args.prove:
        return prove(config, out)
    report = validate(config)
    display = display_for(config)
    if args.format in CI_FORMATS:
        from chconform.reports.findings import from_validate

        text = render_outcome(args.format, from_validate(report, display))
    else:
        text = render_json(report, display) if args.format == "json" else render_text(report, display, args.quiet)
    emit(args, text, out)
    return EXIT_OK if report.ok else EXIT_FOUND


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def _status(report: Any, source: Any, table: str) -> str:
    if table not in source.defined:
        return "absent"
    if any(d.object == table for d in source.differences):
        return "differs"
    if any(n.object == table for n in source.notes):
        return "undecidable"
    return "identical"


def _same(path: str) -> str:
    return path


def _variant_lines(report: Any, display: Any = _same) -> list[str]:
    from chconform.reports.render import difference_line
    from chconform.schema.static import compare_definitions

    lines: list[str] = []
    for table, variants in report.variants.items():
        lines.append(f"CRITICAL: {table} has {len(variants)} distinct definitions:")
        reference = variants[0]
        for k, v in enumerate(variants):
            label = chr(ord("A") + k) if k < 26 else str(k)
            tag = " (canonical)" if v.canonical else ""
            lines.append(f"  variant {label}{tag}: {safe(', '.join(display(p) for p in v.places))}")
            if k:
                for d in compare_definitions(reference.definition, v.definition)[:8]:
                    shown = difference_line(d).split("  ", 1)[1]
                    lines.append(f"      vs A: {shown}")
    return lines


def render_text(report: Any, display: Any = _same, quiet: bool = False) -> str:
    """CRITICAL variants first, then each finding as `file:line  table.column  aspect: canonical → actual`.

    `quiet` leaves out the undecidable notes."""
    from chconform.reports.render import CAP, difference_line

    lines = _variant_lines(report, display)
    for d in report.unconfigured:
        lines.append(f"CRITICAL: {safe(display(d.source))} creates a table but is not a configured source; "
                     "add a [[source]] for it, name it in a [[path]]'s steps if it is an upgrade step "
                     "(or move it out of the root)")
    for s in report.sources:
        findings = [difference_line(d, display) for d in s.differences]
        findings += [f"{safe(display(s.path))}  {safe(t)}  missing_table: required by must_define → absent"
                     for t in s.missing_tables]
        if findings:
            lines.append(f"FAIL  {safe(display(s.path))}")
            lines.extend("      " + f for f in findings[:CAP])
            if len(findings) > CAP:
                lines.append(f"      ... and {len(findings) - CAP} more")
        lines.extend(f"      warning: {safe(w)}" for w in s.warnings)
    notes = report.notes
    for n in [] if quiet else notes:
        lines.append(f"note: {safe(n.text())}")
    failed = [safe(display(s.path)) for s in report.sources if not s.ok]
    if not report.ok:
        count = sum(len(s.differences) + len(s.missing_tables) for s in report.sources) + len(report.unconfigured)
        where = f" in {len(failed)} of {len(report.sources)} sources" if failed else ""
        lines.append(f"Schema validation FAILED: {count} finding{'s' if count != 1 else ''}{where}"
                     + (f": {', '.join(failed)}" if failed else ""))
    elif notes:
        lines.append(f"{PASSED[:-1]} for everything the static layer can decide; {len(notes)} "
                     f"definition{'s are' if len(notes) != 1 else ' is'} undecidable statically "
                     "(see the notes; `chconform check` decides them).")
    else:
        lines.append(PASSED)
    return "\n".join(lines) + "\n"


def to_json(report: Any, display: Any = _same) -> dict[str, Any]:
    """The same Difference fields as `chconform check --format json`, plus variants and undecidable notes."""
    from chconform.reports.findings import json_header
    from chconform.reports.render import json_difference
    from chconform.schema.static import compare_definitions

    return {
        **json_header(),
        "ok": report.ok,
        "checker": "static",
        "canonical": display(report.canonical),
        "sources": [
            {
                "path": display(s.path),
                "role": s.role,
                "ok": s.ok,
                "differences": [json_difference(d, display) for d in s.differences],
                "missing_tables": list(s.missing_tables),
                "undecidable": [{"object": n.object, "line": n.line, "why": n.why} for n in s.notes],
                "warnings": list(s.warnings),
                "tables": {t: _status(report, s, t) for t in report.key_tables},
            }
            for s in report.sources
        ],
        "variants": {
            table: [
                {"canonical": v.canonical, "places": [display(p) for p in v.places],
                 "differences": [json_difference(d, display)
                                 for d in compare_definitions(variants[0].definition, v.definition)]}
                for v in variants
            ]
            for table, variants in report.variants.items()
        },
        "unconfigured": [display(d.source) for d in report.unconfigured],
    }


def render_json(report: Any, display: Any = _same) -> str:
    return json.dumps(to_json(report, display), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------
# --prove
# ---------------------------------------------------------------------------


def copy_sources(config: Any, dest: Path) -> Path:
    """Copy every configured source (bytes as they are) under `dest`; write and return dest/chconform.toml."""
    lines = ['root = "."', f"canonical = {json.dumps(config.canonical)}",
             f"key_tables = {json.dumps(list(config.key_tables))}", f"prelude = {json.dumps(list(config.prelude))}",
             f"timeout_s = {config.timeout_s}"]
    for spec in config.sources:
        target = dest / spec.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(spec.file, target)
        lines += ["", "[[source]]", f"path = {json.dumps(spec.path)}", f"role = {json.dumps(spec.role)}",
                  f"must_define = {json.dumps(list(spec.must_define))}"]
    toml = dest / "chconform.toml"
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return toml


def pick_mutation(config: Any) -> tuple[str, str, str, int, int, int, str, str] | None:
    """(file, table, column, line, start, end, old type, new type) of one key-table column to retype.

    Only a non-canonical source: the finding must then name that file alone (a change to the
    canon's only copy of a table would have nothing to differ from)."""
    from chconform.schema.static import canonical_type, column_types
    from chconform.sql.source import read_source

    for spec in (s for s in config.sources if s.path != config.canonical):
        source = read_source(spec.file, spec.path)
        for stmt in source.statements:
            table = stmt.target
            if stmt.kind != "create_table" or table is None or table not in config.key_tables:
                continue
            for column, start, end in column_types(stmt):
                old = stmt.text[start:end]
                new = next(t for t in ("Int64", "String") if canonical_type(t) != canonical_type(old))
                line = stmt.line + stmt.text.count("\n", 0, start)
                return spec.path, table, column, line, stmt.start + start, stmt.start + end, old, new
    return None


def _validate_copy(toml: Path) -> tuple[int, str]:
    from chconform.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run(["validate", "--config", str(toml)], out, err)
    return code, out.getvalue() + err.getvalue()


def prove(config: Any, out: TextIO) -> int:
    """Exit 0 only if the mutated copy fails naming the file and table, and the unmodified copy passes."""
    from chconform.sql.source import read_source

    choice = pick_mutation(config)
    if choice is None:
        out.write("prove: no source besides the canonical one defines a key table with a typed column; "
                  "nothing to mutate\n")
        return EXIT_BAD
    path, table, column, line, start, end, old, new = choice
    work = Path(tempfile.mkdtemp(prefix="chconform-prove-"))
    try:
        mutated = copy_sources(config, work / "mutated")
        clean = copy_sources(config, work / "clean")
        file = work / "mutated" / path
        source = read_source(file, path)
        text = source.text[:start] + new + source.text[end:]
        file.write_bytes(("\ufeff" if source.encoding == "utf-8-sig" else "").encode()
                         + text.encode("utf-8" if source.encoding == "utf-8-sig" else source.encoding))
        out.write(f"prove: copied {len(config.sources)} sources to {work}/mutated and {work}/clean\n")
        out.write(f"prove: in the mutated copy, {path}:{line}  {table}.{column}: {old} → {new}\n")
        code, text_out = _validate_copy(mutated)
        named = [ln for ln in text_out.splitlines() if ln.strip().startswith(f"{path}:") and table in ln]
        caught = code == EXIT_FOUND and bool(named)
        out.write(f"prove: validate on the mutated copy: exit {code}; "
                  f"{'names ' + path + ' and ' + table if named else 'does NOT name ' + path + ' / ' + table}: "
                  f"{'OK' if caught else 'FAIL'}\n")
        out.writelines(f"       {ln.strip()}\n" for ln in named)
        code2, text2 = _validate_copy(clean)
        passed = code2 == EXIT_OK and PASSED in text2
        out.write(f"prove: validate on the unmodified copy: exit {code2}; "
                  f"{PASSED if passed else 'did not pass'}: {'OK' if passed else 'FAIL'}\n")
        if not passed:
            out.writelines(f"       {ln}\n" for ln in text2.splitlines()[:20])
        ok = caught and passed
        out.write("prove: " + ("the validator catches a one-column drift and passes the unmodified sources\n" if ok
                               else "FAILED: the validator does not prove what it claims\n"))
        return EXIT_OK if ok else EXIT_FOUND
    finally:
        shutil.rmtree(work, ignore_errors=True)
