-- every invoice gets a currency
ALTER TABLE billing.invoices
    ADD COLUMN currency String;
