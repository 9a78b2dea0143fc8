-- dim_events copied from another table's structure: only the engine knows its columns
CREATE DATABASE IF NOT EXISTS zakaz;

CREATE TABLE IF NOT EXISTS zakaz.dim_events_template
(
    event_id String,
    event_name String,
    city String,
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

CREATE TABLE IF NOT EXISTS zakaz.dim_events AS zakaz.dim_events_template;
