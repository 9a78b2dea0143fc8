-- Accepted by a default server: its merge pool has 16 threads, and the profile allows LowCardinality(UInt32).
CREATE TABLE IF NOT EXISTS default.page_views
(
    viewed_at DateTime,
    page_id LowCardinality(UInt32),
    visitor UInt64
)
ENGINE = MergeTree
ORDER BY (page_id, viewed_at)
SETTINGS number_of_free_entries_in_pool_to_lower_max_size_of_merge = 6, index_granularity = 4096;
