CREATE DATABASE IF NOT EXISTS app;
CREATE TABLE app.rates (code String, rate Float64) ENGINE = MergeTree ORDER BY code;
