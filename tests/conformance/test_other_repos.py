"""Golden repositories shaped like other people's (issue 13): clusters, templates, server settings, DROP rules,
one finding per cause. SQL written for these tests; each case failed before the change it covers."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from chconform.cli import run

pytestmark = pytest.mark.engine

REPOS = Path(__file__).resolve().parents[1] / "data" / "repos"


def _check(config: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", "--config", str(REPOS / config), "--format", "json", "--backend", "embedded",
                *extra], out, err)
    return code, (json.loads(out.getvalue()) if out.getvalue().strip() else {}), err.getvalue()


def _source(report: dict[str, Any], suffix: str) -> dict[str, Any]:
    return next(s for s in report["sources"] if s["path"].endswith(suffix))


def _aspects(source: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(d["object"], d["aspect"], d["canonical"], d["actual"]) for d in source["differences"]}


def test_clustered_and_unclustered_variants_compare_on_one_node() -> None:
    code, report, err = _check("clustered/chconform.toml")
    assert code == 1, err
    clustered = _source(report, "cluster/schema.sql")
    assert clustered["ok"] and clustered["errors"] == [] and clustered["differences"] == []
    (note,) = clustered["notes"]
    assert "4 ON CLUSTER clauses dropped" in note and "2 Replicated engines applied as the base engine" in note
    assert clustered["tables"] == {} or set(clustered["tables"].values()) <= {"identical"}
    drifted = _source(report, "cluster/drifted.sql")
    assert _aspects(drifted) == {("metrics.hits_local", "sorting_key", "site_id, seen_at", "site_id, path, seen_at")}
    assert _source(report, "clustered/schema.sql")["ok"]


def test_replication_arguments_are_an_aspect_of_their_own() -> None:
    code, report, err = _check("clustered/replicated.toml")
    assert code == 1, err
    assert _aspects(_source(report, "cluster/drifted.sql")) == {
        ("metrics.hits_local", "sorting_key", "site_id, seen_at", "site_id, path, seen_at"),
        ("metrics.hits_local", "replication", "'/clickhouse/tables/{shard}/metrics/hits_local', '{replica}'",
         "'/clickhouse/tables/{shard}/hits_local_v2', '{replica}'"),
    }


def test_templated_sources_are_substituted_for_the_live_check_and_the_static_validator() -> None:
    code, report, err = _check("templated/chconform.toml")
    assert code == 0, (err, report)
    assert report["sources"][0]["tables"] == {"staging.request_log": "identical", "staging.slow_requests": "identical"}
    out, err2 = io.StringIO(), io.StringIO()
    assert run(["validate", "--config", str(REPOS / "templated/chconform.toml")], out, err2) == 0, out.getvalue()


def test_templated_steps_of_a_path_are_substituted() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run(["path", "--config", str(REPOS / "templated/chconform.toml"), "--format", "json",
                "--backend", "embedded"], out, err)
    assert code == 0, out.getvalue() + err.getvalue()


def test_unset_placeholder_is_one_clear_error() -> None:
    code, report, err = _check("templated/unset.toml")
    assert code == 1, err
    (error,) = report["sources"][0]["errors"]
    assert error["name"] == "UNREADABLE"
    assert error["message"] == ("seed/schema.sql:14: placeholder ${LOGS_TTL} has no value; "
                                "set LOGS_TTL under [variables] in the configuration")


def test_server_defaults_and_settings_accept_what_a_server_accepts() -> None:
    code, report, err = _check("server_settings/chconform.toml")
    assert code == 0, (err, report)
    code, report, err = _check("server_settings/no_profile.toml")  # the [settings] table off: refused
    assert code == 1
    (error,) = report["sources"][0]["errors"]
    assert error["name"] == "SUSPICIOUS_TYPE_FOR_LOW_CARDINALITY"


def test_a_typo_in_settings_is_a_config_error() -> None:
    code, report, err = _check("server_settings/typo.toml")
    assert code == 2 and report == {}
    assert "allow_suspicous_low_cardinality_types is not a setting ClickHouse lists" in err
    assert len(err.strip().splitlines()) == 1


def test_drop_rules_tell_lost_rows_from_style() -> None:
    code, report, err = _check("drops/chconform.toml")
    assert code == 1, err
    rebuild = _source(report, "0007_rebuild.sql")
    assert [(d["object"], d["aspect"], d["actual"], d["line"]) for d in rebuild["differences"]] == [
        ("crm_scratch", "drop_not_recreated", "DROP DATABASE crm_scratch", 5)]
    assert rebuild["warnings"] == [
        "migrations/0007_rebuild.sql:2: drop_before_create: DROP TABLE crm.contacts: re-created at line 7, "
        "not right after the DROP",
        "migrations/0007_rebuild.sql:3: drop_before_create: DROP TABLE crm.deals: re-created at line 16, "
        "not right after the DROP",
        "migrations/0007_rebuild.sql:4: drop_view_not_recreated: DROP VIEW crm.contacts_by_domain: "
        "not created again in this file (a view holds no rows)",
    ]
    cleanup = _source(report, "0008_cleanup.sql")
    assert [(d["object"], d["aspect"], d["line"]) for d in cleanup["differences"]] == [
        ("crm.deals_old", "drop_not_recreated", 6)]  # a different table created after it re-creates nothing
    (ignored,) = cleanup["ignored"]
    assert ignored.startswith("migrations/0008_cleanup.sql:3: drop_not_recreated: DROP TABLE crm.contacts_archive")
    assert ignored.endswith("(ignored: archive moved to cold storage in 2025, rows exported first)")


def test_rule_severities_from_config() -> None:
    code, report, err = _check("drops/strict.toml")
    assert code == 1, err
    rebuild = _source(report, "0007_rebuild.sql")
    assert [(d["aspect"], d["line"]) for d in rebuild["differences"]] == [
        ("drop_before_create", 2), ("drop_before_create", 3), ("drop_not_recreated", 5)]
    assert rebuild["warnings"] == []
    assert rebuild["ignored"] == ["migrations/0007_rebuild.sql:4: drop_view_not_recreated: DROP VIEW "
                                  "crm.contacts_by_domain: not created again in this file (a view holds no rows) "
                                  "(off in [rules])"]


def test_one_finding_per_cause() -> None:
    code, report, err = _check("one_cause/chconform.toml")
    assert code == 1, err
    copy = _source(report, "copy.sql")
    (error,) = copy["errors"]  # not repeated in round 2
    assert (error["round"], error["line"]) == (1, 68)
    assert copy["missing_tables"] == []  # ledger.balances is absent because of that error, already shown
    assert {(d["aspect"], d["canonical"], d["actual"]) for d in copy["differences"]} == {
        ("sorting_key", "account_id, booked_on", "booked_on, account_id"),  # no primary_key echoing it
        ("view_query", "… entries WHERE amount > 0 GROUP BY …", "… entries WHERE amount >= 0 GROUP BY …"),
    }


def test_distributed_table_compares_as_the_local_table_it_fronts() -> None:
    code, report, err = _check("facade/chconform.toml")
    assert code == 1, err
    assert _source(report, "cluster/schema.sql")["ok"]
    assert _source(report, "cluster/schema.sql")["tables"] == {"default.orders": "identical"}
    assert _aspects(_source(report, "cluster/drifted.sql")) == {
        ("default.orders", "sorting_key", "placed_at, order_id", "order_id")}
