CREATE DATABASE IF NOT EXISTS inv;
CREATE TABLE IF NOT EXISTS inv.stock (sku String, qty Int64, updated DateTime) ENGINE = MergeTree ORDER BY sku;
CREATE TABLE IF NOT EXISTS inv.archive (sku String, qty Int64) ENGINE = MergeTree ORDER BY sku;
