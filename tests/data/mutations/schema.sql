-- The canonical schema the DDL mutation suite mutates, one clause per line (tests/conformance/ddl_mutants.py).
-- {db} is replaced by one database per mutant. A line ending in `-- spare` is the column that receives
-- the "add a property" mutations (it is in no key, so every property may be added to it); a CREATE line
-- ending in `-- not mutated` is a helper (a TO target's twin, a dictionary's table) whose clauses are not mutated.
SET allow_experimental_statistics = 1;

CREATE DATABASE IF NOT EXISTS {db};

CREATE TABLE IF NOT EXISTS {db}.events
(
    id UInt64 COMMENT 'row id',
    day Date,
    ts DateTime CODEC(Delta, ZSTD(1)),
    city LowCardinality(String),
    note Nullable(String),
    amount Decimal(18, 2) DEFAULT 0,
    amount_x2 Decimal(18, 2) MATERIALIZED amount * 2,
    city_upper String ALIAS upper(city),
    raw String EPHEMERAL '',
    payload String TTL day + INTERVAL 30 DAY,
    score Float64 STATISTICS(tdigest),
    spare UInt32, -- spare
    INDEX idx_city city TYPE set(100) GRANULARITY 4,
    PROJECTION by_city (SELECT city, countIf(amount > 0) GROUP BY city),
    CONSTRAINT amount_positive CHECK amount >= 0,
    CONSTRAINT day_recent ASSUME day >= '2000-01-01'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (city, intHash32(id), day)
PRIMARY KEY (city, intHash32(id))
SAMPLE BY intHash32(id)
TTL day + INTERVAL 1 YEAR
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'drop'
COMMENT 'events';

CREATE TABLE IF NOT EXISTS {db}.accounts
(
    account_id UInt64,
    name String,
    ver UInt32
)
ENGINE = ReplacingMergeTree(ver)
ORDER BY account_id;

CREATE VIEW IF NOT EXISTS {db}.big_events
SQL SECURITY INVOKER
AS SELECT id, day, amount FROM {db}.events WHERE amount > 100;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.daily_mv
ENGINE = SummingMergeTree
ORDER BY (day, city)
AS SELECT day, city, countIf(amount > 0) AS n FROM {db}.events GROUP BY day, city;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.typed_mv
(
    day Date,
    amount Decimal(18, 2) COMMENT 'kept' CODEC(ZSTD(1))
)
ENGINE = MergeTree
ORDER BY day
AS SELECT day, amount FROM {db}.events;

CREATE TABLE IF NOT EXISTS {db}.totals
(
    day Date,
    total Decimal(38, 2)
)
ENGINE = SummingMergeTree
ORDER BY day;

CREATE TABLE IF NOT EXISTS {db}.totals_copy -- not mutated
(
    day Date,
    total Decimal(38, 2)
)
ENGINE = SummingMergeTree
ORDER BY day;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.totals_mv
TO {db}.totals
AS SELECT day, sum(amount) AS total FROM {db}.events WHERE amount > 0 GROUP BY day;

CREATE TABLE IF NOT EXISTS {db}.cities -- not mutated
(
    id UInt64,
    code UInt64,
    name String,
    parent UInt64
)
ENGINE = MergeTree
ORDER BY id;

CREATE DICTIONARY IF NOT EXISTS {db}.city_dict
(
    id UInt64,
    code UInt64,
    name String DEFAULT '',
    parent UInt64 DEFAULT 0 HIERARCHICAL
)
PRIMARY KEY id
SOURCE(CLICKHOUSE(DB '{db}' TABLE 'cities'))
LIFETIME(MIN 0 MAX 300)
LAYOUT(HASHED())
COMMENT 'cities';

CREATE FUNCTION IF NOT EXISTS {db}_margin AS (a, b) -> round(a - b, 2);
