-- Deploy flipr:delete_flip to pg
-- requires: flips
-- conflicts: legacy_cleanup

BEGIN;

CREATE OR REPLACE FUNCTION flipr.delete_flip(
   flip_id   BIGINT
) RETURNS BOOLEAN LANGUAGE plpgsql SECURITY DEFINER AS $body$
BEGIN
    DELETE FROM flipr.flips WHERE id = flip_id;
    RETURN FOUND;
END;
$body$;

COMMIT;
