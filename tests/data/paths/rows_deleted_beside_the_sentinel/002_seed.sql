INSERT INTO app.rates VALUES ('EUR', 1.0), ('USD', 1.1);
