"""GitHub workflow commands: `::error file=…,line=…,col=…::message` per finding, escaped as GitHub reads them."""

from __future__ import annotations

from chconform.reports.escape import workflow_data, workflow_property
from chconform.reports.findings import Finding, Outcome

__all__ = ["render_github"]

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def annotation(f: Finding) -> str:
    props = [f"file={workflow_property(f.path)}"]
    if f.line:
        props.append(f"line={f.line}")
    if f.col:
        props.append(f"col={f.col}")
    props.append(f"title={workflow_property('chconform ' + f.rule)}")
    return f"::{_COMMAND.get(f.level, 'warning')} {','.join(props)}::{workflow_data(f.message)}"


def render_github(outcome: Outcome) -> str:
    lines = [annotation(f) for f in outcome.findings]
    lines += [f"::notice title=chconform::{workflow_data(n)}" for n in outcome.notes]
    failed = sum(c.failed for c in outcome.cases)
    summary = (f"chconform {outcome.command}: conforms ({len(outcome.cases)} checked)" if outcome.ok else
               f"chconform {outcome.command}: {len(outcome.findings)} findings in {failed} of {len(outcome.cases)}")
    return "\n".join(lines + [summary]) + "\n"
