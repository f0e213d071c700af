CREATE FUNCTION app.login_of(p_id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT login FROM app.users WHERE id = p_id  -- "$1" would do too
$$;
