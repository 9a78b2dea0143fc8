CREATE DATABASE IF NOT EXISTS shop;
CREATE TABLE shop.payments (id String, status String, amount_cents String, paid_on Nullable(String), currency String)
ENGINE = MergeTree ORDER BY id;
