CREATE INDEX CONCURRENTLY users_login_lower ON app.users (lower(login));
