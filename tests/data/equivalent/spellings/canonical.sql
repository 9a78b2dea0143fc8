-- canonical spelling
CREATE DATABASE IF NOT EXISTS zakaz;

CREATE TABLE IF NOT EXISTS zakaz.fact_qtickets_sales_daily
(
    sales_date Date,
    event_id String,
    city LowCardinality(String),
    tickets_sold UInt32,
    revenue Float64,
    _ver UInt64
)
ENGINE = ReplacingMergeTree(_ver)
PARTITION BY toYYYYMM(sales_date)
ORDER BY (event_id, sales_date, city)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS zakaz.meta_job_runs
(
    job LowCardinality(String),
    started_at DateTime
)
ENGINE = ReplacingMergeTree
ORDER BY job;
