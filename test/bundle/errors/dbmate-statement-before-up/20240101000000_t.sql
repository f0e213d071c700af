CREATE TYPE s AS ENUM ('a');
-- migrate:up
SELECT 1;
-- migrate:down
