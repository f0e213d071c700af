-- migrate:up
CREATE FUNCTION app.shout(t text) RETURNS text LANGUAGE sql AS $$ SELECT upper(t) || E'!\n' $$;

-- migrate:down
DROP FUNCTION app.shout(text);