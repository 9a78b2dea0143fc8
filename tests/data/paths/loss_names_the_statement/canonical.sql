CREATE DATABASE IF NOT EXISTS logs;
CREATE TABLE IF NOT EXISTS logs.events (id UInt64, msg String) ENGINE = MergeTree ORDER BY id;
CREATE TABLE IF NOT EXISTS logs.audit (id UInt64, who String) ENGINE = MergeTree ORDER BY id;
