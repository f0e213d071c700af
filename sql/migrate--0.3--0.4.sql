/* migrate--0.3--0.4.sql: upgrade of migrate 0.3 to 0.4 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION migrate UPDATE TO '0.4'" to load this file. \quit

/*
 * 0.4 brings migration folders in: register() gains a verify script (run
 * right after up, in its transaction) and lets the server decide
 * transactionality when transactional is NULL.  A new argument changes the
 * function's signature: register() is dropped and created again, with the
 * privileges it had.  The migrations view shows the verify script.
 * adopt() reads another tool's history table; lint() reports the hazards
 * of pending migrations, locks() the locks they take in a dry run.
 *
 * The row types of the tables and views get their default privileges
 * back, as a fresh 0.4 install leaves them: the install scripts before 0.4
 * revoked PUBLIC's USAGE on them, which pg_dump cannot dump (it warned
 * "unsupported pg_init_privs entry" at every dump).  Without USAGE on the
 * schema nobody reaches them anyway.  No SQL command puts an ACL back to
 * its default, so the catalog rows are reset directly.
 */

DELETE FROM pg_catalog.pg_init_privs AS i
	USING pg_catalog.pg_type AS t
	WHERE i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
	  AND i.objoid OPERATOR(pg_catalog.=) t.oid
	  AND t.typnamespace OPERATOR(pg_catalog.=) 'migrate'::pg_catalog.regnamespace
	  AND t.typrelid OPERATOR(pg_catalog.<>) 0;
UPDATE pg_catalog.pg_type SET typacl = NULL
	WHERE typnamespace OPERATOR(pg_catalog.=) 'migrate'::pg_catalog.regnamespace
	  AND typrelid OPERATOR(pg_catalog.<>) 0;

ALTER TABLE migrate.migration
	ADD COLUMN verify text,
	ADD COLUMN verify_checksum text;
COMMENT ON COLUMN migrate.migration.verify IS
	'script run right after up, in its transaction; the migration fails if it raises';

CREATE OR REPLACE VIEW migrate.migrations AS
	SELECT m.project, m.version, m.name, m.kind, m.state, m.up, m.down,
		   m.requires, m.transactional, m.checksum, m.registered_at,
		   m.registered_by::pg_catalog.name COLLATE pg_catalog."C" AS registered_by,
		   m.verify
	FROM migrate.migration AS m;

CREATE TEMP TABLE migrate_register_acl AS
	SELECT a.grantee, a.privilege_type, a.is_grantable
	FROM pg_catalog.pg_proc AS p,
		 pg_catalog.aclexplode(p.proacl) AS a
	WHERE p.oid OPERATOR(pg_catalog.=) 'migrate.register(text, text, text, text, text[], boolean, text)'::pg_catalog.regprocedure
	  AND a.grantee OPERATOR(pg_catalog.<>) p.proowner;

DROP FUNCTION migrate.register(text, text, text, text, text[], boolean, text);
CREATE FUNCTION migrate.register(
	version text,
	name text,
	up text,
	down text DEFAULT NULL,
	requires text[] DEFAULT '{}',
	transactional boolean DEFAULT true,
	project text DEFAULT 'default',
	verify text DEFAULT NULL)
RETURNS text
	AS 'MODULE_PATHNAME', 'migrate_register'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION migrate.register(text, text, text, text, text[], boolean, text, text) IS
	'registers a versioned migration: registered, unchanged or updated';
REVOKE ALL ON FUNCTION migrate.register(text, text, text, text, text[], boolean, text, text) FROM PUBLIC;

DO $grant$
DECLARE
	g record;
BEGIN
	FOR g IN SELECT * FROM pg_temp.migrate_register_acl LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION migrate.register(text, text, text, text, text[], boolean, text, text) TO %s%s',
			CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
				 ELSE g.grantee::pg_catalog.regrole::pg_catalog.text END,
			CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
END
$grant$;
DROP TABLE pg_temp.migrate_register_acl;

CREATE FUNCTION migrate.adopt(
	tool text,
	project text DEFAULT 'default',
	history regclass DEFAULT NULL)
RETURNS TABLE(project text, version migrate.version, name text,
			  applied_at timestamptz, applied_by name)
	AS 'MODULE_PATHNAME', 'migrate_adopt_history'
	LANGUAGE C VOLATILE ROWS 100;
COMMENT ON FUNCTION migrate.adopt(text, text, regclass) IS
	'marks applied, without running them, the migrations another tool''s history lists';
REVOKE ALL ON FUNCTION migrate.adopt(text, text, regclass) FROM PUBLIC;

CREATE FUNCTION migrate.lint(project text DEFAULT NULL)
RETURNS TABLE(project text, version migrate.version, name text,
			  statement integer, line integer, rule text, severity text,
			  relation regclass, relation_rows bigint, relation_bytes bigint,
			  lock_mode text, message text, hint text)
	AS 'MODULE_PATHNAME', 'migrate_lint_pending'
	LANGUAGE C STABLE ROWS 10;
COMMENT ON FUNCTION migrate.lint(text) IS
	'what the pending migrations will lock, rewrite and break; changes nothing';
REVOKE ALL ON FUNCTION migrate.lint(text) FROM PUBLIC;

CREATE FUNCTION migrate.locks(project text DEFAULT NULL, target text DEFAULT NULL)
RETURNS TABLE(project text, version migrate.version, statement integer,
			  relation regclass, mode text, rewritten boolean,
			  duration_ms double precision)
	AS 'MODULE_PATHNAME', 'migrate_locks_pending'
	LANGUAGE C VOLATILE ROWS 10;
COMMENT ON FUNCTION migrate.locks(text, text) IS
	'the locks each statement of the pending migrations takes, measured by a dry run';
REVOKE ALL ON FUNCTION migrate.locks(text, text) FROM PUBLIC;

/*
 * Initial privileges as a fresh install records them: the owner's alone.
 * The grants put back on functions created again (register() here,
 * status() from 0.2 to 0.3) were recorded as the extension's initial
 * privileges, which pg_dump leaves out of a dump: a restore lost them.
 */
UPDATE pg_catalog.pg_init_privs AS i
	SET initprivs = ARRAY[pg_catalog.makeaclitem(p.proowner, p.proowner, 'EXECUTE', false)]
	FROM pg_catalog.pg_proc AS p
	WHERE i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
	  AND i.objoid OPERATOR(pg_catalog.=) p.oid
	  AND i.objsubid OPERATOR(pg_catalog.=) 0
	  AND p.pronamespace OPERATOR(pg_catalog.=) 'migrate'::pg_catalog.regnamespace;
