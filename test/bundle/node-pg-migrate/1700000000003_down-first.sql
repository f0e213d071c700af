-- A file may put its down part first.

-- Down Migration
DROP VIEW user_names;

-- Up Migration
CREATE VIEW user_names AS SELECT name FROM users;
