-- migrate:up
CREATE SCHEMA app;
CREATE TABLE app.users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login text NOT NULL UNIQUE
);

-- migrate:down
DROP SCHEMA app CASCADE;
