-- Deploy flipr:flips to pg
-- requires: users

begin transaction;

CREATE TABLE flipr.flips (
    id        BIGSERIAL   PRIMARY KEY,
    nickname  TEXT        NOT NULL REFERENCES flipr.users(nickname),
    body      TEXT        NOT NULL DEFAULT '' CHECK ( length(body) <= 180 ),
    timestamp TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

/* A SQL-standard function body: its semicolons do not end the statement,
   /* nor does this nested comment's COMMIT; */ */
CREATE FUNCTION flipr.flip_count() RETURNS bigint LANGUAGE sql
BEGIN ATOMIC
    SELECT count(*) FROM flipr.flips;
END;

COMMENT ON TABLE flipr.flips IS 'Flips; a string with COMMIT; in it';

commit transaction;
