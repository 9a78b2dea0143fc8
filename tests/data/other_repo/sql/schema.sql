CREATE TABLE IF NOT EXISTS events (id UInt64, ts DateTime, kind LowCardinality(String)) ENGINE = MergeTree ORDER BY (ts, id);
CREATE TABLE IF NOT EXISTS users (id UInt64, name String) ENGINE = ReplacingMergeTree ORDER BY id;
CREATE VIEW IF NOT EXISTS v_kinds AS SELECT kind, count() c FROM events GROUP BY kind;
