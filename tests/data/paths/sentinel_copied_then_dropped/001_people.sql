CREATE DATABASE IF NOT EXISTS crm;
CREATE TABLE crm.people (id String, email String, ver UInt32) ENGINE = ReplacingMergeTree(ver) ORDER BY id;
