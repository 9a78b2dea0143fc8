"""Pure parts of `chconform smoke`: payload files, their checks, the read-only parse query (no engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chconform.errors import SourceError
from chconform.evidence.smoke import (
    Check,
    Payload,
    SmokeResult,
    format_query,
    job_row_sql,
    load_payloads,
    payload_problems,
    readback_problems,
)

REPO = Path(__file__).resolve().parents[2]
COLUMNS = [
    {"name": "order_id", "type": "String", "default_type": ""},
    {"name": "tickets_sold", "type": "UInt32", "default_type": ""},
    {"name": "_loaded_at", "type": "DateTime", "default_type": "DEFAULT"},
]


def test_the_sample_payloads_load() -> None:
    payloads = load_payloads(REPO / "tests" / "data" / "qtickets", "tests/data/qtickets")
    tables = {p.table for p in payloads}
    assert tables == {"zakaz.stg_qtickets_api_orders_raw", "zakaz.stg_qtickets_api_inventory_raw"}
    assert all(p.rows for p in payloads)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"table": "zakaz.t", "rows": [}', r"p/bad.json:1: invalid JSON"),
        ('{"rows": [{"a": 1}]}', r"needs \"table\""),
        ('{"table": "zakaz.t", "rows": []}', r"needs \"rows\""),
    ],
    ids=["syntax", "no-table", "no-rows"],
)
def test_bad_payload_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.json").write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match=message):
        load_payloads(tmp_path, "p")


def test_unknown_fields_and_missing_required_columns_are_reported() -> None:
    payload = Payload("p.json", "zakaz.t", ({"order_id": "1", "tickets_sold": 2, "typo": 1}, {"order_id": "2"}))
    assert payload_problems(payload, COLUMNS) == [
        "field 'typo' is not a column of zakaz.t",
        "row 2 lacks tickets_sold (no DEFAULT in zakaz.t)",
    ]
    assert payload_problems(Payload("p.json", "zakaz.t", ({"order_id": "1", "tickets_sold": 2},)), COLUMNS) == []


def test_format_query_is_read_only_and_uses_the_live_types() -> None:
    payload = Payload("p.json", "zakaz.t", ({"order_id": "it's", "tickets_sold": 2},))
    sql = format_query(payload, COLUMNS)
    assert sql.startswith("SELECT `order_id`, `tickets_sold` FROM format(JSONEachRow, '`order_id` String, `tickets_sold` UInt32'")
    assert "INSERT" not in sql and "_loaded_at" not in sql
    assert json.dumps("it's")[1:-1].replace("'", "\\'") in sql
    assert "input_format_skip_unknown_fields = 0" in sql and "input_format_null_as_default = 0" in sql


def test_readback_catches_values_the_type_changed() -> None:
    payload = Payload("p.json", "zakaz.t", ({"order_id": "1", "tickets_sold": 5000000000},))
    problems = readback_problems(payload, [{"order_id": "1", "tickets_sold": 705032704}])
    assert problems == ["row 1 tickets_sold: sent 5000000000, the live type reads 705032704"]
    same = Payload("p.json", "zakaz.t", ({"order_id": "ab", "tickets_sold": 5, "x": None},))
    assert readback_problems(same, [{"order_id": "ab\x00\x00", "tickets_sold": "5", "x": None}]) == []
    assert readback_problems(same, []) == ["1 rows sent, 0 parsed"]


def test_smoke_result_needs_unchanged_count_in_dry_run_and_one_more_otherwise() -> None:
    fine = (Check("x", True),)
    assert SmokeResult("t", "v", True, 3, 3, fine).ok
    assert not SmokeResult("t", "v", True, 3, 4, fine).ok
    assert SmokeResult("t", "v", False, 3, 4, fine).ok
    assert not SmokeResult("t", "v", True, None, None, fine).ok
    assert not SmokeResult("t", "v", True, 3, 3, (Check("x", False, "why"),)).ok
    assert not SmokeResult("t", "v", True, 3, 3, ()).ok


def test_without_a_job_table_there_is_no_count_to_compare_but_checks_still_decide() -> None:
    fine = (Check("x", True),)
    assert SmokeResult("t", "v", True, None, None, fine, job_table=None).ok
    assert not SmokeResult("t", "v", True, None, None, (Check("x", False, "why"),), job_table=None).ok
    assert SmokeResult("t", "v", False, 3, 3, fine, job_table="db.jobs", job_rows=0).ok  # no job row configured
    assert not SmokeResult("t", "v", False, 3, 3, fine, job_table="db.jobs", job_rows=1).ok


def test_the_job_row_is_literals_now_and_the_row_count() -> None:
    row = (("job", "smoke"), ("started_at", "now()"), ("rows_processed", "{rows}"), ("message", "it's"),
           ("ok", True), ("ratio", 0.5))
    sql = job_row_sql("db.jobs", row, 7)
    assert sql == ("INSERT INTO `db`.`jobs` (`job`, `started_at`, `rows_processed`, `message`, `ok`, `ratio`) "
                   "VALUES ('smoke', now(), 7, 'it\\'s', 1, 0.5)")
    # only the exact words are expressions: anything else is a quoted string, never SQL
    assert job_row_sql("db.jobs", (("note", "now() ; DROP TABLE x"),), 0) == \
        "INSERT INTO `db`.`jobs` (`note`) VALUES ('now() ; DROP TABLE x')"
