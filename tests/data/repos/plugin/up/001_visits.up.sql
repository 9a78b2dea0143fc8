CREATE TABLE IF NOT EXISTS default.visits (day Date, visits UInt64) ENGINE = SummingMergeTree ORDER BY day;
