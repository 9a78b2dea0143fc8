CREATE DATABASE IF NOT EXISTS inv;
CREATE TABLE inv.stock (sku String, qty Int32, updated DateTime) ENGINE = MergeTree ORDER BY sku;
CREATE TABLE inv.old_stock (sku String, qty Int64) ENGINE = MergeTree ORDER BY sku;
