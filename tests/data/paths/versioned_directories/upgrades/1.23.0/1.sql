ALTER TABLE geo.cities MODIFY COLUMN population UInt32;
