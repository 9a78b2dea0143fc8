CREATE DATABASE IF NOT EXISTS web;
CREATE TABLE web.pages (url String, views UInt32) ENGINE = SummingMergeTree ORDER BY url;
