-- Names and ages of users.
-- +goose Up
ALTER TABLE app.users ADD COLUMN name String;
ALTER TABLE app.users ADD COLUMN age UInt16;

-- +goose Down
ALTER TABLE app.users DROP COLUMN age;
ALTER TABLE app.users DROP COLUMN name;
