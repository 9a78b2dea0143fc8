CREATE DATABASE IF NOT EXISTS billing;
CREATE TABLE billing.invoices (id UInt64, amount Decimal(18, 2)) ENGINE = MergeTree ORDER BY id;
