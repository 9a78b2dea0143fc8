-- One text, two meanings: toTime() returns a DateTime on 24.8 and the Time type on 26.x (written for chconform).
CREATE DATABASE IF NOT EXISTS clock;
CREATE VIEW IF NOT EXISTS clock.now_parts AS SELECT toTime(now()) AS time_of_day, toDate(now()) AS day;
