CREATE DATABASE IF NOT EXISTS stats;
CREATE TABLE stats.counters (day Date, hits UInt64) ENGINE = SummingMergeTree ORDER BY day;
