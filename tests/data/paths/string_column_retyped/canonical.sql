CREATE DATABASE IF NOT EXISTS shop;
CREATE TABLE IF NOT EXISTS shop.payments
(
    id String,
    status Enum8('new' = 1, 'paid' = 2, 'refunded' = 3),
    amount_cents UInt64,
    paid_on Nullable(Date),
    currency FixedString(3)
)
ENGINE = MergeTree ORDER BY id;
