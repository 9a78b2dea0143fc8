-- a rebuild with smaller granules: the columns are carried over as they are
CREATE TABLE billing.invoices_v2 AS billing.invoices ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = 4096;
INSERT INTO billing.invoices_v2 SELECT * FROM billing.invoices;
EXCHANGE TABLES billing.invoices AND billing.invoices_v2;
DROP TABLE billing.invoices_v2;
