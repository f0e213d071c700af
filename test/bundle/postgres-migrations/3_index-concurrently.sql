-- postgres-migrations disable-transaction
CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);
