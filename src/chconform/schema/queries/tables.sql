-- Every user object with its engine clauses. Inner tables of materialized views are folded into their view.
SELECT database, name, engine, engine_full, partition_key, sorting_key, primary_key, sampling_key,
       as_select, comment, toString(uuid) AS uuid, create_table_query
FROM system.tables
WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') AND NOT is_temporary
ORDER BY database, name
