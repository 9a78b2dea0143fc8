CREATE DATABASE IF NOT EXISTS geo;
CREATE TABLE geo.cities (id UInt32, name String) ENGINE = MergeTree ORDER BY id;
