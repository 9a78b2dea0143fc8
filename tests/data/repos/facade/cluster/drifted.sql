-- The same cluster layout, its local table ordered differently.
CREATE TABLE IF NOT EXISTS default.orders_local ON CLUSTER shop
(
    order_id UInt64,
    placed_at DateTime,
    total Decimal(12, 2)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/orders_local', '{replica}')
ORDER BY order_id;

CREATE TABLE IF NOT EXISTS default.orders ON CLUSTER shop AS default.orders_local
ENGINE = Distributed(shop, default, orders_local, cityHash64(order_id));
