-- Deploy flipr:appschema to pg

BEGIN;

CREATE SCHEMA flipr;

-- grant to every role named in a string: \gexec in a comment is fine
SELECT format('GRANT USAGE ON SCHEMA flipr TO %I', rolname)
  FROM pg_roles WHERE rolname = E'app\\user'
\gexec

COMMIT;
