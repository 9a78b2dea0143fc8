-- Таблица заказов (кодировка Windows-1251)
CREATE TABLE IF NOT EXISTS zakaz.t
(
    id UInt64,
    name String
)
ENGINE = MergeTree
ORDER BY id;
CREATE TABLE IF NOT EXISTS zakaz.cp (id UInt64 COMMENT 'Идентификатор') ENGINE = Memory;
