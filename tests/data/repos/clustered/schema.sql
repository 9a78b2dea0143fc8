-- The single-server variant of the schema: what every node of the cluster builds.
CREATE DATABASE IF NOT EXISTS metrics;

CREATE TABLE IF NOT EXISTS metrics.hits_local
(
    site_id UInt32,
    seen_at DateTime,
    path String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(seen_at)
ORDER BY (site_id, seen_at);

CREATE TABLE IF NOT EXISTS metrics.hits AS metrics.hits_local
ENGINE = Distributed(analytics, metrics, hits_local, rand());

CREATE TABLE IF NOT EXISTS metrics.totals
(
    site_id UInt32,
    hits UInt64
)
ENGINE = SummingMergeTree
ORDER BY site_id;
