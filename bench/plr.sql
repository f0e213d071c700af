-- plr.sql
--	The PL/pgSQL runner that bench/run.sh measures migrate against: the
--	in-database runner a team would write by hand.  A table of scripts, a
--	history table, and plr.run(), which takes an advisory lock, then
--	EXECUTEs the pending scripts in version order, each inside a
--	BEGIN/EXCEPTION block (one subtransaction per migration), recording
--	each in the history.  The first failure is recorded and ends the run;
--	what succeeded before it stays (like migrate.run(atomic => false)).

CREATE SCHEMA plr;

CREATE TABLE plr.migration (
	version text PRIMARY KEY,
	name text NOT NULL,
	up text NOT NULL,
	down text,
	applied_at timestamptz
);
CREATE INDEX migration_pending_idx ON plr.migration (version)
	WHERE applied_at IS NULL;

CREATE TABLE plr.history (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	version text NOT NULL,
	action text NOT NULL,
	status text NOT NULL,
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	duration_ms double precision,
	message text
);

CREATE FUNCTION plr.run() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	m record;
	started timestamptz;
	applied integer := 0;
BEGIN
	PERFORM pg_advisory_xact_lock(4242424242);
	FOR m IN SELECT version, up FROM plr.migration
			 WHERE applied_at IS NULL ORDER BY version
	LOOP
		started := clock_timestamp();
		BEGIN
			EXECUTE m.up;
			UPDATE plr.migration SET applied_at = clock_timestamp()
			 WHERE version = m.version;
			INSERT INTO plr.history (version, action, status, duration_ms)
			VALUES (m.version, 'up', 'ok',
					extract(epoch FROM clock_timestamp() - started) * 1000);
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO plr.history (version, action, status, message)
			VALUES (m.version, 'up', 'failed', SQLSTATE || ': ' || SQLERRM);
			RAISE WARNING 'migration % failed: %', m.version, SQLERRM;
			RETURN applied;
		END;
		applied := applied + 1;
	END LOOP;
	RETURN applied;
END
$$;
