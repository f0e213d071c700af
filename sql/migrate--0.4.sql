/* migrate--0.4.sql: install script of migrate 0.4 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION migrate" to load this file. \quit

/*
 * Every object is schema-qualified and every operator in a default or a
 * view is written OPERATOR(schema.op), following the rules for extension
 * scripts in the PostgreSQL documentation: the script must not depend on
 * the search_path of whoever runs CREATE EXTENSION.
 */

/*
 * The schema belongs to the extension: DROP EXTENSION removes it, and a
 * schema "migrate" that exists beforehand (someone else's objects under our
 * name) makes CREATE EXTENSION fail instead of adopting it.  The control
 * file names pg_catalog as the extension's schema for the same reason.
 */
CREATE SCHEMA migrate;
COMMENT ON SCHEMA migrate IS 'schema migrations kept inside the database';

/*
 * The version type.  Natural ordering, implemented in C; the text is kept
 * as written.
 */
CREATE TYPE migrate.version;

CREATE FUNCTION migrate.version_in(cstring) RETURNS migrate.version
	AS 'MODULE_PATHNAME', 'migrate_version_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION migrate.version_out(migrate.version) RETURNS cstring
	AS 'MODULE_PATHNAME', 'migrate_version_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION migrate.version_recv(internal) RETURNS migrate.version
	AS 'MODULE_PATHNAME', 'migrate_version_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION migrate.version_send(migrate.version) RETURNS bytea
	AS 'MODULE_PATHNAME', 'migrate_version_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE migrate.version (
	INPUT = migrate.version_in,
	OUTPUT = migrate.version_out,
	RECEIVE = migrate.version_recv,
	SEND = migrate.version_send,
	INTERNALLENGTH = VARIABLE,
	STORAGE = extended
);
COMMENT ON TYPE migrate.version IS
	'migration version: 1-255 characters of [0-9A-Za-z._-], natural ordering';

CREATE FUNCTION migrate.version(text) RETURNS migrate.version
	AS 'MODULE_PATHNAME', 'migrate_version_from_text'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION migrate.version(text) IS
	'validates text as a version (the implicit cast from text)';

CREATE CAST (text AS migrate.version)
	WITH FUNCTION migrate.version(text) AS IMPLICIT;
-- Same representation as text: the text as written.
CREATE CAST (migrate.version AS text) WITHOUT FUNCTION AS ASSIGNMENT;

CREATE FUNCTION migrate.version_cmp(migrate.version, migrate.version)
	RETURNS integer
	AS 'MODULE_PATHNAME', 'migrate_version_cmp'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION migrate.version_cmp(migrate.version, migrate.version) IS
	'natural comparison of two versions: -1, 0 or 1';
CREATE FUNCTION migrate.version_lt(migrate.version, migrate.version)
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'migrate_version_lt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION migrate.version_lt(migrate.version, migrate.version) IS
	'implementation of < for versions';
CREATE FUNCTION migrate.version_le(migrate.version, migrate.version)
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'migrate_version_le'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION migrate.version_le(migrate.version, migrate.version) IS
	'implementation of <= for versions';
CREATE FUNCTION migrate.version_eq(migrate.version, migrate.version)
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'migrate_version_eq'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION migrate.version_eq(migrate.version, migrate.version) IS
	'implementation of = for versions';
CREATE FUNCTION migrate.version_ne(migrate.version, migrate.version)
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'migrate_version_ne'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION migrate.version_ne(migrate.version, migrate.version) IS
	'implementation of <> for versions';
CREATE FUNCTION migrate.version_ge(migrate.version, migrate.version)
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'migrate_version_ge'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION migrate.version_ge(migrate.version, migrate.version) IS
	'implementation of >= for versions';
CREATE FUNCTION migrate.version_gt(migrate.version, migrate.version)
	RETURNS boolean
	AS 'MODULE_PATHNAME', 'migrate_version_gt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION migrate.version_gt(migrate.version, migrate.version) IS
	'implementation of > for versions';
CREATE FUNCTION migrate.version_hash(migrate.version) RETURNS integer
	AS 'MODULE_PATHNAME', 'migrate_version_hash'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION migrate.version_hash(migrate.version) IS
	'hash of a version, equal for versions that compare equal';
CREATE FUNCTION migrate.version_hash_extended(migrate.version, bigint)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'migrate_version_hash_extended'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION migrate.version_hash_extended(migrate.version, bigint) IS
	'seeded 64-bit hash of a version, equal for versions that compare equal';

CREATE OPERATOR migrate.< (
	LEFTARG = migrate.version, RIGHTARG = migrate.version,
	FUNCTION = migrate.version_lt,
	COMMUTATOR = OPERATOR(migrate.>), NEGATOR = OPERATOR(migrate.>=),
	RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);
CREATE OPERATOR migrate.<= (
	LEFTARG = migrate.version, RIGHTARG = migrate.version,
	FUNCTION = migrate.version_le,
	COMMUTATOR = OPERATOR(migrate.>=), NEGATOR = OPERATOR(migrate.>),
	RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);
CREATE OPERATOR migrate.= (
	LEFTARG = migrate.version, RIGHTARG = migrate.version,
	FUNCTION = migrate.version_eq,
	COMMUTATOR = OPERATOR(migrate.=), NEGATOR = OPERATOR(migrate.<>),
	RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel,
	HASHES, MERGES
);
CREATE OPERATOR migrate.<> (
	LEFTARG = migrate.version, RIGHTARG = migrate.version,
	FUNCTION = migrate.version_ne,
	COMMUTATOR = OPERATOR(migrate.<>), NEGATOR = OPERATOR(migrate.=),
	RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
CREATE OPERATOR migrate.>= (
	LEFTARG = migrate.version, RIGHTARG = migrate.version,
	FUNCTION = migrate.version_ge,
	COMMUTATOR = OPERATOR(migrate.<=), NEGATOR = OPERATOR(migrate.<),
	RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);
CREATE OPERATOR migrate.> (
	LEFTARG = migrate.version, RIGHTARG = migrate.version,
	FUNCTION = migrate.version_gt,
	COMMUTATOR = OPERATOR(migrate.<), NEGATOR = OPERATOR(migrate.<=),
	RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);

-- Default classes: ORDER BY, DISTINCT, indexes and hash joins on versions
-- find them by type, whatever the search_path.
CREATE OPERATOR CLASS migrate.version_ops
	DEFAULT FOR TYPE migrate.version USING btree AS
		OPERATOR 1 migrate.<,
		OPERATOR 2 migrate.<=,
		OPERATOR 3 migrate.=,
		OPERATOR 4 migrate.>=,
		OPERATOR 5 migrate.>,
		FUNCTION 1 migrate.version_cmp(migrate.version, migrate.version);
CREATE OPERATOR CLASS migrate.version_hash_ops
	DEFAULT FOR TYPE migrate.version USING hash AS
		OPERATOR 1 migrate.=,
		FUNCTION 1 migrate.version_hash(migrate.version),
		FUNCTION 2 migrate.version_hash_extended(migrate.version, bigint);

/*
 * The catalog.  Only the extension owner has privileges on these tables;
 * every other role reaches them through the functions below (which do
 * their bookkeeping as the owner) or through the views (when granted).
 *
 * The values of kind, state, action and status, and which columns go with
 * which kind, are set by src/catalog.c alone, the only code that writes
 * these tables (the guards keep everything else out).  They have no CHECK
 * constraints: PostgreSQL rebuilds a CHECK expression for every statement
 * that inserts or updates, and register() and the bookkeeping of every
 * applied migration are such statements.
 */
CREATE SEQUENCE migrate.migration_id_seq;
CREATE SEQUENCE migrate.event_id_seq;
CREATE SEQUENCE migrate.run_id_seq;
COMMENT ON SEQUENCE migrate.run_id_seq IS
	'run ids: one per call of run, rollback*, baseline, deploy';

-- The columns status() reads come first and the scripts last: a row is
-- taken apart column by column from the start, so status() over many rows
-- never walks over the scripts (the columns after up came with versions
-- 0.3 and 0.4, and ALTER TABLE adds columns at the end).  Role names are text, not
-- name (which always takes 64 bytes); the views show them as name.
--
-- state is pending, applied, failed or running.  A deploy sets running,
-- committed, before it starts a migration; status() shows a running
-- migration whose deploy no longer runs as interrupted (src/deploy.c).
CREATE TABLE migrate.migration (
	id bigint NOT NULL
		DEFAULT pg_catalog.nextval('migrate.migration_id_seq'::pg_catalog.regclass)
		PRIMARY KEY,
	project text NOT NULL,
	kind text NOT NULL,
	version migrate.version,
	name text NOT NULL,
	state text NOT NULL,
	transactional boolean NOT NULL,
	requires text[] NOT NULL,
	checksum text NOT NULL,
	applied_checksum text,
	last_event bigint,
	last_started_at timestamptz,
	last_duration_ms double precision,
	last_role text,
	last_error text,
	down text,
	down_checksum text,
	registered_at timestamptz NOT NULL,
	registered_by text NOT NULL,
	up text NOT NULL,
	last_run_id bigint,
	last_pid integer,
	statements_done integer NOT NULL DEFAULT 0,
	verify text,
	verify_checksum text
);
ALTER SEQUENCE migrate.migration_id_seq OWNED BY migrate.migration.id;
-- A versioned migration is unique by (project, version), a repeatable one
-- by (project, name).  One index keeps the first and gives status() its
-- order (project, versioned before repeatable, version, name): a versioned
-- row's last key is NULL and a repeatable row's version is NULL, and NULLS
-- NOT DISTINCT makes those NULLs equal.  Equality is the same under every
-- deterministic collation, so "C" costs lookups nothing (they say COLLATE
-- "C" to use the index).  A registration updates four indexes, not five.
CREATE UNIQUE INDEX migration_status_key
	ON migrate.migration (project COLLATE pg_catalog."C", kind DESC, version,
						  (CASE WHEN kind OPERATOR(pg_catalog.=) 'repeatable'
						   THEN name END) COLLATE pg_catalog."C")
	NULLS NOT DISTINCT;
CREATE UNIQUE INDEX migration_project_name_key
	ON migrate.migration (project, name)
	WHERE kind OPERATOR(pg_catalog.=) 'repeatable';
-- What run() has to do: every migration not applied, and every repeatable
-- one changed since it was applied.  Usually empty, which run() checks
-- without reading the table (src/catalog_due.c).
CREATE INDEX migration_due_idx
	ON migrate.migration (project)
	WHERE state OPERATOR(pg_catalog.<>) 'applied'
		OR (kind OPERATOR(pg_catalog.=) 'repeatable'
			AND (applied_checksum IS NULL
				 OR applied_checksum OPERATOR(pg_catalog.<>) checksum));
COMMENT ON TABLE migrate.migration IS
	'registered migrations and their current state (read migrate.migrations)';
COMMENT ON COLUMN migrate.migration.requires IS
	'requirements, each normalized to project:version';
COMMENT ON COLUMN migrate.migration.applied_checksum IS
	'checksum of the up script when it was last applied';
COMMENT ON COLUMN migrate.migration.last_event IS
	'the event that set the current state (migrate.event.id)';
COMMENT ON COLUMN migrate.migration.last_started_at IS
	'started_at of last_event (a copy, so that status() needs no join)';
COMMENT ON COLUMN migrate.migration.last_role IS
	'role of last_event';
COMMENT ON COLUMN migrate.migration.last_duration_ms IS
	'duration_ms of last_event';
COMMENT ON COLUMN migrate.migration.last_error IS
	'"SQLSTATE: message" of last_event if it failed';
COMMENT ON COLUMN migrate.migration.last_run_id IS
	'run_id of last_event';
COMMENT ON COLUMN migrate.migration.last_pid IS
	'pid of last_event';
COMMENT ON COLUMN migrate.migration.statements_done IS
	'statements of a non-transactional migration a deploy has completed and committed';
COMMENT ON COLUMN migrate.migration.verify IS
	'script run right after up, in its transaction; the migration fails if it raises';

CREATE TABLE migrate.event (
	id bigint NOT NULL
		DEFAULT pg_catalog.nextval('migrate.event_id_seq'::pg_catalog.regclass)
		PRIMARY KEY,
	run_id bigint NOT NULL,
	project text NOT NULL,
	version migrate.version,
	name text NOT NULL,
	action text NOT NULL,
	status text NOT NULL,
	started_at timestamptz NOT NULL,
	duration_ms double precision NOT NULL,
	role text NOT NULL,
	ran_as text,
	pid integer NOT NULL,
	txid xid8 NOT NULL,
	checksum text,
	sqlstate text,
	message text,
	detail text,
	context text
);
ALTER SEQUENCE migrate.event_id_seq OWNED BY migrate.event.id;
CREATE INDEX event_run_id_idx ON migrate.event (run_id);
COMMENT ON TABLE migrate.event IS
	'append-only history of applied, reverted and failed migrations (read migrate.history)';

/*
 * One row, bumped by every transaction that changes the catalog, under
 * the migration lock (src/change.c).  Under REPEATABLE READ and
 * SERIALIZABLE a caller that takes the lock compares the generation its
 * snapshot sees with the latest one: a caller whose snapshot predates
 * another caller's commit fails with a serialization failure (40001)
 * instead of acting on a stale catalog.
 *
 * nothing_due: true if the last change left nothing for run() to do.
 * Every call that changes the catalog sets it, in the same transaction.
 * The callers that queued behind a run (and every later no-op run) learn
 * it from this one row; false means "look": the index migration_due_idx
 * answers.
 *
 * Not dumped: its only row comes from this script, with nothing_due false
 * because a restore may bring pending migrations after it.
 */
CREATE TABLE migrate.generation (
	only_row boolean NOT NULL DEFAULT true PRIMARY KEY,
	generation bigint NOT NULL,
	nothing_due boolean NOT NULL,
	CONSTRAINT generation_one_row CHECK (only_row)
);
INSERT INTO migrate.generation (generation, nothing_due) VALUES (0, false);
COMMENT ON TABLE migrate.generation IS
	'catalog change counter; detects stale snapshots of concurrent callers';
COMMENT ON COLUMN migrate.generation.nothing_due IS
	'true if the last change left nothing for run() to apply';

/*
 * Guards (src/guard.c): while a migration runs, it cannot write the catalog
 * or change migrate's objects; the history is append-only for everyone.
 */
CREATE FUNCTION migrate.catalog_guard() RETURNS trigger
	AS 'MODULE_PATHNAME', 'migrate_catalog_guard'
	LANGUAGE C;
COMMENT ON FUNCTION migrate.catalog_guard() IS
	'refuses catalog changes during a migration, and history changes always';
CREATE TRIGGER migration_guard
	BEFORE INSERT OR UPDATE OR DELETE ON migrate.migration
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_guard();
CREATE TRIGGER migration_truncate_guard
	BEFORE TRUNCATE ON migrate.migration
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_guard();
CREATE TRIGGER generation_guard
	BEFORE INSERT OR UPDATE OR DELETE ON migrate.generation
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_guard();
CREATE TRIGGER generation_truncate_guard
	BEFORE TRUNCATE ON migrate.generation
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_guard();
CREATE TRIGGER event_guard
	BEFORE INSERT OR UPDATE OR DELETE ON migrate.event
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_guard('append-only');
CREATE TRIGGER event_truncate_guard
	BEFORE TRUNCATE ON migrate.event
	FOR EACH STATEMENT EXECUTE FUNCTION migrate.catalog_guard('append-only');

-- Fire even with session_replication_role = replica.
ALTER TABLE migrate.migration ENABLE ALWAYS TRIGGER migration_guard;
ALTER TABLE migrate.migration ENABLE ALWAYS TRIGGER migration_truncate_guard;
ALTER TABLE migrate.generation ENABLE ALWAYS TRIGGER generation_guard;
ALTER TABLE migrate.generation ENABLE ALWAYS TRIGGER generation_truncate_guard;
ALTER TABLE migrate.event ENABLE ALWAYS TRIGGER event_guard;
ALTER TABLE migrate.event ENABLE ALWAYS TRIGGER event_truncate_guard;

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

CREATE FUNCTION migrate.ddl_guard() RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'migrate_ddl_guard'
	LANGUAGE C;
COMMENT ON FUNCTION migrate.ddl_guard() IS
	'refuses DDL on migrate''s own objects during a migration';
CREATE EVENT TRIGGER migrate_ddl_guard ON ddl_command_end
	EXECUTE FUNCTION migrate.ddl_guard();
CREATE EVENT TRIGGER migrate_drop_guard ON sql_drop
	EXECUTE FUNCTION migrate.ddl_guard();

SELECT pg_catalog.pg_extension_config_dump('migrate.migration', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.event', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.migration_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.run_id_seq', '');

/*
 * The views users read.
 */
CREATE VIEW migrate.migrations AS
	SELECT m.project, m.version, m.name, m.kind, m.state, m.up, m.down,
		   m.requires, m.transactional, m.checksum, m.registered_at,
		   m.registered_by::pg_catalog.name COLLATE pg_catalog."C" AS registered_by,
		   m.verify
	FROM migrate.migration AS m;
COMMENT ON VIEW migrate.migrations IS
	'every registered migration, scripts included';

CREATE VIEW migrate.history AS
	SELECT e.id, e.run_id, e.project, e.version, e.name, e.action, e.status,
		   e.started_at, e.duration_ms,
		   e.role::pg_catalog.name COLLATE pg_catalog."C" AS role,
		   e.ran_as::pg_catalog.name COLLATE pg_catalog."C" AS ran_as,
		   e.pid, e.txid,
		   e.checksum, e.sqlstate, e.message, e.detail, e.context
	FROM migrate.event AS e;
COMMENT ON VIEW migrate.history IS
	'every applied, reverted, baselined and failed migration, oldest first by id';

/*
 * Who holds or waits for the migration lock (lock.h documents its key),
 * and what it is doing: while a migration runs, pg_stat_activity.query
 * names it.  Like pg_stat_activity, it shows the query of other roles'
 * backends only to roles with pg_read_all_stats.
 */
CREATE VIEW migrate.activity AS
	SELECT l.pid, a.usename AS role, NOT l.granted AS waiting,
		   CASE WHEN l.granted THEN a.xact_start ELSE l.waitstart END AS since,
		   a.query AS applying
	FROM pg_catalog.pg_locks AS l
	JOIN pg_catalog.pg_stat_activity AS a ON a.pid OPERATOR(pg_catalog.=) l.pid
	WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory'
	  AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database AS d
			WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
	  AND l.classid OPERATOR(pg_catalog.=) 7170407
	  AND l.objid OPERATOR(pg_catalog.=) 1918989413
	  AND l.objsubid OPERATOR(pg_catalog.=) 1;
COMMENT ON VIEW migrate.activity IS
	'backends holding or waiting for the migration lock';

/*
 * The SQL interface.  None of these is STRICT: a NULL where a value is
 * required is an error (22004), never a silent NULL result.
 */
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

CREATE FUNCTION migrate.register_repeatable(
	name text,
	up text,
	project text DEFAULT 'default')
RETURNS text
	AS 'MODULE_PATHNAME', 'migrate_register_repeatable'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION migrate.register_repeatable(text, text, text) IS
	'registers a repeatable migration, applied again whenever it changes';

CREATE FUNCTION migrate.unregister(
	version text,
	project text DEFAULT 'default')
RETURNS void
	AS 'MODULE_PATHNAME', 'migrate_unregister'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION migrate.unregister(text, text) IS
	'removes the registration of a migration that is not applied';

CREATE FUNCTION migrate.run(
	target text DEFAULT NULL,
	project text DEFAULT NULL,
	dry_run boolean DEFAULT false,
	atomic boolean DEFAULT true,
	wait boolean DEFAULT true,
	out_of_order boolean DEFAULT false)
RETURNS TABLE(run_id bigint, project text, version migrate.version,
			  name text, action text, status text,
			  duration_ms double precision, message text)
	AS 'MODULE_PATHNAME', 'migrate_run'
	LANGUAGE C VOLATILE ROWS 10;
COMMENT ON FUNCTION migrate.run(text, text, boolean, boolean, boolean, boolean) IS
	'applies pending migrations in the caller''s transaction';

CREATE FUNCTION migrate.rollback(
	steps integer DEFAULT 1,
	project text DEFAULT 'default',
	dry_run boolean DEFAULT false,
	wait boolean DEFAULT true)
RETURNS TABLE(run_id bigint, project text, version migrate.version,
			  name text, action text, status text,
			  duration_ms double precision, message text)
	AS 'MODULE_PATHNAME', 'migrate_rollback'
	LANGUAGE C VOLATILE ROWS 1;
COMMENT ON FUNCTION migrate.rollback(integer, text, boolean, boolean) IS
	'reverts the newest applied migrations of a project';

CREATE FUNCTION migrate.rollback_to(
	target text,
	project text DEFAULT 'default',
	dry_run boolean DEFAULT false,
	wait boolean DEFAULT true)
RETURNS TABLE(run_id bigint, project text, version migrate.version,
			  name text, action text, status text,
			  duration_ms double precision, message text)
	AS 'MODULE_PATHNAME', 'migrate_rollback_to'
	LANGUAGE C VOLATILE ROWS 10;
COMMENT ON FUNCTION migrate.rollback_to(text, text, boolean, boolean) IS
	'reverts the applied migrations of a project above a target version';

CREATE FUNCTION migrate.rollback_all(
	project text,
	dry_run boolean DEFAULT false,
	wait boolean DEFAULT true)
RETURNS TABLE(run_id bigint, project text, version migrate.version,
			  name text, action text, status text,
			  duration_ms double precision, message text)
	AS 'MODULE_PATHNAME', 'migrate_rollback_all'
	LANGUAGE C VOLATILE ROWS 10;
COMMENT ON FUNCTION migrate.rollback_all(text, boolean, boolean) IS
	'reverts every applied migration of a project';

CREATE FUNCTION migrate.baseline(
	version text,
	project text DEFAULT 'default')
RETURNS integer
	AS 'MODULE_PATHNAME', 'migrate_baseline'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION migrate.baseline(text, text) IS
	'marks the migrations of a project up to a version applied without running them';

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

CREATE FUNCTION migrate.lint(project text DEFAULT NULL)
RETURNS TABLE(project text, version migrate.version, name text,
			  statement integer, line integer, rule text, severity text,
			  relation regclass, relation_rows bigint, relation_bytes bigint,
			  lock_mode text, message text, hint text)
	AS 'MODULE_PATHNAME', 'migrate_lint_pending'
	LANGUAGE C STABLE ROWS 10;
COMMENT ON FUNCTION migrate.lint(text) IS
	'what the pending migrations will lock, rewrite and break; changes nothing';

CREATE FUNCTION migrate.locks(project text DEFAULT NULL, target text DEFAULT NULL)
RETURNS TABLE(project text, version migrate.version, statement integer,
			  relation regclass, mode text, rewritten boolean,
			  duration_ms double precision)
	AS 'MODULE_PATHNAME', 'migrate_locks_pending'
	LANGUAGE C VOLATILE ROWS 10;
COMMENT ON FUNCTION migrate.locks(text, text) IS
	'the locks each statement of the pending migrations takes, measured by a dry run';

CREATE FUNCTION migrate.validate(project text DEFAULT NULL)
RETURNS TABLE(project text, version migrate.version, severity text,
			  problem text, detail text)
	AS 'MODULE_PATHNAME', 'migrate_validate'
	LANGUAGE C STABLE ROWS 10;
COMMENT ON FUNCTION migrate.validate(text) IS
	'problems in the registered migrations and their history; changes nothing';

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

CREATE FUNCTION migrate.cancel(run_id bigint)
RETURNS boolean
	AS 'MODULE_PATHNAME', 'migrate_cancel'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION migrate.cancel(bigint) IS
	'asks a running deploy to stop after its statement in progress';

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

CREATE FUNCTION migrate.current_version(project text DEFAULT 'default')
RETURNS migrate.version
	AS 'MODULE_PATHNAME', 'migrate_current_version'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION migrate.current_version(text) IS
	'highest applied version of a project, NULL if none';

/*
 * Privileges: PUBLIC gets nothing.  See README.md, "Privileges", for what a
 * DBA grants to a deployer role.
 */
REVOKE ALL ON SCHEMA migrate FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA migrate FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA migrate FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA migrate FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA migrate FROM PUBLIC;
REVOKE ALL ON TYPE migrate.version FROM PUBLIC;
-- The row types of the tables and views keep their default privileges
-- (USAGE for PUBLIC): without USAGE on the schema, nobody reaches them, and
-- pg_dump cannot dump changed privileges of a row type (it warns at every
-- dump).
