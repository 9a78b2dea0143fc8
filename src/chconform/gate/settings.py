"""Which settings a source may change, in `SET` and in every `SETTINGS` clause: an allow-list.

A setting passes when ClickHouse lists it and its value cannot name anything outside the engine:
a number, a flag or an enumeration (the type says so), or text reviewed here as harmless. Refused,
whatever the spelling, case or quoting:
  * the dialect, and every setting that lets the engine read text in another language than the one
    the gate parsed;
  * settings that change what a query reads or returns behind the tree's back
    (`additional_table_filters`, `additional_result_filter`, `limit`, `offset`, implicit tables);
  * every setting naming a file, a URL, a disk, a path in Keeper, a cache, a cluster or credentials,
    and those that unlock code execution or host paths.
A name ClickHouse does not list is refused too: a new release's setting is judged when it is classified.
"""

from __future__ import annotations

import re
from typing import Any

from chconform.gate._setting_names import MERGE_TREE, SESSION
from chconform.gate.catalog import DATABASE_ENGINES, TABLE_ENGINES, reach

__all__ = ["ENGINE_SETTINGS", "HARMLESS_TEXT", "REFUSED", "SERVER_SETTINGS", "TEXT_TYPES", "setting_problem",
           "setting_refusal"]

_DIALECT = "lets the engine read SQL in another dialect, text the gate never parsed"
_HIDDEN = "changes what queries read or return without it showing in the statement"
_PATH = "names a file, URL, disk or path outside the engine"
_CODE = "unlocks code execution or host information"
_REMOTE = "names another server, cluster, service or credentials"

REFUSED: dict[str, str] = {
    "dialect": _DIALECT, "allow_experimental_kusto_dialect": _DIALECT, "allow_experimental_prql_dialect": _DIALECT,
    "allow_experimental_polyglot_dialect": _DIALECT, "polyglot_dialect": _DIALECT,
    "enable_json_ast_dialect": _DIALECT, "enable_trino_dialect": _DIALECT,
    "allow_settings_after_format_in_insert": _DIALECT,  # settings read from what the gate takes for data
    "additional_table_filters": _HIDDEN, "additional_result_filter": _HIDDEN, "limit": _HIDDEN, "offset": _HIDDEN,
    "implicit_table_at_top_level": _HIDDEN, "select": _HIDDEN, "filter": _HIDDEN, "order": _HIDDEN,
    "sort": _HIDDEN, "database": _HIDDEN, "format": _HIDDEN, "input_format": _HIDDEN, "output_format": _HIDDEN,
    "compatibility": _HIDDEN, "profile": _HIDDEN,
    "disk": _PATH, "table_disk": _PATH, "storage_policy": _PATH, "search_orphaned_parts_disks": _PATH,
    "format_template_resultset": _PATH, "format_template_row": _PATH, "format_schema": _PATH,
    "format_schema_source": _PATH, "output_format_schema": _PATH, "input_format_record_errors_file_path": _PATH,
    "format_avro_schema_registry_url": _PATH, "url_base": _PATH, "s3_base": _PATH,
    "rename_files_after_processing": _PATH, "into_outfile_create_parent_directories": _PATH,
    "dynamic_disk_allow_from_env": _PATH, "dynamic_disk_allow_include": _PATH, "dynamic_disk_allow_from_zk": _PATH,
    "filesystem_cache_name": _PATH, "distributed_cache_file_cache_name": _PATH,
    "s3queue_default_zookeeper_path": _PATH, "remote_fs_zero_copy_zookeeper_path": _PATH,
    "engine_file_allow_create_multiple_files": _PATH, "engine_file_truncate_on_insert": _PATH,
    "allow_archive_path_syntax": _PATH, "stream_like_engine_insert_queue": _PATH,
    "allow_python_table_function": _CODE, "allow_experimental_eval_table_function": _CODE,
    "s3_allow_server_credentials_in_user_queries": _CODE,
    "allow_unrestricted_reads_from_keeper": _CODE, "metrics_perf_events_list": _CODE,
    "trace_profile_events_list": _CODE, "chdb_client_name": _REMOTE,
    "cluster_for_parallel_replicas": _REMOTE, "parallel_replicas_custom_key": _REMOTE,
    "ai_function_text_default_credentials": _REMOTE, "ai_function_embedding_default_credentials": _REMOTE,
    "ai_function_allow_insecure_endpoint": _REMOTE, "distributed_cache_client_id": _REMOTE,
    "http_response_headers": _REMOTE,
}

# Value types that hold free text (a path, a URL, a query): such a setting passes only when reviewed below.
TEXT_TYPES = frozenset({"String", "Map", "URI"})
HARMLESS_TEXT = frozenset({
    "s3_upload_checksum_algorithm", "exclude_materialize_skip_indexes_on_insert", "ignore_data_skipping_indices",
    "force_data_skipping_indices", "network_compression_method", "count_distinct_implementation",
    "temporary_files_codec", "log_comment", "send_logs_source_regexp", "force_optimize_projection_name",
    "preferred_optimize_projection_name", "query_cache_tag", "compression", "insert_deduplication_token",
    "function_implementation", "input_format_orc_reader_time_zone_name", "column_names_for_schema_inference",
    "schema_inference_hints", "bool_true_representation", "bool_false_representation",
    "format_json_object_each_row_column_for_object_name", "output_format_pretty_grid_charset",
    "output_format_avro_codec", "output_format_avro_string_column_pattern", "output_format_avro_confluent_subject",
    "format_csv_null_representation", "format_tsv_null_representation", "errors_output_format",
    "format_schema_message_name", "format_template_row_format", "format_template_resultset_format",
    "format_template_rows_between_delimiter", "format_custom_field_delimiter", "format_custom_row_before_delimiter",
    "format_custom_row_after_delimiter", "format_custom_row_between_delimiter",
    "format_custom_result_before_delimiter", "format_custom_result_after_delimiter", "format_regexp",
    "output_format_orc_writer_time_zone_name", "input_format_mysql_dump_table_name",
    "output_format_sql_insert_table_name", "output_format_image_terminal_mode", "iceberg_metadata_compression_method",
    "distributed_plan_force_exchange_kind", "local_filesystem_read_method", "remote_filesystem_read_method",
    "framing_output_format", "default_format", "default_view_definer", "workload", "promql_database", "promql_table",
    # MergeTree table settings
    "string_serialization_version", "exclude_materialize_skip_indexes_on_merge", "auto_statistics_types",
    "cache_populated_by_fetch_filename_regexp", "marks_compression_codec", "primary_key_compression_codec",
    "columns_to_prewarm_mark_cache", "default_compression_codec", "merge_workload", "mutation_workload",
    # TimeSeries: which tags get columns of their own
    "tags_to_columns",
})
# Settings of other engines that keep their data inside (SETTINGS of CREATE TABLE … ENGINE = X).
ENGINE_SETTINGS: dict[str, str] = {
    "min_bytes_to_keep": "UInt64", "max_bytes_to_keep": "UInt64", "min_rows_to_keep": "UInt64",
    "max_rows_to_keep": "UInt64", "compress": "Bool", "persistent": "Bool", "optimize_for_bulk_insert": "Bool",
    "bulk_insert_block_size": "UInt64", "store_min_time_and_max_time": "Bool",
    "aggregate_min_time_and_max_time": "Bool",
    "filter_by_min_time_and_max_time": "Bool", "use_all_tags_column_to_generate_id": "Bool", "tags_to_columns": "Map",
    # Distributed (its cluster is one of the engine's own config)
    "fsync_after_insert": "Bool", "fsync_directories": "Bool", "skip_unavailable_shards": "Bool",
    "bytes_to_throw_insert": "UInt64", "bytes_to_delay_insert": "UInt64", "max_delay_to_insert": "UInt64",
    "background_insert_batch": "Bool", "background_insert_split_batch_on_failure": "Bool",
    "background_insert_sleep_time_ms": "Milliseconds", "background_insert_max_sleep_time_ms": "Milliseconds",
    "flush_on_detach": "Bool", "monitor_batch_inserts": "Bool", "monitor_split_batch_on_failure": "Bool",
    "monitor_sleep_time_ms": "Milliseconds", "monitor_max_sleep_time_ms": "Milliseconds",
}
_ENGINE_VALUED = {"default_table_engine": TABLE_ENGINES, "default_temporary_table_engine": TABLE_ENGINES,
                  "default_database_engine": DATABASE_ENGINES}
_DEFAULT_ONLY = frozenset({"disk", "storage_policy"})
_TYPES: dict[str, str] = {**ENGINE_SETTINGS, **MERGE_TREE, **SESSION}
_FOLDED = {name.lower(): name for name in _TYPES}


def setting_refusal(name: str, value: Any = None) -> str:
    """Why setting `name` (to `value`, as the parse shows it) may not be changed; "" when it may."""
    key = name.lower()
    if key in _DEFAULT_ONLY and _text(value) == "default":
        return ""  # the engine's own default disk or policy, where every table goes anyway
    if key in REFUSED:
        return f"setting {name} {REFUSED[key]}"
    if key.startswith("custom_"):
        return ""  # user-defined: ClickHouse only stores it
    real = _FOLDED.get(key)  # judged whatever its case
    if real is None:
        return f"setting {name} is not one ClickHouse lists; only known settings are judged"
    if real in _ENGINE_VALUED:
        engine = _text(value)
        if engine and reach(_ENGINE_VALUED[real], engine) != "":
            return f"setting {name} = {engine!r} makes tables with an engine outside the allow-list"
        return ""
    if _TYPES[real] in TEXT_TYPES and real not in HARMLESS_TEXT:
        return f"setting {name} takes free text (a path, URL or query) and is not reviewed as harmless"
    return ""


def _text(value: Any) -> str:
    """A setting's value as the parse shows it ({"field_type": …, "value": …}), as text."""
    return str(value.get("value", "")) if isinstance(value, dict) else str(value or "")


# Server settings a configuration's `[settings]` table may set (engines/server_defaults applies them): pool sizes
# and the drop guards, numbers only.
SERVER_SETTINGS = frozenset({
    "background_pool_size", "background_merges_mutations_concurrency_ratio", "background_move_pool_size",
    "background_fetches_pool_size", "background_common_pool_size", "max_table_size_to_drop",
    "max_partition_size_to_drop",
})


def setting_problem(name: str, value: object) -> str:
    """Why `[settings] name = value` cannot be applied ("" when it can): a server profile may set only what a
    source may set (and the server settings above)."""
    if name in SERVER_SETTINGS:
        return "" if re.fullmatch(r"\d+(\.\d+)?", str(value)) else f"{name} must be a number, not {value!r}"
    if name not in SESSION and name not in MERGE_TREE:
        return (f"{name} is not a setting ClickHouse lists (profile or merge_tree), nor a server setting "
                f"chconform applies ({', '.join(sorted(SERVER_SETTINGS))})")
    refusal = setting_refusal(name, value)
    return f"{refusal}; the gate refuses it in a source, so a server profile may not set it either" if refusal else ""
