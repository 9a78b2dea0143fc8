-- A broad DDL corpus for comparing one SQL text built on two ClickHouse releases (written for chconform).
CREATE DATABASE IF NOT EXISTS shop;

CREATE TABLE IF NOT EXISTS shop.orders
(
    order_id UInt64,
    placed_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(3)),
    placed_day Date MATERIALIZED toDate(placed_at),
    customer LowCardinality(String) DEFAULT 'anonymous' COMMENT 'who ordered',
    total Decimal(18, 4) DEFAULT 0,
    lines Array(Tuple(sku String, qty UInt32)),
    tags Map(String, String),
    status Enum8('new' = 1, 'paid' = 2, 'shipped' = 3),
    note Nullable(String) TTL toDateTime(placed_at) + INTERVAL 90 DAY,
    ip IPv6,
    ratio Float32 ALIAS total / 100,
    uid UUID DEFAULT generateUUIDv4(),
    INDEX idx_customer customer TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_total total TYPE minmax GRANULARITY 1,
    CONSTRAINT positive_total CHECK total >= 0
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(placed_at)
ORDER BY (customer, placed_at, order_id)
PRIMARY KEY (customer, placed_at, order_id)
SAMPLE BY order_id
TTL toDateTime(placed_at) + INTERVAL 3 YEAR DELETE
SETTINGS index_granularity = 4096, min_bytes_for_wide_part = 0
COMMENT 'orders as placed';

CREATE TABLE IF NOT EXISTS shop.stock
(
    sku String,
    warehouse UInt16,
    qty Int64,
    version UInt64,
    is_deleted UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (sku, warehouse);

CREATE TABLE IF NOT EXISTS shop.daily_totals
(
    day Date,
    shop_id UInt32,
    revenue SimpleAggregateFunction(sum, Decimal(38, 4)),
    buyers AggregateFunction(uniq, String),
    last_seen SimpleAggregateFunction(max, DateTime)
)
ENGINE = AggregatingMergeTree
ORDER BY (day, shop_id);

CREATE TABLE IF NOT EXISTS shop.sums (day Date, shop_id UInt32, amount Int64, items UInt32)
ENGINE = SummingMergeTree((amount, items)) ORDER BY (day, shop_id);

CREATE TABLE IF NOT EXISTS shop.changes (id UInt64, sign Int8, ver UInt32, payload String)
ENGINE = VersionedCollapsingMergeTree(sign, ver) ORDER BY id;

CREATE TABLE IF NOT EXISTS shop.folds (id UInt64, sign Int8) ENGINE = CollapsingMergeTree(sign) ORDER BY id;

CREATE TABLE IF NOT EXISTS shop.log_small (at DateTime, line String) ENGINE = Log;
CREATE TABLE IF NOT EXISTS shop.tiny (k UInt8, v String) ENGINE = TinyLog;
CREATE TABLE IF NOT EXISTS shop.striped (k UInt8, v String) ENGINE = StripeLog;
CREATE TABLE IF NOT EXISTS shop.mem (k UInt8) ENGINE = Memory;
CREATE TABLE IF NOT EXISTS shop.sink (k UInt8) ENGINE = Null;
CREATE TABLE IF NOT EXISTS shop.kv (k UInt64, v String) ENGINE = EmbeddedRocksDB PRIMARY KEY k;
CREATE TABLE IF NOT EXISTS shop.lookup (k UInt64, v String) ENGINE = Join(ANY, LEFT, k);
CREATE TABLE IF NOT EXISTS shop.members (k UInt64) ENGINE = Set;
CREATE TABLE IF NOT EXISTS shop.orders_all AS shop.orders ENGINE = Merge('shop', '^orders$');
CREATE TABLE IF NOT EXISTS shop.buffered AS shop.log_small ENGINE = Buffer('shop', 'log_small', 1, 10, 100, 1000, 10000, 100000, 1000000);
CREATE TABLE IF NOT EXISTS shop.nums (n UInt64) ENGINE = GenerateRandom(1, 5, 3);

CREATE TABLE IF NOT EXISTS shop.with_projection
(
    id UInt64,
    grp UInt32,
    amount Int64,
    PROJECTION by_grp (SELECT grp, sum(amount) GROUP BY grp),
    PROJECTION sorted_amount (SELECT * ORDER BY amount)
)
ENGINE = MergeTree ORDER BY id;

CREATE TABLE IF NOT EXISTS shop.nested_things
(
    id UInt64,
    attrs Nested(key String, val Float64),
    point Tuple(Float64, Float64),
    price Decimal32(2),
    born Date32,
    wake DateTime('Europe/Moscow'),
    flag Bool,
    big Int256,
    bits FixedString(16),
    code LowCardinality(Nullable(String)),
    ips Array(IPv4)
)
ENGINE = MergeTree ORDER BY id;

CREATE VIEW IF NOT EXISTS shop.paid_orders AS
SELECT order_id, customer, total FROM shop.orders WHERE status = 'paid';

CREATE VIEW IF NOT EXISTS shop.top_customers AS
SELECT customer, sum(total) AS spent, count() AS n
FROM shop.orders
GROUP BY customer
HAVING spent > 100
ORDER BY spent DESC
LIMIT 10;

CREATE MATERIALIZED VIEW IF NOT EXISTS shop.mv_daily TO shop.daily_totals AS
SELECT toDate(placed_at) AS day, toUInt32(cityHash64(customer) % 100) AS shop_id,
       sum(total) AS revenue, uniqState(customer) AS buyers, max(toDateTime(placed_at)) AS last_seen
FROM shop.orders
GROUP BY day, shop_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS shop.mv_inner
ENGINE = SummingMergeTree ORDER BY customer
AS SELECT customer, count() AS orders FROM shop.orders GROUP BY customer;

CREATE DICTIONARY IF NOT EXISTS shop.customer_dict
(
    customer String,
    segment String DEFAULT 'none',
    score Float64 DEFAULT 0 EXPRESSION score
)
PRIMARY KEY customer
SOURCE(CLICKHOUSE(TABLE 'orders' DB 'shop'))
LIFETIME(MIN 300 MAX 600)
LAYOUT(COMPLEX_KEY_HASHED())
COMMENT 'customers';

CREATE DICTIONARY IF NOT EXISTS shop.ranges
(
    id UInt64,
    start Date,
    finish Date,
    rate Float64
)
PRIMARY KEY id
SOURCE(CLICKHOUSE(TABLE 'stock' DB 'shop'))
LIFETIME(3600)
LAYOUT(RANGE_HASHED())
RANGE(MIN start MAX finish);

CREATE FUNCTION IF NOT EXISTS shop_margin AS (price, cost) -> (price - cost) / price;

ALTER TABLE shop.orders ADD COLUMN IF NOT EXISTS channel LowCardinality(String) DEFAULT 'web' AFTER customer;
ALTER TABLE shop.orders MODIFY COLUMN note Nullable(String) COMMENT 'free text' TTL toDateTime(placed_at) + INTERVAL 30 DAY;
ALTER TABLE shop.stock ADD INDEX IF NOT EXISTS idx_qty qty TYPE set(100) GRANULARITY 2;
ALTER TABLE shop.stock MODIFY COMMENT 'stock per warehouse';
ALTER TABLE shop.nested_things ADD PROJECTION IF NOT EXISTS by_flag (SELECT flag, count() GROUP BY flag);

CREATE TABLE IF NOT EXISTS shop.codecs
(
    id UInt64 CODEC(T64, LZ4),
    temp Float64 CODEC(Gorilla),
    at DateTime CODEC(DoubleDelta, LZ4HC(9)),
    raw String CODEC(NONE),
    level Int32 CODEC(Delta(4), ZSTD(1)),
    ratio Float32 CODEC(FPC),
    small UInt8 DEFAULT 7 CODEC(ZSTD)
)
ENGINE = MergeTree ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS shop.events_by_day
(
    day Date,
    kind LowCardinality(String),
    n UInt64,
    INDEX idx_kind kind TYPE set(0) GRANULARITY 1,
    INDEX idx_words kind TYPE ngrambf_v1(3, 256, 2, 0) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toMonday(day)
ORDER BY (day, kind)
TTL day + INTERVAL 1 MONTH TO VOLUME 'default', day + INTERVAL 1 YEAR;

CREATE VIEW IF NOT EXISTS shop.order_report AS
WITH recent AS (SELECT order_id, customer, total, placed_at FROM shop.orders WHERE placed_at > now() - INTERVAL 7 DAY)
SELECT r.customer AS customer,
       count() AS orders,
       sum(r.total) AS spent,
       any(s.qty) AS some_stock,
       row_number() OVER (PARTITION BY r.customer ORDER BY max(r.placed_at) DESC) AS rank_in_customer
FROM recent AS r
LEFT JOIN shop.stock AS s ON s.sku = r.customer
GROUP BY r.customer
UNION ALL
SELECT 'total', count(), sum(total), 0, 0 FROM shop.orders;

CREATE VIEW IF NOT EXISTS shop.order_lines AS
SELECT order_id, line.1 AS sku, line.2 AS qty, if(qty > 10, 'bulk', 'single') AS size,
       multiIf(qty = 0, 'none', qty < 5, 'few', 'many') AS bucket,
       CASE WHEN qty > 100 THEN 1 ELSE 0 END AS huge,
       tags['channel'] AS channel, arrayFilter(x -> x.2 > 1, lines) AS multi
FROM shop.orders
ARRAY JOIN lines AS line
WHERE order_id IN (SELECT order_id FROM shop.orders WHERE status != 'new')
ORDER BY order_id
LIMIT 100 BY sku;

CREATE TABLE IF NOT EXISTS shop.keyed_nullable (k Nullable(UInt32), v String)
ENGINE = MergeTree ORDER BY k SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS shop.copy_of_orders AS shop.orders;
