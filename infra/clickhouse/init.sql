-- init.sql
-- Role: init. Base init: databases, zakaz.meta_job_runs, dim_events and the
-- BI views with the tables they read.
-- Each key table is dropped right before it is re-created.
-- zakaz.meta_job_runs keeps its history (CREATE IF NOT EXISTS, never dropped).
-- Rule: every key table text here is byte-identical to bootstrap_schema.sql.
-- A change to one definition is made in every file at once, and
-- `make check` plus `python scripts/validate_clickhouse_schema.py` must pass.

-- ---------------------------------------------------------------
-- Databases
-- ---------------------------------------------------------------

CREATE DATABASE IF NOT EXISTS zakaz;

CREATE DATABASE IF NOT EXISTS meta;

CREATE DATABASE IF NOT EXISTS bi;

-- ---------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------

CREATE TABLE IF NOT EXISTS zakaz.meta_job_runs
(
    job LowCardinality(String),
    run_id UUID DEFAULT generateUUIDv4(),
    started_at DateTime,
    finished_at DateTime,
    status LowCardinality(String),
    rows_processed UInt64 DEFAULT 0,
    message String DEFAULT '',
    metrics String DEFAULT ''
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (job, started_at)
SETTINGS index_granularity = 8192;

DROP TABLE IF EXISTS zakaz.dim_events;
CREATE TABLE IF NOT EXISTS zakaz.dim_events
(
    event_id String,
    event_name String,
    city LowCardinality(String),
    start_date Nullable(Date),
    end_date Nullable(Date),
    tickets_total UInt32 DEFAULT 0,
    tickets_left UInt32 DEFAULT 0,
    _ver UInt64,
    _loaded_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(_ver)
PARTITION BY tuple()
ORDER BY event_id
SETTINGS index_granularity = 8192;

DROP TABLE IF EXISTS zakaz.fact_qtickets_inventory_latest;
CREATE TABLE IF NOT EXISTS zakaz.fact_qtickets_inventory_latest
(
    snapshot_ts DateTime,
    event_id String,
    event_name String,
    city LowCardinality(String),
    tickets_total Nullable(UInt32),
    tickets_left Nullable(UInt32),
    _ver UInt64
)
ENGINE = ReplacingMergeTree(_ver)
PARTITION BY tuple()
ORDER BY (event_id, city)
SETTINGS index_granularity = 8192;

DROP TABLE IF EXISTS zakaz.fact_qtickets_sales_daily;
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

-- Key tables this file does not re-create: ensured to exist with the canonical definition.
CREATE TABLE IF NOT EXISTS zakaz.fact_qtickets_inventory
(
    event_id String,
    city LowCardinality(String),
    tickets_total UInt32 DEFAULT 0,
    tickets_left UInt32 DEFAULT 0,
    _ver UInt64,
    _loaded_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(_ver)
PARTITION BY tuple()
ORDER BY (event_id, city)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS zakaz.stg_vk_ads_daily
(
    stat_date Date,
    city String,
    campaign_id String,
    ad_id String,
    impressions UInt64,
    clicks UInt64,
    spend Float64,
    _src LowCardinality(String) DEFAULT 'vk_ads',
    _op LowCardinality(String) DEFAULT 'UPSERT',
    _ver UInt64,
    _loaded_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree(_ver)
PARTITION BY toYYYYMM(stat_date)
ORDER BY (stat_date, city, campaign_id, ad_id)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS zakaz.stg_qtickets_api_orders_raw
(
    order_id String,
    event_id String,
    city LowCardinality(String),
    sale_ts DateTime,
    tickets_sold UInt32,
    revenue Float64,
    currency LowCardinality(String),
    _ver UInt64,
    _dedup_key FixedString(32)
)
ENGINE = ReplacingMergeTree(_ver)
PARTITION BY tuple()
ORDER BY _dedup_key
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS zakaz.stg_qtickets_api_inventory_raw
(
    snapshot_ts DateTime,
    event_id String,
    event_name String,
    city LowCardinality(String),
    tickets_total Nullable(UInt32),
    tickets_left Nullable(UInt32),
    _ver UInt64,
    _dedup_key FixedString(32)
)
ENGINE = ReplacingMergeTree(_ver)
PARTITION BY tuple()
ORDER BY (event_id, city, snapshot_ts)
SETTINGS index_granularity = 8192;

-- ---------------------------------------------------------------
-- Views read by DataLens
-- ---------------------------------------------------------------

CREATE OR REPLACE VIEW zakaz.v_qtickets_inventory AS
SELECT
    event_id,
    city,
    tickets_total,
    tickets_left,
    tickets_total - tickets_left AS tickets_sold
FROM zakaz.fact_qtickets_inventory_latest FINAL;

CREATE OR REPLACE VIEW zakaz.v_qtickets_sales_dashboard AS
SELECT
    e.event_id AS event_id,
    e.event_name AS event_name,
    e.city AS city,
    e.start_date AS start_date,
    e.end_date AS end_date,
    s.tickets_sold_today AS tickets_sold_today,
    s.revenue_today AS revenue_today,
    s.tickets_sold_14d AS tickets_sold_14d,
    s.revenue_14d AS revenue_14d,
    i.tickets_total AS tickets_total,
    i.tickets_left AS tickets_left,
    e._loaded_at AS _loaded_at
FROM zakaz.dim_events AS e FINAL
LEFT JOIN
(
    SELECT
        event_id,
        city,
        sumIf(tickets_sold, sales_date = today()) AS tickets_sold_today,
        sumIf(revenue, sales_date = today()) AS revenue_today,
        sum(tickets_sold) AS tickets_sold_14d,
        sum(revenue) AS revenue_14d
    FROM zakaz.fact_qtickets_sales_daily FINAL
    WHERE sales_date >= today() - 13
    GROUP BY
        event_id,
        city
) AS s ON (s.event_id = e.event_id) AND (s.city = e.city)
LEFT JOIN
(
    SELECT
        event_id,
        city,
        tickets_total,
        tickets_left
    FROM zakaz.fact_qtickets_inventory_latest FINAL
) AS i ON (i.event_id = e.event_id) AND (i.city = e.city);
