-- Revert flipr:flips from pg

BEGIN;

DROP FUNCTION flipr.flip_count();
DROP TABLE flipr.flips;

COMMIT;
