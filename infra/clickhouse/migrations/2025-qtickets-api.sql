-- migrations/2025-qtickets-api.sql
-- Role: migration. QTickets API staging and fact tables plus the sales MV.
-- The MV is dropped first (before its source table), every table is dropped
-- right before it is re-created, and the MV is re-created last.
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

DROP TABLE IF EXISTS zakaz.stg_qtickets_api_orders_raw;
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

DROP TABLE IF EXISTS zakaz.stg_qtickets_api_inventory_raw;
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

DROP TABLE IF EXISTS zakaz.fact_qtickets_inventory;
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

-- ---------------------------------------------------------------
-- Materialized view over the QTickets API orders
-- ---------------------------------------------------------------

DROP TABLE IF EXISTS zakaz.mv_qtickets_sales_latest;
CREATE MATERIALIZED VIEW IF NOT EXISTS zakaz.mv_qtickets_sales_latest
ENGINE = ReplacingMergeTree(_ver)
ORDER BY (event_id, city)
AS
SELECT
    event_id,
    city,
    argMax(sale_ts, src_ver) AS last_sale_ts,
    sumIf(tickets_sold, sale_ts >= now() - INTERVAL 14 DAY) AS tickets_sold_14d,
    sumIf(revenue, sale_ts >= now() - INTERVAL 14 DAY) AS revenue_14d,
    max(src_ver) AS _ver
FROM
(
    SELECT
        event_id,
        city,
        sale_ts,
        tickets_sold,
        revenue,
        _ver AS src_ver
    FROM zakaz.stg_qtickets_api_orders_raw
)
GROUP BY
    event_id,
    city;
