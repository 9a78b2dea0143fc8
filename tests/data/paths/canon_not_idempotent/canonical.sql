-- The canon creates without IF NOT EXISTS: applied twice it fails, which is check's finding, not path's.
CREATE DATABASE shop;
CREATE TABLE shop.orders
(
    order_id UInt64,
    placed_at DateTime,
    note String
)
ENGINE = MergeTree
ORDER BY order_id;
