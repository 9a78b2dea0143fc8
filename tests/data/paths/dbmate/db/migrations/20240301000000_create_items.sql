-- migrate:up
CREATE TABLE IF NOT EXISTS app.items (id UInt64, name String) ENGINE = MergeTree ORDER BY id;

-- migrate:down
DROP TABLE IF EXISTS app.items;
