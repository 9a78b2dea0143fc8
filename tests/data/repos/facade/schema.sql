-- One server: the table itself.
CREATE TABLE IF NOT EXISTS default.orders
(
    order_id UInt64,
    placed_at DateTime,
    total Decimal(12, 2)
)
ENGINE = MergeTree
ORDER BY (placed_at, order_id);
