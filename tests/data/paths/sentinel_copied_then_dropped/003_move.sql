-- people's rows move into contacts; the old table goes
INSERT INTO crm.contacts SELECT * FROM crm.people;
OPTIMIZE TABLE crm.contacts FINAL;
DROP TABLE crm.people;
