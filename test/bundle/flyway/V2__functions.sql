CREATE FUNCTION app.login_of(p_id bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    result text;
BEGIN
    SELECT login INTO result FROM app.users WHERE id = p_id;
    RETURN result;
END
$$;
-- not a placeholder, as in Flyway: a dollar sign just before it
COMMENT ON FUNCTION app.login_of(bigint) IS 'costs $${price}, see C:\temp\new';
