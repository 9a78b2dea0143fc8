-- a new name by copy: create, copy the rows, drop the old table
CREATE TABLE stats.daily_hits (day Date, hits UInt64) ENGINE = SummingMergeTree ORDER BY day;
INSERT INTO stats.daily_hits SELECT * FROM stats.counters;
DROP TABLE stats.counters;
