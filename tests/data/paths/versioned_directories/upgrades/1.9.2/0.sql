ALTER TABLE geo.cities ADD COLUMN country String;
