"""The settings allow-list (chconform.gate.settings), each verdict and message written out (issue 18).

`setting_refusal` is what the gate says of a setting in SET or SETTINGS; `setting_problem` what a
configuration's `[settings]` table may give a server profile. Values come as ClickHouse's parse shows
them: `{"field_type": …, "value": …}`.
"""

from __future__ import annotations

from typing import Any

import pytest

from chconform.gate import settings
from chconform.gate.settings import SERVER_SETTINGS, setting_problem, setting_refusal

_DIALECT = "lets the engine read SQL in another dialect, text the gate never parsed"
_PATH = "names a file, URL, disk or path outside the engine"
_HIDDEN = "changes what queries read or return without it showing in the statement"


def text(value: str) -> dict[str, Any]:
    return {"field_type": "String", "value": value}


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("max_threads", {"field_type": "UInt64", "value": 4}, ""),
    ("MAX_THREADS", {"field_type": "UInt64", "value": 4}, ""),  # any case ClickHouse reads
    ("index_granularity", {"field_type": "UInt64", "value": 8192}, ""),  # a MergeTree table setting
    ("min_rows_to_keep", {"field_type": "UInt64", "value": 1}, ""),  # another engine's setting
    ("log_comment", text("/etc/passwd"), ""),  # free text reviewed as harmless
    ("custom_anything", text("whatever"), ""),  # user-defined: only stored
    ("Custom_Anything", text("whatever"), ""),
    ("Dialect", text("kusto"), f"setting Dialect {_DIALECT}"),  # the name as written, the reason of its entry
    ("OFFSET", {"field_type": "UInt64", "value": 1}, f"setting OFFSET {_HIDDEN}"),
    ("format_schema", text("x.proto"), f"setting format_schema {_PATH}"),
    ("no_such_setting", {"field_type": "UInt64", "value": 1},
     "setting no_such_setting is not one ClickHouse lists; only known settings are judged"),
    ("custom", text("x"), "setting custom is not one ClickHouse lists; only known settings are judged"),
], ids=lambda v: str(v)[:30])
def test_each_setting_gets_its_verdict_in_full(name: str, value: Any, reason: str) -> None:
    assert setting_refusal(name, value) == reason


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("disk", text("default"), ""),
    ("DISK", text("default"), ""),
    ("storage_policy", text("default"), ""),
    ("storage_policy", "default", ""),  # a plain value (an access statement's text) reads the same
    ("disk", text("Default"), f"setting disk {_PATH}"),  # the engine's own is spelled `default`
    ("disk", text("s3_cold"), f"setting disk {_PATH}"),
    ("Storage_Policy", text("cold"), f"setting Storage_Policy {_PATH}"),
    ("disk", None, f"setting disk {_PATH}"),
    ("table_disk", text("default"), f"setting table_disk {_PATH}"),  # default only for disk and storage_policy
], ids=lambda v: str(v)[:30])
def test_only_the_default_disk_and_policy_pass(name: str, value: Any, reason: str) -> None:
    assert setting_refusal(name, value) == reason


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("default_table_engine", text("MergeTree"), ""),
    ("default_table_engine", text("Memory"), ""),
    ("Default_Table_Engine", text("Log"), ""),
    ("default_table_engine", text(""), ""),
    ("default_table_engine", None, ""),
    ("default_table_engine", text("File"),
     "setting default_table_engine = 'File' makes tables with an engine outside the allow-list"),
    ("DEFAULT_TABLE_ENGINE", text("URL"),
     "setting DEFAULT_TABLE_ENGINE = 'URL' makes tables with an engine outside the allow-list"),
    ("default_table_engine", text("FutureEngine"),  # not classified: refused as well
     "setting default_table_engine = 'FutureEngine' makes tables with an engine outside the allow-list"),
    ("default_temporary_table_engine", text("S3"),
     "setting default_temporary_table_engine = 'S3' makes tables with an engine outside the allow-list"),
    ("default_temporary_table_engine", text("Memory"), ""),
    ("default_database_engine", text("Atomic"), ""),
    ("default_database_engine", text("MySQL"),
     "setting default_database_engine = 'MySQL' makes tables with an engine outside the allow-list"),
    ("default_database_engine", text("MergeTree"),  # a table engine is no database engine
     "setting default_database_engine = 'MergeTree' makes tables with an engine outside the allow-list"),
], ids=lambda v: str(v)[:40])
def test_the_default_engines_are_judged_against_their_own_allow_list(name: str, value: Any, reason: str) -> None:
    assert setting_refusal(name, value) == reason


def test_a_free_text_setting_nobody_reviewed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every free-text setting of today's release is reviewed or refused by name; one a new release adds is not."""
    for name, kind in (("future_text_setting", "String"), ("future_uri_setting", "URI"),
                       ("future_number_setting", "UInt64")):
        monkeypatch.setitem(settings._TYPES, name, kind)
        monkeypatch.setitem(settings._FOLDED, name, name)
    free = "takes free text (a path, URL or query) and is not reviewed as harmless"
    assert setting_refusal("future_text_setting", text("/x")) == f"setting future_text_setting {free}"
    assert setting_refusal("FUTURE_TEXT_SETTING", text("/x")) == f"setting FUTURE_TEXT_SETTING {free}"
    assert setting_refusal("future_uri_setting", text("http://x")) == f"setting future_uri_setting {free}"
    assert setting_refusal("future_number_setting", {"field_type": "UInt64", "value": 1}) == ""


@pytest.mark.parametrize(("value", "shown"), [
    ({"field_type": "String", "value": "default"}, "default"),
    ({"field_type": "UInt64", "value": 5}, "5"),
    ({"field_type": "String"}, ""),
    ("default", "default"),
    (7, "7"),
    (None, ""),
    (0, ""),
    ("", ""),
])
def test_a_value_reads_as_the_text_the_parse_shows(value: Any, shown: str) -> None:
    assert settings._text(value) == shown


def test_a_value_without_text_names_no_engine() -> None:
    assert setting_refusal("default_table_engine", {"field_type": "String"}) == ""
    assert setting_refusal("default_table_engine", 0) == ""


_LISTED = ("background_common_pool_size, background_fetches_pool_size, background_merges_mutations_concurrency_ratio, "
           "background_move_pool_size, background_pool_size, max_partition_size_to_drop, max_table_size_to_drop")


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("background_pool_size", 16, ""),
    ("background_pool_size", "16", ""),
    ("background_merges_mutations_concurrency_ratio", 2.5, ""),
    ("max_table_size_to_drop", "0", ""),
    ("max_partition_size_to_drop", "1.", "max_partition_size_to_drop must be a number, not '1.'"),
    ("background_pool_size", "x16", "background_pool_size must be a number, not 'x16'"),
    ("background_pool_size", "16x", "background_pool_size must be a number, not '16x'"),
    ("background_move_pool_size", -1, "background_move_pool_size must be a number, not -1"),
    ("background_fetches_pool_size", "1e3", "background_fetches_pool_size must be a number, not '1e3'"),
    ("background_common_pool_size", True, "background_common_pool_size must be a number, not True"),
    ("max_threads", 8, ""),  # a session setting only
    ("index_granularity", 8192, ""),  # a MergeTree setting only
    ("log_comment", "x", ""),
    ("no_such_setting", 1, "no_such_setting is not a setting ClickHouse lists (profile or merge_tree), nor a server "
                           f"setting chconform applies ({_LISTED})"),
    ("MAX_THREADS", 8, "MAX_THREADS is not a setting ClickHouse lists (profile or merge_tree), nor a server "
                       f"setting chconform applies ({_LISTED})"),  # a profile names settings exactly
    ("disk", "s3", f"setting disk {_PATH}; the gate refuses it in a source, so a server profile may not set it either"),
    ("disk", "default", ""),
    ("dialect", "kusto", f"setting dialect {_DIALECT}; the gate refuses it in a source, so a server profile may not "
                         "set it either"),
    ("default_table_engine", "File", "setting default_table_engine = 'File' makes tables with an engine outside the "
                                     "allow-list; the gate refuses it in a source, so a server profile may not set it "
                                     "either"),
], ids=lambda v: str(v)[:30])
def test_a_server_profile_sets_numbers_of_its_own_and_what_a_source_may_set(name: str, value: Any,
                                                                            problem: str) -> None:
    assert setting_problem(name, value) == problem


def test_the_server_settings_are_the_pool_sizes_and_drop_guards() -> None:
    assert ", ".join(sorted(SERVER_SETTINGS)) == _LISTED
