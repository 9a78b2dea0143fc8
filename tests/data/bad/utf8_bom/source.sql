CREATE TABLE IF NOT EXISTS zakaz.t
(
    id UInt64,
    name String
)
ENGINE = MergeTree
ORDER BY id;
