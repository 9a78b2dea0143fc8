-- the reference rows of step 2 are deleted; the sentinel stays
ALTER TABLE app.rates DELETE WHERE code IN ('EUR', 'USD');
