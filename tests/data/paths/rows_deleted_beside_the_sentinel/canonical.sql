CREATE DATABASE IF NOT EXISTS app;
CREATE TABLE IF NOT EXISTS app.rates (code String, rate Float64) ENGINE = MergeTree ORDER BY code;
