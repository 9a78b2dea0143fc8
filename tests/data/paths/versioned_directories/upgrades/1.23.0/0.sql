ALTER TABLE geo.cities ADD COLUMN population UInt64;
