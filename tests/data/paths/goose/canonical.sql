CREATE TABLE IF NOT EXISTS app.users (id UInt64, email String, name String, age UInt8)
ENGINE = MergeTree ORDER BY id;
