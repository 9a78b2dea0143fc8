"""SARIF 2.1.0 for code scanning: one run, the rules that fired with their help, results with level and region."""

from __future__ import annotations

import json
from typing import Any

from chconform.reports.escape import safe
from chconform.reports.findings import Finding, Outcome, rule, tool_version

__all__ = ["render_sarif", "to_sarif"]

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"error": "error", "warning": "warning", "note": "note"}


def _result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": f.path}}
    if f.line:
        location["region"] = {"startLine": f.line, **({"startColumn": f.col} if f.col else {})}
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": _LEVELS.get(f.level, "warning"),
        "message": {"text": safe(f.message)},
        "locations": [{"physicalLocation": location}],
    }
    if f.object:
        out["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": safe(f.object), "kind": "object"}]
    return out


def to_sarif(outcome: Outcome) -> dict[str, Any]:
    findings = outcome.findings
    ids = sorted({f.rule for f in findings})
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    rules = [{"id": r.id, "name": r.id, "shortDescription": {"text": r.summary}, "help": {"text": r.help},
              "defaultConfiguration": {"level": r.level}} for r in map(rule, ids)]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "chconform", "version": tool_version(),
                                "informationUri": "https://pypi.org/project/chconform/", "rules": rules}},
            "invocations": [{"executionSuccessful": True,
                             "properties": {"command": outcome.command,
                                            "clickhouseVersion": outcome.clickhouse_version}}],
            "results": [_result(f, index) for f in findings],
        }],
    }


def render_sarif(outcome: Outcome) -> str:
    return json.dumps(to_sarif(outcome), indent=2, ensure_ascii=False) + "\n"
