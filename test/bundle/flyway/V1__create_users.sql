-- The schema comes from a placeholder: flyway -placeholders.schema=app
CREATE SCHEMA ${schema};
CREATE TABLE ${SCHEMA}.users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login text NOT NULL UNIQUE
);
COMMENT ON TABLE ${Schema}.users IS 'created by ${flyway:filename}';
