--
-- Privileges (README.md, "Privileges and security model").  A deployer
-- role needs only USAGE on
-- schema migrate and EXECUTE on its functions; a migration runs as the
-- role that registered it, never as a more privileged caller; a caller
-- must be able to act as that role; nobody changes the catalog except
-- through the functions.
--
CREATE DATABASE migrate_test_roles;
\c migrate_test_roles
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION migrate;
RESET client_min_messages;

SELECT plan(44);

-- deployer registers and runs migrations; ci is a member of deployer;
-- outsider and mallory may call the functions but are not members of
-- deployer; nobody has been granted nothing.
CREATE ROLE regress_roles_deployer;
CREATE ROLE regress_roles_ci IN ROLE regress_roles_deployer;
CREATE ROLE regress_roles_outsider;
CREATE ROLE regress_roles_mallory;
CREATE ROLE regress_roles_nobody;
GRANT USAGE ON SCHEMA migrate TO regress_roles_deployer, regress_roles_ci,
	regress_roles_outsider, regress_roles_mallory;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA migrate TO regress_roles_deployer,
	regress_roles_ci, regress_roles_outsider, regress_roles_mallory;
-- Where the deployer's migrations create their tables.
CREATE SCHEMA app AUTHORIZATION regress_roles_deployer;
-- Sequences ignore rollbacks: a migration that bumps this one leaves a
-- mark even when its call fails, which tells whether it ran at all.
CREATE SEQUENCE probe;
GRANT USAGE ON SEQUENCE probe TO regress_roles_outsider;

-- outcome_as(role, sql) runs sql as role (NULL: as the current user) and
-- returns NULL if it worked, else "SQLSTATE: message".  The assertions
-- themselves run as the superuser that started this test.
CREATE FUNCTION outcome_as(r name, sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	IF r IS NOT NULL THEN
		EXECUTE format('SET LOCAL ROLE %I', r);
	END IF;
	EXECUTE sql;
	IF r IS NOT NULL THEN
		RESET ROLE;
	END IF;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

--
-- PUBLIC gets no privilege on anything in schema migrate.
--
SELECT is_empty($$
	SELECT 'schema' FROM pg_namespace AS n, aclexplode(n.nspacl) AS a
	WHERE n.nspname = 'migrate' AND a.grantee = 0
	UNION ALL
	SELECT c.relname FROM pg_class AS c,
		   aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) AS a
	WHERE c.relnamespace = 'migrate'::regnamespace AND a.grantee = 0
	UNION ALL
	SELECT p.proname FROM pg_proc AS p,
		   aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
	WHERE p.pronamespace = 'migrate'::regnamespace AND a.grantee = 0
	UNION ALL
	SELECT t.typname FROM pg_type AS t,
		   aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) AS a
	WHERE t.typnamespace = 'migrate'::regnamespace AND a.grantee = 0
	  -- row types of relations and array types have no privileges of
	  -- their own
	  AND t.typtype <> 'c' AND t.typcategory <> 'A'$$,
	'PUBLIC has no privilege on the schema, relations, functions or types');
SELECT is(outcome_as('regress_roles_nobody', 'SELECT * FROM migrate.status()'),
		  '42501: permission denied for schema migrate',
		  'a role with no grant cannot call status()');
SELECT is(outcome_as('regress_roles_nobody',
					 $$SELECT migrate.register('1', 'x', 'SELECT 1')$$),
		  '42501: permission denied for schema migrate',
		  'a role with no grant cannot register');

-- The deployer has no privilege on any relation of schema migrate.
SELECT is_empty($$
	SELECT c.relname FROM pg_class AS c
	WHERE c.relnamespace = 'migrate'::regnamespace
	  AND c.relkind IN ('r', 'v', 'S')
	  AND (has_table_privilege('regress_roles_deployer', c.oid,
			'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
		OR (c.relkind = 'S' AND has_sequence_privilege('regress_roles_deployer',
			c.oid, 'USAGE, SELECT, UPDATE')))$$,
	'the deployer holds no privilege on the catalog tables, views or sequences');

--
-- The deployer registers, runs, looks and reverts.  Its migration runs as
-- the deployer: current_user inside, and the owner of what it creates.
--
SET ROLE regress_roles_deployer;
SELECT migrate.register('1', 'accounts', $$
CREATE TABLE app.accounts (id int PRIMARY KEY);
CREATE TABLE app.seen_by_1 AS SELECT current_user AS who;
$$, down => $$DROP TABLE app.seen_by_1; DROP TABLE app.accounts$$);
SELECT project, version, name, action, status FROM migrate.run();
SELECT project, version, name, state, applied_by FROM migrate.status();
RESET ROLE;

SELECT results_eq('SELECT who FROM app.seen_by_1',
	$$VALUES ('regress_roles_deployer'::name)$$,
	'inside the migration, current_user is the registrant');
SELECT table_owner_is('app', 'accounts', 'regress_roles_deployer',
	'a table created by the migration belongs to the registrant');
SELECT results_eq(
	$$SELECT version::text, action, role, ran_as FROM migrate.history$$,
	$$VALUES ('1', 'up', 'regress_roles_deployer'::name,
			  'regress_roles_deployer'::name)$$,
	'history: the caller and the role the migration ran as');

SELECT is(outcome_as('regress_roles_deployer',
					 'SELECT * FROM migrate.rollback()'), NULL,
		  'the deployer can revert its migration');
SELECT hasnt_table('app', 'accounts', 'the down script ran');
SELECT is(outcome_as('regress_roles_deployer', 'SELECT * FROM migrate.run()'),
		  NULL, 'the deployer can apply it again');

--
-- A superuser runs a migration the deployer registered: it still runs as
-- the deployer, without superuser rights.
--
SET ROLE regress_roles_deployer;
SELECT migrate.register('2', 'audit', $$
CREATE TABLE app.seen_by_2 AS
	SELECT current_user AS who,
		   (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super;
$$);
RESET ROLE;
SELECT project, version, name, action, status FROM migrate.run();

SELECT results_eq('SELECT who, super FROM app.seen_by_2',
	$$VALUES ('regress_roles_deployer'::name, false)$$,
	'called by a superuser, the migration runs as its registrant');
SELECT table_owner_is('app', 'seen_by_2', 'regress_roles_deployer',
	'what it creates belongs to the registrant, not to the superuser');
SELECT results_eq(
	$$SELECT role, ran_as FROM migrate.history WHERE version::text = '2'$$,
	$$VALUES (current_user, 'regress_roles_deployer'::name)$$,
	'history: the superuser called, the deployer ran it');
SELECT results_eq(
	$$SELECT applied_by FROM migrate.status() WHERE version::text = '2'$$,
	$$VALUES (current_user)$$,
	'status: applied_by is the caller');

--
-- A member of the deployer role (ci) may run the deployer's migrations;
-- they still run as the deployer.
--
SET ROLE regress_roles_deployer;
SELECT migrate.register('3', 'ci',
	$$CREATE TABLE app.seen_by_3 AS SELECT current_user AS who$$,
	down => $$DROP TABLE app.seen_by_3$$);
RESET ROLE;
SELECT is(outcome_as('regress_roles_ci', 'SELECT * FROM migrate.run()'), NULL,
		  'a member of the registrant role can run its migrations');
SELECT results_eq('SELECT who FROM app.seen_by_3',
	$$VALUES ('regress_roles_deployer'::name)$$,
	'run by a member, the migration runs as its registrant');
SELECT results_eq(
	$$SELECT role, ran_as FROM migrate.history WHERE version::text = '3'$$,
	$$VALUES ('regress_roles_ci'::name, 'regress_roles_deployer'::name)$$,
	'history: ci called, the deployer ran it');

--
-- A caller who is not a member of the registrant's role is refused
-- (42501) before anything runs: outsider's own migration 4, which comes
-- first, does not run either.
--
SET ROLE regress_roles_outsider;
SELECT migrate.register('4', 'outsider bumps', $$SELECT nextval('public.probe')$$);
RESET ROLE;
SET ROLE regress_roles_deployer;
SELECT migrate.register('5', 'deployer table', $$CREATE TABLE app.t5 ()$$);
RESET ROLE;
SELECT setval('probe', 1);

SELECT is(outcome_as('regress_roles_outsider', 'SELECT * FROM migrate.run()'),
		  '42501: permission denied to run migration default 5 "deployer table" as role "regress_roles_deployer"',
		  'run() refuses a caller who cannot act as the registrant');
SELECT is((SELECT last_value FROM probe), 1::bigint,
		  'no migration ran before the refusal');
SELECT results_eq(
	$$SELECT s.version::text, s.state FROM migrate.status() AS s
	  WHERE s.version OPERATOR(migrate.>=) '4' ORDER BY s.version$$,
	$$VALUES ('4', 'pending'), ('5', 'pending')$$,
	'both migrations are still pending');
-- The error in full.
SET ROLE regress_roles_outsider;
SELECT * FROM migrate.run();
RESET ROLE;

-- Nor can outsider revert the deployer's migrations, or unregister them.
SELECT is(outcome_as('regress_roles_outsider', 'SELECT * FROM migrate.rollback()'),
		  '42501: permission denied to run migration default 3 "ci" as role "regress_roles_deployer"',
		  'rollback() refuses a caller who cannot act as the registrant');
SELECT has_table('app', 'seen_by_3', 'the migration is not reverted');
SELECT is(outcome_as('regress_roles_outsider',
					 $$SELECT migrate.unregister('5')$$),
		  '42501: permission denied to unregister migration default 5 "deployer table"',
		  'unregister() refuses a caller who cannot act as the registrant');

-- The superuser may act as both: each migration runs as its registrant.
SET client_min_messages = warning;
SELECT results_eq(
	$$SELECT version::text, status FROM migrate.run()$$,
	$$VALUES ('4', 'ok'), ('5', 'ok')$$,
	'a superuser runs migrations of several registrants');
RESET client_min_messages;
SELECT results_eq(
	$$SELECT version::text, ran_as FROM migrate.history
	  WHERE version OPERATOR(migrate.>=) '4' ORDER BY id$$,
	$$VALUES ('4', 'regress_roles_outsider'::name),
			 ('5', 'regress_roles_deployer'::name)$$,
	'each ran as its own registrant');

--
-- A registrant whose role no longer exists: its migration cannot run.
--
CREATE ROLE regress_roles_gone;
GRANT USAGE ON SCHEMA migrate TO regress_roles_gone;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA migrate TO regress_roles_gone;
SET ROLE regress_roles_gone;
SELECT migrate.register('6', 'orphan', $$SELECT 1$$);
RESET ROLE;
DROP OWNED BY regress_roles_gone;
DROP ROLE regress_roles_gone;
SELECT throws_ok('SELECT * FROM migrate.run()', '42704',
	'role "regress_roles_gone" that registered migration default 6 "orphan" does not exist',
	'a migration whose registrant was dropped is refused');
SELECT migrate.unregister('6');

--
-- The catalog cannot be changed directly, only through the functions.
--
SELECT is(outcome_as('regress_roles_deployer',
	$$INSERT INTO migrate.migration (project, kind, version, name, up,
		requires, transactional, checksum, registered_at, registered_by, state)
	  VALUES ('default', 'versioned', '99', 'forged', 'SELECT 1', '{}', true,
		'v1:0', now(), 'postgres', 'applied')$$),
	'42501: permission denied for table migration',
	'the deployer cannot INSERT into migrate.migration');
SELECT is(outcome_as('regress_roles_deployer',
	$$UPDATE migrate.migration SET state = 'pending'$$),
	'42501: permission denied for table migration',
	'the deployer cannot UPDATE migrate.migration');
SELECT is(outcome_as('regress_roles_deployer',
	$$DELETE FROM migrate.migration$$),
	'42501: permission denied for table migration',
	'the deployer cannot DELETE from migrate.migration');
SELECT is(outcome_as('regress_roles_deployer',
	$$DELETE FROM migrate.event$$),
	'42501: permission denied for table event',
	'the deployer cannot DELETE from migrate.event');
SELECT is(outcome_as('regress_roles_deployer',
	$$UPDATE migrate.event SET status = 'ok'$$),
	'42501: permission denied for table event',
	'the deployer cannot UPDATE migrate.event');
SELECT is(outcome_as('regress_roles_deployer',
	$$UPDATE migrate.generation SET generation = 0$$),
	'42501: permission denied for table generation',
	'the deployer cannot UPDATE migrate.generation');
SELECT is(outcome_as('regress_roles_deployer',
	$$DELETE FROM migrate.history$$),
	'42501: permission denied for view history',
	'the deployer cannot DELETE through the history view');
SELECT is(outcome_as('regress_roles_deployer',
	$$UPDATE migrate.migrations SET state = 'pending'$$),
	'42501: permission denied for view migrations',
	'the deployer cannot UPDATE through the migrations view');
SELECT is(outcome_as('regress_roles_deployer',
	$$SELECT nextval('migrate.run_id_seq')$$),
	'42501: permission denied for sequence run_id_seq',
	'the deployer cannot take run ids');
-- A migration runs as its registrant, so it cannot change the catalog
-- either.
SET ROLE regress_roles_deployer;
SELECT migrate.register('7', 'forge history', $$DELETE FROM migrate.event$$);
RESET ROLE;
SET client_min_messages = warning;
SELECT throws_ok('SELECT * FROM migrate.run()', '42501',
	'migration default 7 "forge history" failed: permission denied for table event',
	'a migration cannot change the catalog directly');
RESET client_min_messages;
SELECT migrate.unregister('7');

--
-- Privilege escalation: mallory registers SQL that would make mallory a
-- superuser, and gets a superuser to run it.  The migration runs as
-- mallory, so it fails, and mallory stays what it was.
--
SET ROLE regress_roles_mallory;
SELECT migrate.register('8', 'innocent', $$ALTER ROLE regress_roles_mallory SUPERUSER$$);
RESET ROLE;
SELECT * FROM migrate.run();
SET client_min_messages = warning;
SELECT throws_ok('SELECT * FROM migrate.run()', '42501',
	'migration default 8 "innocent" failed: must be superuser to alter superuser roles or change superuser attribute',
	'a superuser running mallory''s migration does not lend it its rights');
SELECT results_eq(
	$$SELECT version::text, status
	  FROM migrate.run(atomic => false)$$,
	$$VALUES ('8', 'failed')$$,
	'nor with atomic => false');
RESET client_min_messages;
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_roles_mallory'),
		  false, 'mallory is still not a superuser');

-- The same through a role switch inside the migration: refused too.
SET ROLE regress_roles_mallory;
SELECT migrate.register('8', 'innocent', $$
SELECT set_config('role', session_user, false);
ALTER ROLE regress_roles_mallory SUPERUSER;
$$);
RESET ROLE;
SET client_min_messages = warning;
SELECT throws_ok('SELECT * FROM migrate.run()', '42501',
	'migration default 8 "innocent" failed: cannot set parameter "role" within security-definer function',
	'a migration cannot switch to the caller''s role');
RESET client_min_messages;
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_roles_mallory'),
		  false, 'mallory is still not a superuser');
SELECT migrate.unregister('8');

--
-- Nor can mallory's SQL run later, as the caller, once the migration is
-- over.  Each attempt has its own project and leaves it as it is; what
-- the output shows is only whether mallory became a superuser.
--
CREATE SCHEMA mal AUTHORIZATION regress_roles_mallory;

-- A deferred constraint trigger queued by the migration would fire when
-- the caller's transaction reaches its commit (or SET CONSTRAINTS ALL
-- IMMEDIATE), as whoever is the current user then.
SET ROLE regress_roles_mallory;
SELECT migrate.register('1', 'deferred', $m$
CREATE TABLE mal.t (id int);
CREATE FUNCTION mal.escalate() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	ALTER ROLE regress_roles_mallory SUPERUSER;
	RETURN NULL;
END
$f$;
CREATE CONSTRAINT TRIGGER escalate AFTER INSERT ON mal.t
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION mal.escalate();
INSERT INTO mal.t VALUES (1);
$m$, project => 'mal_deferred');
RESET ROLE;
SET client_min_messages = warning;
SELECT ok(outcome_as(NULL, $$
	SELECT * FROM migrate.run(project => 'mal_deferred');
	SET CONSTRAINTS ALL IMMEDIATE$$) IS NOT NULL,
	'a deferred trigger queued by a migration does not fire as the caller');
RESET client_min_messages;
SELECT is((SELECT rolsuper FROM pg_catalog.pg_roles
		   WHERE rolname = 'regress_roles_mallory'),
		  false, 'mallory is still not a superuser');
ALTER ROLE regress_roles_mallory NOSUPERUSER;

-- Temporary objects are searched before pg_catalog: a temporary view
-- named pg_roles, left in the caller's session by the migration, would
-- run mallory's function with the caller's rights the next time the
-- caller reads pg_roles.
SET ROLE regress_roles_mallory;
SELECT migrate.register('1', 'shadow', $m$
CREATE FUNCTION pg_temp.escalate() RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
	ALTER ROLE regress_roles_mallory SUPERUSER;
	RETURN true;
EXCEPTION WHEN insufficient_privilege THEN
	RETURN false;
END
$f$;
CREATE VIEW pg_temp.pg_roles AS
	SELECT r.*, pg_temp.escalate() AS escalated FROM pg_catalog.pg_roles AS r;
$m$, project => 'mal_temp');
RESET ROLE;
SET client_min_messages = warning;
SELECT outcome_as(NULL, $$SELECT * FROM migrate.run(project => 'mal_temp')$$)
	IS NULL AS ran \g /dev/null
-- The caller, later in the same session.
SELECT outcome_as(NULL, 'SELECT count(*) FROM pg_roles') IS NULL AS read
	\g /dev/null
RESET client_min_messages;
SELECT is((SELECT rolsuper FROM pg_catalog.pg_roles
		   WHERE rolname = 'regress_roles_mallory'),
		  false, 'a temporary object left by a migration does not run as the caller');
ALTER ROLE regress_roles_mallory NOSUPERUSER;
SET client_min_messages = warning;
DROP VIEW IF EXISTS pg_temp.pg_roles;
RESET client_min_messages;

SELECT * FROM finish();

\c contrib_regression
DROP DATABASE migrate_test_roles;
DROP ROLE regress_roles_deployer, regress_roles_ci, regress_roles_outsider,
	regress_roles_mallory, regress_roles_nobody;
