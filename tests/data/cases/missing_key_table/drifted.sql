-- the file does not define a key table it must define
CREATE DATABASE IF NOT EXISTS zakaz;

CREATE TABLE IF NOT EXISTS zakaz.other (id String) ENGINE = MergeTree ORDER BY id;
