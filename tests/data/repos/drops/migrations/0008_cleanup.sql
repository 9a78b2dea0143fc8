-- The old archive table is gone for good, on purpose: said inline, reported as ignored.
-- chconform: ignore[drop_not_recreated] archive moved to cold storage in 2025, rows exported first
DROP TABLE IF EXISTS crm.contacts_archive;

-- A table dropped and then a *different* table created: its rows are lost all the same.
DROP TABLE IF EXISTS crm.deals_old;
CREATE TABLE IF NOT EXISTS crm.deals_new (id UInt64) ENGINE = MergeTree ORDER BY id;
