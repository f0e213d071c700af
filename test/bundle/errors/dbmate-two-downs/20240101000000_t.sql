-- migrate:up
SELECT 1;
-- migrate:down
SELECT 2;
-- migrate:down
SELECT 3;
