CREATE DATABASE IF NOT EXISTS blog;
CREATE TABLE blog.posts (id UInt64, title String) ENGINE = MergeTree ORDER BY id;
