-- Written by pop's FileMigrator (DumpMigrationSchema) after a run; pop
-- skips it because its name is not a migration's.
CREATE SCHEMA auth;
