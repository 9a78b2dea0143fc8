CREATE DATABASE IF NOT EXISTS blog;
CREATE TABLE IF NOT EXISTS blog.posts (id UInt64, title String, author String, tags Array(String))
ENGINE = MergeTree ORDER BY id;
