CREATE DATABASE IF NOT EXISTS metrics;
CREATE TABLE IF NOT EXISTS metrics.hits (path String, at DateTime, hits UInt64)
ENGINE = MergeTree ORDER BY (path, at) TTL at + INTERVAL 30 DAY;
CREATE TABLE IF NOT EXISTS metrics.daily (day Date, path String, hits UInt64, bytes UInt64)
ENGINE = SummingMergeTree ORDER BY (day, path);
CREATE TABLE IF NOT EXISTS metrics.sessions (id String, sign Int8, seconds UInt32)
ENGINE = CollapsingMergeTree(sign) ORDER BY id;
CREATE TABLE IF NOT EXISTS metrics.users (id UInt64, name String, ver UInt32, deleted UInt8)
ENGINE = ReplacingMergeTree(ver, deleted) ORDER BY id;
