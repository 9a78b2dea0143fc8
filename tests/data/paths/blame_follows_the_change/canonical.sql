CREATE DATABASE IF NOT EXISTS billing;
CREATE TABLE IF NOT EXISTS billing.invoices
(
    id UInt64,
    amount Decimal(18, 2),
    currency LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY id;
