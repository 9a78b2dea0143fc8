CREATE DATABASE IF NOT EXISTS crm;
CREATE TABLE IF NOT EXISTS crm.contacts (id String, email String, ver UInt32) ENGINE = ReplacingMergeTree(ver) ORDER BY id;
