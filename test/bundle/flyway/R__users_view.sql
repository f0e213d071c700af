CREATE OR REPLACE VIEW app.user_logins AS
SELECT id, login FROM ${schema}.users;
