-- The same schema written out for the staging environment.
CREATE DATABASE IF NOT EXISTS staging;

CREATE TABLE IF NOT EXISTS staging.request_log
(
    requested_at DateTime,
    route LowCardinality(String),
    status UInt16,
    took_ms UInt32
)
ENGINE = MergeTree
PARTITION BY toDate(requested_at)
ORDER BY (route, requested_at)
TTL requested_at + toIntervalDay(14);

CREATE VIEW IF NOT EXISTS staging.slow_requests AS
SELECT route, requested_at, took_ms FROM staging.request_log WHERE took_ms > 1000;
