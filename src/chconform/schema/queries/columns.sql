SELECT database, table, name, position, type, default_kind, default_expression, comment, compression_codec
FROM system.columns
WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema')
ORDER BY database, table, position
