-- the same schema, spelled differently: keyword case, spacing, redundant parentheses, empty engine arguments
create database if not exists zakaz;
create table if not exists zakaz.fact_qtickets_sales_daily (sales_date Date, event_id String,
  city LowCardinality(String), tickets_sold UInt32, revenue Float64, _ver UInt64)
engine=ReplacingMergeTree(_ver) partition by (toYYYYMM(sales_date)) order by ((event_id), sales_date, (city))
settings index_granularity=8192;
CREATE TABLE IF NOT EXISTS `zakaz`.`meta_job_runs` (`job` LowCardinality(String), `started_at` DateTime)
ENGINE = ReplacingMergeTree() ORDER BY (job);
