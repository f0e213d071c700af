/* migrate--0.2--0.3.sql: upgrade of migrate 0.2 to 0.3 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION migrate UPDATE TO '0.3'" to load this file. \quit

/*
 * 0.3 adds the deploy procedure: one transaction per migration, with
 * durable progress.  The catalog gains what a deploy records: the run and
 * process of each migration's last event (shown by status()), and how many
 * statements of a non-transactional migration a deploy has completed.
 * status() gains the columns run_id and pid, which changes its result type:
 * it is dropped and created again, with the privileges it had.
 */

COMMENT ON SEQUENCE migrate.run_id_seq IS
	'run ids: one per call of run, rollback*, baseline, deploy';

ALTER TABLE migrate.migration
	ADD COLUMN last_run_id bigint,
	ADD COLUMN last_pid integer,
	ADD COLUMN statements_done integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN migrate.migration.last_run_id IS
	'run_id of last_event';
COMMENT ON COLUMN migrate.migration.last_pid IS
	'pid of last_event';
COMMENT ON COLUMN migrate.migration.statements_done IS
	'statements of a non-transactional migration a deploy has completed and committed';

-- The catalog guard lets the extension's owner write, outside migrations.
UPDATE migrate.migration AS m
	SET last_run_id = e.run_id, last_pid = e.pid
	FROM migrate.event AS e
	WHERE e.id OPERATOR(pg_catalog.=) m.last_event;

/*
 * Requests to stop a running deploy (migrate.cancel), one per run: the
 * deploy reads them between its migrations and statements, and a new
 * deploy removes the old ones.  Not dumped.
 */
CREATE TABLE migrate.cancel_request (
	run_id bigint PRIMARY KEY,
	requested_at timestamptz NOT NULL,
	requested_by text NOT NULL
);
COMMENT ON TABLE migrate.cancel_request IS
	'requests to stop running deploys (migrate.cancel)';
CREATE TRIGGER cancel_request_guard
	BEFORE INSERT OR UPDATE OR DELETE ON migrate.cancel_request
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_guard();
CREATE TRIGGER cancel_request_truncate_guard
	BEFORE TRUNCATE ON migrate.cancel_request
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_guard();
ALTER TABLE migrate.cancel_request ENABLE ALWAYS TRIGGER cancel_request_guard;
ALTER TABLE migrate.cancel_request ENABLE ALWAYS TRIGGER cancel_request_truncate_guard;
REVOKE ALL ON TABLE migrate.cancel_request FROM PUBLIC;
REVOKE ALL ON TYPE migrate.cancel_request FROM PUBLIC;

CREATE TEMP TABLE migrate_status_acl AS
	SELECT a.grantee, a.privilege_type, a.is_grantable
	FROM pg_catalog.pg_proc AS p,
		 pg_catalog.aclexplode(p.proacl) AS a
	WHERE p.oid OPERATOR(pg_catalog.=) 'migrate.status(text)'::pg_catalog.regprocedure
	  AND a.grantee OPERATOR(pg_catalog.<>) p.proowner;

DROP FUNCTION migrate.status(text);
CREATE FUNCTION migrate.status(project text DEFAULT NULL)
RETURNS TABLE(project text, version migrate.version, name text, kind text,
			  state text, applied_at timestamptz, applied_by name,
			  duration_ms double precision, has_down boolean,
			  transactional boolean, requires text[], last_error text,
			  run_id bigint, pid integer)
	AS 'MODULE_PATHNAME', 'migrate_status'
	LANGUAGE C STABLE ROWS 100;
COMMENT ON FUNCTION migrate.status(text) IS
	'every registered migration with its state; NULL project means all';
REVOKE ALL ON FUNCTION migrate.status(text) FROM PUBLIC;

DO $grant$
DECLARE
	g record;
BEGIN
	FOR g IN SELECT * FROM pg_temp.migrate_status_acl LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION migrate.status(text) TO %s%s',
			CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
				 ELSE g.grantee::pg_catalog.regrole::pg_catalog.text END,
			CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
END
$grant$;
DROP TABLE pg_temp.migrate_status_acl;

CREATE PROCEDURE migrate.deploy_rollback(
	steps integer DEFAULT 1,
	project text DEFAULT 'default',
	lock_timeout interval DEFAULT '1s',
	retries integer DEFAULT 10,
	wait boolean DEFAULT true,
	INOUT run_id bigint DEFAULT NULL,
	INOUT reverted integer DEFAULT NULL)
	AS 'MODULE_PATHNAME', 'migrate_deploy_rollback'
	LANGUAGE C;
COMMENT ON PROCEDURE migrate.deploy_rollback(integer, text, interval, integer, boolean, bigint, integer) IS
	'reverts the newest applied migrations of a project, one transaction each';

CREATE PROCEDURE migrate.deploy_rollback_to(
	target text,
	project text DEFAULT 'default',
	lock_timeout interval DEFAULT '1s',
	retries integer DEFAULT 10,
	wait boolean DEFAULT true,
	INOUT run_id bigint DEFAULT NULL,
	INOUT reverted integer DEFAULT NULL)
	AS 'MODULE_PATHNAME', 'migrate_deploy_rollback_to'
	LANGUAGE C;
COMMENT ON PROCEDURE migrate.deploy_rollback_to(text, text, interval, integer, boolean, bigint, integer) IS
	'reverts the applied migrations of a project above a target version, one transaction each';

CREATE PROCEDURE migrate.deploy_rollback_all(
	project text,
	lock_timeout interval DEFAULT '1s',
	retries integer DEFAULT 10,
	wait boolean DEFAULT true,
	INOUT run_id bigint DEFAULT NULL,
	INOUT reverted integer DEFAULT NULL)
	AS 'MODULE_PATHNAME', 'migrate_deploy_rollback_all'
	LANGUAGE C;
COMMENT ON PROCEDURE migrate.deploy_rollback_all(text, interval, integer, boolean, bigint, integer) IS
	'reverts every applied migration of a project, one transaction each';
REVOKE ALL ON PROCEDURE migrate.deploy_rollback(integer, text, interval, integer, boolean, bigint, integer),
	migrate.deploy_rollback_to(text, text, interval, integer, boolean, bigint, integer),
	migrate.deploy_rollback_all(text, interval, integer, boolean, bigint, integer) FROM PUBLIC;

CREATE FUNCTION migrate.cancel(run_id bigint)
RETURNS boolean
	AS 'MODULE_PATHNAME', 'migrate_cancel'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION migrate.cancel(bigint) IS
	'asks a running deploy to stop after its statement in progress';
REVOKE ALL ON FUNCTION migrate.cancel(bigint) FROM PUBLIC;

CREATE FUNCTION migrate.resolve(
	version text,
	state text,
	reason text,
	project text DEFAULT 'default')
RETURNS void
	AS 'MODULE_PATHNAME', 'migrate_resolve'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION migrate.resolve(text, text, text, text) IS
	'marks a migration fixed by hand applied or pending, with the reason in the history';
REVOKE ALL ON FUNCTION migrate.resolve(text, text, text, text) FROM PUBLIC;

CREATE PROCEDURE migrate.deploy(
	target text DEFAULT NULL,
	project text DEFAULT NULL,
	lock_timeout interval DEFAULT '1s',
	retries integer DEFAULT 10,
	out_of_order boolean DEFAULT false,
	wait boolean DEFAULT true,
	INOUT run_id bigint DEFAULT NULL,
	INOUT applied integer DEFAULT NULL)
	AS 'MODULE_PATHNAME', 'migrate_deploy'
	LANGUAGE C;
COMMENT ON PROCEDURE migrate.deploy(text, text, interval, integer, boolean, boolean, bigint, integer) IS
	'applies pending migrations one transaction each, non-transactional ones at top level';
REVOKE ALL ON PROCEDURE migrate.deploy(text, text, interval, integer, boolean, boolean, bigint, integer) FROM PUBLIC;
