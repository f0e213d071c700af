-- migrate:transactional false
-- An index built without blocking writes: it cannot run in a transaction.
CREATE INDEX CONCURRENTLY users_login_lower ON app.users (lower(login));
