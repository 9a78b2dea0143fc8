CREATE DATABASE IF NOT EXISTS shop;
CREATE TABLE shop.carts (id String, total Float64, updated DateTime) ENGINE = MergeTree ORDER BY id;
