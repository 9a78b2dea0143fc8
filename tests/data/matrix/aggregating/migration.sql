-- The same tables, written as a migration would (each guarded by IF NOT EXISTS).
CREATE DATABASE IF NOT EXISTS metrics;

CREATE TABLE IF NOT EXISTS metrics.page_views
(
    viewed_at DateTime,
    site LowCardinality(String),
    country LowCardinality(String),
    visitor_id UInt64
)
ENGINE = MergeTree
ORDER BY (site, viewed_at);

CREATE TABLE IF NOT EXISTS metrics.daily_rollup
(
    day Date,
    site LowCardinality(String),
    country LowCardinality(String),
    views AggregateFunction(count),
    visitors AggregateFunction(uniq, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (day, site);
