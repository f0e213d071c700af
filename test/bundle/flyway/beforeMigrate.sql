SELECT 1;  -- a callback: Flyway runs it before each migrate, not a migration
