-- migrate:requires 0001,
SELECT 1;
