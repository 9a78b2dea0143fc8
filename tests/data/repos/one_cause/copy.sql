-- A copy that drifted: another ORDER BY, one operator in the view, a broken CREATE.
CREATE DATABASE IF NOT EXISTS ledger;

CREATE TABLE IF NOT EXISTS ledger.entries
(
    booked_on Date,
    account_id UInt64,
    kind LowCardinality(String),
    amount Decimal(18, 2)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(booked_on)
ORDER BY (booked_on, account_id);

CREATE VIEW IF NOT EXISTS ledger.monthly AS
SELECT
    toStartOfMonth(booked_on) AS month,
    account_id,
    sum(if(kind = 'k0', amount, 0)) AS total_k0,
    sum(if(kind = 'k1', amount, 0)) AS total_k1,
    sum(if(kind = 'k2', amount, 0)) AS total_k2,
    sum(if(kind = 'k3', amount, 0)) AS total_k3,
    sum(if(kind = 'k4', amount, 0)) AS total_k4,
    sum(if(kind = 'k5', amount, 0)) AS total_k5,
    sum(if(kind = 'k6', amount, 0)) AS total_k6,
    sum(if(kind = 'k7', amount, 0)) AS total_k7,
    sum(if(kind = 'k8', amount, 0)) AS total_k8,
    sum(if(kind = 'k9', amount, 0)) AS total_k9,
    sum(if(kind = 'k10', amount, 0)) AS total_k10,
    sum(if(kind = 'k11', amount, 0)) AS total_k11,
    sum(if(kind = 'k12', amount, 0)) AS total_k12,
    sum(if(kind = 'k13', amount, 0)) AS total_k13,
    sum(if(kind = 'k14', amount, 0)) AS total_k14,
    sum(if(kind = 'k15', amount, 0)) AS total_k15,
    sum(if(kind = 'k16', amount, 0)) AS total_k16,
    sum(if(kind = 'k17', amount, 0)) AS total_k17,
    sum(if(kind = 'k18', amount, 0)) AS total_k18,
    sum(if(kind = 'k19', amount, 0)) AS total_k19,
    sum(if(kind = 'k20', amount, 0)) AS total_k20,
    sum(if(kind = 'k21', amount, 0)) AS total_k21,
    sum(if(kind = 'k22', amount, 0)) AS total_k22,
    sum(if(kind = 'k23', amount, 0)) AS total_k23,
    sum(if(kind = 'k24', amount, 0)) AS total_k24,
    sum(if(kind = 'k25', amount, 0)) AS total_k25,
    sum(if(kind = 'k26', amount, 0)) AS total_k26,
    sum(if(kind = 'k27', amount, 0)) AS total_k27,
    sum(if(kind = 'k28', amount, 0)) AS total_k28,
    sum(if(kind = 'k29', amount, 0)) AS total_k29,
    sum(if(kind = 'k30', amount, 0)) AS total_k30,
    sum(if(kind = 'k31', amount, 0)) AS total_k31,
    sum(if(kind = 'k32', amount, 0)) AS total_k32,
    sum(if(kind = 'k33', amount, 0)) AS total_k33,
    sum(if(kind = 'k34', amount, 0)) AS total_k34,
    sum(if(kind = 'k35', amount, 0)) AS total_k35,
    sum(if(kind = 'k36', amount, 0)) AS total_k36,
    sum(if(kind = 'k37', amount, 0)) AS total_k37,
    sum(if(kind = 'k38', amount, 0)) AS total_k38,
    sum(if(kind = 'k39', amount, 0)) AS total_k39
FROM ledger.entries
WHERE amount >= 0
GROUP BY month, account_id;

CREATE TABLE ledger.balances
(
    account_id UInt64,
    balance Decimal(18, 2),
)
)
ENGINE = ReplacingMergeTree
ORDER BY account_id;

CREATE VIEW IF NOT EXISTS ledger.large_balances AS
SELECT account_id, balance FROM ledger.balances WHERE balance > 1000000;
