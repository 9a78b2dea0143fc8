CREATE DATABASE IF NOT EXISTS shop;
CREATE TABLE IF NOT EXISTS shop.carts (id String, total Decimal(18, 4), updated DateTime) ENGINE = MergeTree ORDER BY id;
