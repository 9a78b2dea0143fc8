CREATE TABLE IF NOT EXISTS zakaz.t
(
    id UInt64,
    name String
)
ENGINE = MergeTree
ORDER BY id;

/* the rest of the file is commented out by accident
CREATE TABLE zakaz.u (a UInt8) ENGINE = Memory;
