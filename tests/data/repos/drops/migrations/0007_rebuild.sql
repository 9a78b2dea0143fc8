-- Drops first, re-creates below: a style this team may choose (drop_before_create, a warning by default).
DROP TABLE IF EXISTS crm.contacts;
DROP TABLE IF EXISTS crm.deals;
DROP VIEW IF EXISTS crm.contacts_by_domain;
DROP DATABASE IF EXISTS crm_scratch;

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
