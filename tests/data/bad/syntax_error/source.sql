CREATE TABLE IF NOT EXISTS zakaz.t
(
    id UInt64,
    name String
)
ENGINE = MergeTree
ORDER BY id;

-- a second table with a typo in a type
CREATE TABLE IF NOT EXISTS zakaz.u
(
    id UInt64,
    name Strin g
)
ENGINE = MergeTree
ORDER BY id;
