"""JUnit XML for test reports: a test case per source (or path) and check; each error finding a failure."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from chconform.reports.escape import safe
from chconform.reports.findings import Outcome

__all__ = ["render_junit"]


def _where(path: str, line: int | None) -> str:
    return f"{path}:{line}" if line else path


def render_junit(outcome: Outcome) -> str:
    suite = ET.Element("testsuite", name=f"chconform {outcome.command}", tests=str(len(outcome.cases)),
                       failures=str(sum(c.failed for c in outcome.cases)), errors="0", skipped="0",
                       time=f"{sum(c.duration_s for c in outcome.cases):.3f}")
    if outcome.clickhouse_version:
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="clickhouse_version", value=outcome.clickhouse_version)
    for case in outcome.cases:
        element = ET.SubElement(suite, "testcase", name=safe(case.name), classname=case.classname,
                                time=f"{case.duration_s:.3f}")
        errors = [f for f in case.findings if f.level == "error"]
        if errors:
            failure = ET.SubElement(element, "failure", type=errors[0].rule,
                                    message=safe(f"{len(errors)} finding{'s' if len(errors) != 1 else ''}"))
            failure.text = "\n".join(f"{_where(f.path, f.line)}  [{f.rule}] {safe(f.message)}" for f in errors)
        rest = [f for f in case.findings if f.level != "error"]
        if rest:
            ET.SubElement(element, "system-out").text = "\n".join(
                f"{f.level}: {_where(f.path, f.line)}  [{f.rule}] {safe(f.message)}" for f in rest)
    root = ET.Element("testsuites", name="chconform")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
