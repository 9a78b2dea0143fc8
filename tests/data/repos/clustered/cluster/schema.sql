-- The clustered variant: the same tables, replicated, created on every node at once.
CREATE DATABASE IF NOT EXISTS metrics ON CLUSTER analytics;

CREATE TABLE IF NOT EXISTS metrics.hits_local ON CLUSTER analytics
(
    site_id UInt32,
    seen_at DateTime,
    path String,
    version UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/metrics/hits_local', '{replica}', version)
PARTITION BY toYYYYMM(seen_at)
ORDER BY (site_id, seen_at);

CREATE TABLE IF NOT EXISTS metrics.hits ON CLUSTER '{cluster}' AS metrics.hits_local
ENGINE = Distributed('{cluster}', metrics, hits_local, rand());

CREATE TABLE IF NOT EXISTS metrics.totals ON CLUSTER analytics
(
    site_id UInt32,
    hits UInt64
)
ENGINE = ReplicatedSummingMergeTree
ORDER BY site_id;
