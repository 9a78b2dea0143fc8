CREATE TABLE IF NOT EXISTS app.items (id UInt64, name String, price Decimal(10, 2))
ENGINE = MergeTree ORDER BY id;
