CREATE DATABASE IF NOT EXISTS geo;
CREATE TABLE IF NOT EXISTS geo.cities (id UInt32, name String, country String, population UInt32)
ENGINE = MergeTree ORDER BY id;
