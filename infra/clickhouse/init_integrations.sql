-- init_integrations.sql
-- Role: init. VK Ads and other advertising integrations.
-- Each table is dropped right before it is re-created.
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

DROP TABLE IF EXISTS zakaz.stg_vk_ads_daily;
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
