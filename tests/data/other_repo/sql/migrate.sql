CREATE TABLE IF NOT EXISTS events (id UInt64, ts DateTime64(3), kind String) ENGINE = MergeTree ORDER BY (ts, id);
ALTER TABLE events ADD COLUMN extra String;
CREATE TABLE IF NOT EXISTS users (id UInt64, name String) ENGINE = ReplacingMergeTree() ORDER BY (id);
