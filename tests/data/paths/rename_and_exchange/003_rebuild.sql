-- qty becomes Int64: copy into a new table, swap the two, drop the old one
CREATE TABLE inv.stock_new (sku String, qty Int64, updated DateTime) ENGINE = MergeTree ORDER BY sku;
INSERT INTO inv.stock_new SELECT sku, qty, updated FROM inv.stock;
EXCHANGE TABLES inv.stock AND inv.stock_new;
DROP TABLE inv.stock_new;
