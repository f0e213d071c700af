ALTER TABLE app.users DROP COLUMN email;
