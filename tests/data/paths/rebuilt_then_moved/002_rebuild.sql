CREATE TABLE web.pages_new (url String, views UInt64) ENGINE = SummingMergeTree ORDER BY url;
INSERT INTO web.pages_new SELECT url, views FROM web.pages;
EXCHANGE TABLES web.pages AND web.pages_new;
DROP TABLE web.pages_new;
