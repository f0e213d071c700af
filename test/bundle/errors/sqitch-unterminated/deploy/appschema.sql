-- Deploy flipr:appschema to pg

BEGIN;

CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$
  SELECT 1;
$$;

COMMIT;
