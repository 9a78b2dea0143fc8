CREATE TABLE shop.carts_v2 (id String, total Decimal(18, 2), updated DateTime) ENGINE = MergeTree ORDER BY id;
