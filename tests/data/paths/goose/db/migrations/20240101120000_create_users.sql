-- +goose Up
-- +goose StatementBegin
CREATE TABLE app.users
(
    id UInt64,
    email String
)
ENGINE = MergeTree
ORDER BY id;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DROP TABLE app.users;
-- +goose StatementEnd
