-- Adds a table.
-- migrate:transactionl false
SELECT 1;
