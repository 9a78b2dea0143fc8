CREATE DATABASE IF NOT EXISTS web;
CREATE TABLE IF NOT EXISTS web.page_views (url String, views UInt64) ENGINE = SummingMergeTree ORDER BY url;
