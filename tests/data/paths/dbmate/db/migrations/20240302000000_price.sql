-- migrate:up transaction:false
ALTER TABLE app.items ADD COLUMN price Decimal(10, 2);

-- migrate:down
ALTER TABLE app.items DROP COLUMN price;
