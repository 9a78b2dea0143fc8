-- the columns get their real types; the data in production already fits them
ALTER TABLE shop.payments MODIFY COLUMN status Enum8('new' = 1, 'paid' = 2, 'refunded' = 3);
ALTER TABLE shop.payments
    MODIFY COLUMN amount_cents UInt64,
    MODIFY COLUMN paid_on Nullable(Date),
    MODIFY COLUMN currency FixedString(3);
