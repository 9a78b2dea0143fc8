CREATE DATABASE IF NOT EXISTS stats;
CREATE TABLE IF NOT EXISTS stats.daily_hits (day Date, hits UInt64) ENGINE = SummingMergeTree ORDER BY day;
