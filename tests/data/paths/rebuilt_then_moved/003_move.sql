CREATE TABLE web.page_views (url String, views UInt64) ENGINE = SummingMergeTree ORDER BY url;
INSERT INTO web.page_views SELECT * FROM web.pages;
DROP TABLE web.pages;
