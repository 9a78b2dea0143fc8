CREATE TABLE crm.contacts (id String, email String, ver UInt32) ENGINE = ReplacingMergeTree(ver) ORDER BY id;
