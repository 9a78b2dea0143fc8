CREATE DATABASE IF NOT EXISTS crm;

CREATE TABLE IF NOT EXISTS crm.contacts
(
    id UInt64,
    email String,
    updated_at DateTime
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id;

CREATE TABLE IF NOT EXISTS crm.deals
(
    id UInt64,
    contact_id UInt64,
    amount Decimal(18, 2)
)
ENGINE = MergeTree
ORDER BY id;
