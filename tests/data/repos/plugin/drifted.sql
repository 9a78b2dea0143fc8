CREATE TABLE IF NOT EXISTS default.visits (day Date, visits UInt32) ENGINE = SummingMergeTree ORDER BY day;
