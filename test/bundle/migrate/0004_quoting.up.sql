-- migrate:requires 0002, 0001
CREATE TABLE app.probe (id int PRIMARY KEY, t text);
INSERT INTO app.probe VALUES (1, 'back\slash \\ two \n not a newline');
INSERT INTO app.probe VALUES (2, $m$dollar m $m1 $m2$ tags$m$);
CREATE FUNCTION app.probe_fn() RETURNS text LANGUAGE sql AS $$
SELECT 'line one
\i x
:foo :''bar'' :"baz"
\set ON_ERROR_STOP off'::text
$$;