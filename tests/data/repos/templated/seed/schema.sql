-- Rendered by the deploy tool: ${DATABASE} and ${LOGS_TTL} are filled in per environment.
CREATE DATABASE IF NOT EXISTS ${DATABASE};

CREATE TABLE IF NOT EXISTS ${DATABASE}.request_log
(
    requested_at DateTime,
    route LowCardinality(String),
    status UInt16,
    took_ms UInt32
)
ENGINE = MergeTree
PARTITION BY toDate(requested_at)
ORDER BY (route, requested_at)
TTL requested_at + INTERVAL ${LOGS_TTL} DAY;

CREATE VIEW IF NOT EXISTS ${DATABASE}.slow_requests AS
SELECT route, requested_at, took_ms FROM ${DATABASE}.request_log WHERE took_ms > ${SLOW_MS:-1000};
