SELECT database, table, name, type_full, expr, granularity
FROM system.data_skipping_indices
WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema')
ORDER BY database, table, name
