CREATE DATABASE shop;
CREATE TABLE shop.orders (order_id UInt64, placed_at DateTime) ENGINE = MergeTree ORDER BY order_id;
