-- Created before anything else; nothing to undo in a test database.
CREATE SCHEMA app;
