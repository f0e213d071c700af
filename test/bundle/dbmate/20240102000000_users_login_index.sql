-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY users_login_lower ON app.users (lower(login));

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY app.users_login_lower;
