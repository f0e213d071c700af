-- Deploy flipr:insert_user to pg
-- requires: insert_user@v1.0.0-dev2

BEGIN;

CREATE OR REPLACE FUNCTION flipr.insert_user(
    nickname TEXT,
    password TEXT
) RETURNS VOID LANGUAGE SQL SECURITY DEFINER AS $$
    INSERT INTO flipr.users VALUES($1, md5(E'salt\'s;' || $2));
$$;

COMMIT;
