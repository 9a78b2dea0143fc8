-- A clustered copy that drifted: another ORDER BY, and another replication path.
CREATE DATABASE IF NOT EXISTS metrics ON CLUSTER analytics;

CREATE TABLE IF NOT EXISTS metrics.hits_local ON CLUSTER analytics
(
    site_id UInt32,
    seen_at DateTime,
    path String,
    version UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/hits_local_v2', '{replica}', version)
PARTITION BY toYYYYMM(seen_at)
ORDER BY (site_id, path, seen_at);
