-- adds a column the table already has: the step fails, the schema happens to match
ALTER TABLE app.t ADD COLUMN v String;
