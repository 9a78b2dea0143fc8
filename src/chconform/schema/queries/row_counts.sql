-- Rows per table for the upgrade-path check; total_rows is exact for MergeTree and Memory, NULL where unknown.
SELECT database, name, engine, total_rows, toString(uuid) AS uuid
FROM system.tables
WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') AND NOT is_temporary
ORDER BY database, name
